import { defineStore } from 'pinia'
import { shallowRef } from 'vue'
import type { PositionsFrame } from '../../../shared/live.ts'

/**
 * Workers' last positions in typed arrays indexed like the snapshot's `workerIds`: no per-worker
 * objects, no deep reactivity; `version` bumps once per applied frame.
 */
export const usePositionsStore = defineStore('positions', () => {
  let ids: string[] = []
  let coords = new Float64Array(0)
  let seenAt = new Float64Array(0)
  const version = shallowRef(0)
  const reset = (workerIds: string[]) => {
    ids = workerIds
    coords = new Float64Array(workerIds.length * 2).fill(NaN)
    seenAt = new Float64Array(workerIds.length)
    version.value++
  }
  const apply = (f: PositionsFrame) => {
    const at = Date.parse(f.at)
    const w = f.workers
    for (let i = 0; i + 2 < w.length; i += 3) {
      const idx = w[i]!
      if (idx >= ids.length) continue
      coords[idx * 2] = w[i + 1]! / 1e5
      coords[idx * 2 + 1] = w[i + 2]! / 1e5
      seenAt[idx] = at
    }
    version.value++
  }
  /** Positions seen at or after `since`, as a flat [lng, lat, …] array for a large scatter. */
  const active = (since: number): Float64Array => {
    const out = new Float64Array(ids.length * 2)
    let n = 0
    for (let i = 0; i < ids.length; i++) {
      if (seenAt[i]! < since || Number.isNaN(coords[i * 2]!)) continue
      out[n++] = coords[i * 2]!
      out[n++] = coords[i * 2 + 1]!
    }
    return out.subarray(0, n)
  }
  return { version, reset, apply, active, count: () => ids.length }
})
