/**
 * Small planar/geodesic helpers on GeoJSON-style coordinates (lng/lat degrees). Pure, no I/O.
 * Planar formulas work on raw degrees (fine for ordering and centroids of district-sized shapes);
 * areas reported in m² use turf's geodesic area.
 */
import { area as turfArea } from '@turf/turf'
import polygonClipping from 'polygon-clipping'
import type { LngLat, MultiPolygonCoords, PolygonCoords } from '../../../shared/city.ts'

export type Ring = LngLat[]
export interface BBox {
  minX: number
  minY: number
  maxX: number
  maxY: number
}

/** Signed planar area of a closed ring (counter-clockwise positive). */
export function ringSignedArea(ring: readonly LngLat[]): number {
  let s = 0
  for (let i = 0; i + 1 < ring.length; i++) {
    const [x1, y1] = ring[i] as LngLat
    const [x2, y2] = ring[i + 1] as LngLat
    s += x1 * y2 - x2 * y1
  }
  return s / 2
}

/** Planar area (degrees²) of a MultiPolygon: outer rings minus holes. */
export function planarArea(mp: MultiPolygonCoords): number {
  let s = 0
  for (const poly of mp) poly.forEach((ring, i) => (s += (i === 0 ? 1 : -1) * Math.abs(ringSignedArea(ring))))
  return s
}

/** Geodesic area in m². */
export function geodesicArea(mp: MultiPolygonCoords): number {
  if (mp.length === 0) return 0
  return turfArea({ type: 'MultiPolygon', coordinates: mp })
}

/** Area-weighted planar centroid; falls back to the mean vertex for degenerate shapes. */
export function centroidOf(mp: MultiPolygonCoords): LngLat {
  const origin = mp[0]?.[0]?.[0]
  if (!origin) return [0, 0]
  const [ox, oy] = origin
  let a = 0
  let cx = 0
  let cy = 0
  let n = 0
  let mx = 0
  let my = 0
  for (const poly of mp) {
    poly.forEach((ring, ri) => {
      // outer rings count positive, holes negative, whatever their winding
      const sign = (ri === 0 ? 1 : -1) * (ringSignedArea(ring) < 0 ? -1 : 1)
      for (let i = 0; i + 1 < ring.length; i++) {
        const x1 = (ring[i] as LngLat)[0] - ox
        const y1 = (ring[i] as LngLat)[1] - oy
        const x2 = (ring[i + 1] as LngLat)[0] - ox
        const y2 = (ring[i + 1] as LngLat)[1] - oy
        const cross = (x1 * y2 - x2 * y1) * sign
        a += cross
        cx += (x1 + x2) * cross
        cy += (y1 + y2) * cross
        mx += x1
        my += y1
        n++
      }
    })
  }
  if (Math.abs(a) < 1e-18) return n > 0 ? [ox + mx / n, oy + my / n] : [ox, oy]
  return [ox + cx / (3 * a), oy + cy / (3 * a)]
}

export function bboxOf(mp: MultiPolygonCoords): BBox {
  const b = { minX: Infinity, minY: Infinity, maxX: -Infinity, maxY: -Infinity }
  for (const poly of mp)
    for (const ring of poly)
      for (const [x, y] of ring) {
        if (x < b.minX) b.minX = x
        if (y < b.minY) b.minY = y
        if (x > b.maxX) b.maxX = x
        if (y > b.maxY) b.maxY = y
      }
  return b
}

function pointInRing(x: number, y: number, ring: readonly LngLat[]): boolean {
  let inside = false
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i] as LngLat
    const [xj, yj] = ring[j] as LngLat
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside
  }
  return inside
}

/** Even-odd point-in-MultiPolygon test. */
export function pointInMulti(p: LngLat, mp: MultiPolygonCoords): boolean {
  for (const poly of mp) {
    if (!poly[0] || !pointInRing(p[0], p[1], poly[0])) continue
    let inHole = false
    for (let i = 1; i < poly.length; i++) if (pointInRing(p[0], p[1], poly[i] as Ring)) inHole = true
    if (!inHole) return true
  }
  return false
}

/** Point-in-polygon with a precomputed bbox (fast reject). */
export function makeContains(mp: MultiPolygonCoords): (p: LngLat) => boolean {
  const b = bboxOf(mp)
  return (p) => p[0] >= b.minX && p[0] <= b.maxX && p[1] >= b.minY && p[1] <= b.maxY && pointInMulti(p, mp)
}

export const roundTo = (v: number, decimals: number): number => {
  const f = 10 ** decimals
  return Math.round(v * f) / f
}

/** Closes the ring, drops consecutive duplicates and back-and-forth spikes; null if degenerate. */
export function cleanRing(ring: readonly LngLat[]): Ring | null {
  const pts: Ring = []
  for (const p of ring) {
    const last = pts[pts.length - 1]
    if (!last || last[0] !== p[0] || last[1] !== p[1]) pts.push([p[0], p[1]])
  }
  // treat as an open cycle
  const first = pts[0]
  const lastPt = pts[pts.length - 1]
  if (first && lastPt && pts.length > 1 && first[0] === lastPt[0] && first[1] === lastPt[1]) pts.pop()
  let changed = true
  while (changed && pts.length >= 3) {
    changed = false
    for (let i = 0; i < pts.length && pts.length >= 3; i++) {
      const a = pts[(i - 1 + pts.length) % pts.length] as LngLat
      const b = pts[i] as LngLat
      const c = pts[(i + 1) % pts.length] as LngLat
      const cross = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
      // collinear point (straight continuation or back-and-forth spike): drop it
      if (cross === 0) {
        pts.splice(i, 1)
        changed = true
        i--
      }
    }
  }
  if (pts.length < 3) return null
  pts.push([(pts[0] as LngLat)[0], (pts[0] as LngLat)[1]])
  if (ringSignedArea(pts) === 0) return null
  return pts
}

/** Rounds every coordinate and cleans rings; drops polygons whose outer ring degenerates. */
export function roundMulti(mp: MultiPolygonCoords, decimals: number): MultiPolygonCoords {
  const out: MultiPolygonCoords = []
  for (const poly of mp) {
    const rings: PolygonCoords = []
    for (let i = 0; i < poly.length; i++) {
      const r = cleanRing((poly[i] as Ring).map(([x, y]) => [roundTo(x, decimals), roundTo(y, decimals)]))
      if (r) rings.push(r)
      else if (i === 0) break
    }
    if (rings.length > 0) out.push(rings)
  }
  return out
}

interface Seg {
  ax: number
  ay: number
  bx: number
  by: number
  ring: number
  idx: number
  n: number
}

const orient = (ax: number, ay: number, bx: number, by: number, cx: number, cy: number): number => {
  const v = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
  return v > 0 ? 1 : v < 0 ? -1 : 0
}
const onSeg = (ax: number, ay: number, bx: number, by: number, cx: number, cy: number): boolean =>
  Math.min(ax, bx) <= cx && cx <= Math.max(ax, bx) && Math.min(ay, by) <= cy && cy <= Math.max(ay, by)

function segsTouch(s: Seg, t: Seg): boolean {
  const o1 = orient(s.ax, s.ay, s.bx, s.by, t.ax, t.ay)
  const o2 = orient(s.ax, s.ay, s.bx, s.by, t.bx, t.by)
  const o3 = orient(t.ax, t.ay, t.bx, t.by, s.ax, s.ay)
  const o4 = orient(t.ax, t.ay, t.bx, t.by, s.bx, s.by)
  if (o1 !== o2 && o3 !== o4) return true
  if (o1 === 0 && onSeg(s.ax, s.ay, s.bx, s.by, t.ax, t.ay)) return true
  if (o2 === 0 && onSeg(s.ax, s.ay, s.bx, s.by, t.bx, t.by)) return true
  if (o3 === 0 && onSeg(t.ax, t.ay, t.bx, t.by, s.ax, s.ay)) return true
  if (o4 === 0 && onSeg(t.ax, t.ay, t.bx, t.by, s.bx, s.by)) return true
  return false
}

/**
 * Two segments of different rings (or non-adjacent ones) conflict if they cross properly or overlap
 * collinearly along a stretch; touching at a single point is allowed.
 */
function segsCross(s: Seg, t: Seg): boolean {
  const o1 = orient(s.ax, s.ay, s.bx, s.by, t.ax, t.ay)
  const o2 = orient(s.ax, s.ay, s.bx, s.by, t.bx, t.by)
  const o3 = orient(t.ax, t.ay, t.bx, t.by, s.ax, s.ay)
  const o4 = orient(t.ax, t.ay, t.bx, t.by, s.bx, s.by)
  if (o1 * o2 < 0 && o3 * o4 < 0) return true
  if (o1 !== 0 || o2 !== 0) return false
  // collinear: overlapping along more than a point?
  const useX = Math.abs(s.bx - s.ax) >= Math.abs(s.by - s.ay)
  const [s0, s1] = useX
    ? [Math.min(s.ax, s.bx), Math.max(s.ax, s.bx)]
    : [Math.min(s.ay, s.by), Math.max(s.ay, s.by)]
  const [t0, t1] = useX
    ? [Math.min(t.ax, t.bx), Math.max(t.ax, t.bx)]
    : [Math.min(t.ay, t.by), Math.max(t.ay, t.by)]
  return Math.min(s1, t1) > Math.max(s0, t0)
}

/**
 * Validity check: every ring closed with ≥ 4 points and non-zero area; no ring touches itself; no two rings
 * cross or overlap along a segment (touching at a vertex is allowed). O(n²), meant for modest shapes.
 */
export function validateMulti(mp: MultiPolygonCoords): string | null {
  const segs: Seg[] = []
  let ringNo = 0
  for (const poly of mp) {
    if (poly.length === 0) return 'empty polygon'
    for (const ring of poly) {
      if (ring.length < 4) return 'ring with fewer than 4 points'
      const f = ring[0] as LngLat
      const l = ring[ring.length - 1] as LngLat
      if (f[0] !== l[0] || f[1] !== l[1]) return 'ring not closed'
      if (ringSignedArea(ring) === 0) return 'zero-area ring'
      const n = ring.length - 1
      for (let i = 0; i < n; i++) {
        const a = ring[i] as LngLat
        const b = ring[i + 1] as LngLat
        if (a[0] === b[0] && a[1] === b[1]) return 'repeated point'
        segs.push({ ax: a[0], ay: a[1], bx: b[0], by: b[1], ring: ringNo, idx: i, n })
      }
      ringNo++
    }
  }
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i] as Seg
    const sMinX = Math.min(s.ax, s.bx)
    const sMaxX = Math.max(s.ax, s.bx)
    const sMinY = Math.min(s.ay, s.by)
    const sMaxY = Math.max(s.ay, s.by)
    for (let j = i + 1; j < segs.length; j++) {
      const t = segs[j] as Seg
      if (Math.max(t.ax, t.bx) < sMinX || Math.min(t.ax, t.bx) > sMaxX) continue
      if (Math.max(t.ay, t.by) < sMinY || Math.min(t.ay, t.by) > sMaxY) continue
      if (s.ring === t.ring) {
        const adjacent = t.idx === s.idx + 1 || (s.idx === 0 && t.idx === s.n - 1)
        if (adjacent) {
          if (segsCross(s, t)) return `ring folds back on itself near [${s.bx}, ${s.by}]`
          continue
        }
        if (segsTouch(s, t)) return `ring self-intersects near [${s.ax}, ${s.ay}]`
      } else if (segsCross(s, t)) return `rings cross near [${s.ax}, ${s.ay}]`
    }
  }
  return null
}

/**
 * Rounds to `decimals` and repairs what rounding broke (via a polygon-clipping union, which re-nodes
 * the rings), retrying a few times. Returns the rounded geometry, valid per validateMulti when possible.
 */
export function roundValid(mp: MultiPolygonCoords, decimals: number): MultiPolygonCoords {
  let cur = roundMulti(mp, decimals)
  for (let attempt = 0; attempt < 4; attempt++) {
    if (validateMulti(cur) === null) return cur
    cur = roundMulti(polygonClipping.union(cur) as MultiPolygonCoords, decimals)
  }
  return cur
}

/** Equirectangular projection to local kilometres around (lng0, lat0): an affine map, so partitions carry over. */
export interface Projection {
  toKm(p: LngLat): LngLat
  toLngLat(p: LngLat): LngLat
}

export function localProjection(lng0: number, lat0: number): Projection {
  const kx = 111.32 * Math.cos((lat0 * Math.PI) / 180)
  const ky = 110.574
  return {
    toKm: ([x, y]) => [(x - lng0) * kx, (y - lat0) * ky],
    toLngLat: ([x, y]) => [lng0 + x / kx, lat0 + y / ky],
  }
}
