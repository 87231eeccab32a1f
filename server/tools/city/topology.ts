/**
 * Rounding coordinates independently per polygon leaves T-junctions: a vertex of one part (rounded off its
 * parent's straight edge) that its neighbour across that edge does not have, which opens metre-wide slivers.
 * `closeTJunctions` inserts such vertices into the neighbours' edges so shared boundaries match exactly.
 * Pure; the result of each part is kept only if it stays valid.
 */
import type { LngLat, MultiPolygonCoords } from '../../../shared/city.ts'
import { cleanRing, validateMulti } from './geometry.ts'

interface EdgeRef {
  part: number
  poly: number
  ring: number
  idx: number
}

const CELL = 0.002 // degrees, ~200 m

/**
 * Snaps each vertex onto the lexicographically smallest vertex (of any part) lying within tol, so near-coincident
 * corners produced by independent rounding become one; the map depends only on the global vertex set, so a
 * vertex shared by neighbours moves the same way in each. Parts that would turn invalid are kept as they were.
 */
export function snapVertices(parts: readonly MultiPolygonCoords[], tol = 1.5e-5): MultiPolygonCoords[] {
  const cell = tol * 2
  const hash = new Map<string, LngLat[]>()
  for (const mp of parts)
    for (const poly of mp)
      for (const ring of poly)
        for (const p of ring) {
          const k = `${Math.floor(p[0] / cell)},${Math.floor(p[1] / cell)}`
          const list = hash.get(k)
          if (!list) hash.set(k, [p])
          else list.push(p)
        }
  const less = (a: LngLat, b: LngLat): boolean => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1])
  return parts.map((mp) => {
    let changed = false
    const moved = mp.map((poly) =>
      poly.map((ring) =>
        ring.map((p): LngLat => {
          const gx = Math.floor(p[0] / cell)
          const gy = Math.floor(p[1] / cell)
          let best: LngLat | null = null
          for (let dx = -1; dx <= 1; dx++)
            for (let dy = -1; dy <= 1; dy++)
              for (const q of hash.get(`${gx + dx},${gy + dy}`) ?? []) {
                if (q[0] === p[0] && q[1] === p[1]) continue
                if (Math.hypot(q[0] - p[0], q[1] - p[1]) > tol || !less(q, p)) continue
                if (!best || less(q, best)) best = q
              }
          if (!best) return p
          changed = true
          return [best[0], best[1]]
        }),
      ),
    )
    if (!changed) return mp
    const cleaned: MultiPolygonCoords = []
    for (const poly of moved) {
      const rings = poly.map((r) => cleanRing(r))
      if (rings[0]) cleaned.push(rings.filter((r): r is LngLat[] => r !== null))
    }
    return cleaned.length > 0 && validateMulti(cleaned) === null ? cleaned : mp
  })
}

export function closeTJunctions(input: readonly MultiPolygonCoords[], tol = 1.5e-5): MultiPolygonCoords[] {
  const parts = snapVertices(input, tol)
  const grid = new Map<string, EdgeRef[]>()
  parts.forEach((mp, part) =>
    mp.forEach((poly, pi) =>
      poly.forEach((ring, ri) => {
        for (let i = 0; i + 1 < ring.length; i++) {
          const a = ring[i] as LngLat
          const b = ring[i + 1] as LngLat
          const x0 = Math.floor((Math.min(a[0], b[0]) - tol) / CELL)
          const x1 = Math.floor((Math.max(a[0], b[0]) + tol) / CELL)
          const y0 = Math.floor((Math.min(a[1], b[1]) - tol) / CELL)
          const y1 = Math.floor((Math.max(a[1], b[1]) + tol) / CELL)
          for (let gx = x0; gx <= x1; gx++)
            for (let gy = y0; gy <= y1; gy++) {
              const k = `${gx},${gy}`
              const list = grid.get(k)
              const ref = { part, poly: pi, ring: ri, idx: i }
              if (list) list.push(ref)
              else grid.set(k, [ref])
            }
        }
      }),
    ),
  )
  // insertions per edge: "part/poly/ring/idx" -> points with their position t along the edge
  const inserts = new Map<string, Map<string, { t: number; p: LngLat }>>()
  parts.forEach((mp, part) => {
    for (const poly of mp)
      for (const ring of poly)
        for (const p of ring) {
          const list = grid.get(`${Math.floor(p[0] / CELL)},${Math.floor(p[1] / CELL)}`)
          if (!list) continue
          for (const e of list) {
            if (e.part === part) continue
            const r = (parts[e.part] as MultiPolygonCoords)[e.poly]?.[e.ring] as LngLat[]
            const a = r[e.idx] as LngLat
            const b = r[e.idx + 1] as LngLat
            const t = onEdge(a, b, p, tol)
            if (t === null) continue
            const ek = `${e.part}/${e.poly}/${e.ring}/${e.idx}`
            const m = inserts.get(ek) ?? new Map<string, { t: number; p: LngLat }>()
            m.set(`${p[0]},${p[1]}`, { t, p: [p[0], p[1]] })
            inserts.set(ek, m)
          }
        }
  })
  return parts.map((mp, part) => {
    let changed = false
    const fixed: MultiPolygonCoords = mp.map((poly, pi) =>
      poly.map((ring, ri) => {
        const own = new Set(ring.map((p) => `${p[0]},${p[1]}`))
        const out: LngLat[] = []
        for (let i = 0; i + 1 < ring.length; i++) {
          out.push(ring[i] as LngLat)
          const m = inserts.get(`${part}/${pi}/${ri}/${i}`)
          if (!m) continue
          const extra = [...m.entries()].filter(([k]) => !own.has(k)).map(([, v]) => v)
          if (extra.length === 0) continue
          changed = true
          out.push(...extra.sort((u, v) => u.t - v.t).map((v) => v.p))
        }
        out.push(ring[ring.length - 1] as LngLat)
        return out
      }),
    )
    if (!changed) return mp
    return validateMulti(fixed) === null ? fixed : mp
  })
}

/** Position t ∈ (0,1) of p along a→b if p lies within tol of the segment's interior (away from its ends). */
function onEdge(a: LngLat, b: LngLat, p: LngLat, tol: number): number | null {
  const dx = b[0] - a[0]
  const dy = b[1] - a[1]
  const len2 = dx * dx + dy * dy
  if (len2 === 0) return null
  if (p[0] < Math.min(a[0], b[0]) - tol || p[0] > Math.max(a[0], b[0]) + tol) return null
  if (p[1] < Math.min(a[1], b[1]) - tol || p[1] > Math.max(a[1], b[1]) + tol) return null
  const t = ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2
  if (t <= 0 || t >= 1) return null
  const qx = a[0] + t * dx - p[0]
  const qy = a[1] + t * dy - p[1]
  if (qx * qx + qy * qy > tol * tol) return null
  if (Math.hypot(p[0] - a[0], p[1] - a[1]) <= tol || Math.hypot(p[0] - b[0], p[1] - b[1]) <= tol) return null
  return t
}
