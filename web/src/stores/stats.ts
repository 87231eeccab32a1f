import { defineStore } from 'pinia'
import { shallowRef } from 'vue'
import type { ChangeFrame } from '../../../shared/live.ts'

export interface StatsView {
  byGroup: { code: string; zh: string; en: string; count: number }[]
  hourly: { hour: string; reported: number; handled: number; closed: number }[]
}

const HOUR = 3_600_000

/** Today's category breakdown and the 24-hour trend: loaded over HTTP, then kept up by changes. */
export const useStatsStore = defineStore('stats', () => {
  const view = shallowRef<StatsView>({ byGroup: [], hourly: [] })
  const groupOf = new Map<string, string>()
  /** The seq the loaded figures include: changes at or below it are already counted. */
  let baseSeq = Infinity
  const load = (v: StatsView, categoryGroups: Map<string, string>, seq: number) => {
    for (const [k, g] of categoryGroups) groupOf.set(k, g)
    view.value = v
    baseSeq = seq
  }
  const applyChange = (f: ChangeFrame) => {
    if (f.seq <= baseSeq) return
    const hourly = view.value.hourly
    if (!hourly.length) return
    const at = Date.parse(f.at)
    const last = hourly[hourly.length - 1]!
    let bucket = hourly.find((h) => at >= Date.parse(h.hour) && at < Date.parse(h.hour) + HOUR)
    let next = hourly
    if (!bucket && at >= Date.parse(last.hour) + HOUR) {
      const start = new Date(Date.parse(last.hour) + HOUR * Math.floor((at - Date.parse(last.hour)) / HOUR))
      bucket = { hour: start.toISOString(), reported: 0, handled: 0, closed: 0 }
      next = [...hourly.slice(1), bucket]
    }
    if (!bucket) return
    const a = f.event.action
    const b = { ...bucket }
    if (a === 'report') b.reported++
    if (a === 'handle' || a === 'self_handle') b.handled++
    if (a === 'self_handle' || (a === 'verify' && f.event.data?.passed)) b.closed++
    next = next.map((h) => (h === bucket ? b : h))
    let byGroup = view.value.byGroup
    if (a === 'report') {
      const g = groupOf.get(f.event.category)
      byGroup = byGroup
        .map((x) => (x.code === g ? { ...x, count: x.count + 1 } : x))
        .sort((x, y) => y.count - x.count)
    }
    view.value = { byGroup, hourly: next }
  }
  return { view, load, applyChange }
})
