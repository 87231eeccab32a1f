/**
 * Grid sequence numbers inside a community: west→east, north→south (DB11 unit-grid rule). Centroids are cut
 * into horizontal row bands (north first); inside a band, west to east. Pure.
 */
import type { LngLat } from '../../../shared/city.ts'

export interface RowBands {
  /** Band index per input centroid, 0 = northernmost. */
  band: number[]
  rows: number
}

/**
 * Bands sized so that a band holds about √n grids side by side for a square-ish area.
 * `bbox` is the community's [minLng, minLat, maxLng, maxLat]; `kx` the km per degree of longitude ratio
 * (cos latitude) so the aspect ratio is measured in real distances.
 */
export function rowBands(
  centroids: readonly LngLat[],
  bbox: readonly [number, number, number, number],
): RowBands {
  const n = centroids.length
  const [minX, minY, maxX, maxY] = bbox
  const midLat = (minY + maxY) / 2
  const w = Math.max(1e-12, (maxX - minX) * Math.cos((midLat * Math.PI) / 180))
  const h = Math.max(1e-12, maxY - minY)
  const rows = Math.max(1, Math.min(n, Math.round(Math.sqrt((n * h) / w))))
  const bandH = h / rows
  const band = centroids.map(([, lat]) => Math.max(0, Math.min(rows - 1, Math.floor((maxY - lat) / bandH))))
  return { band, rows }
}

/** Indices of the centroids in numbering order (first gets sequence 001). */
export function numberingOrder(
  centroids: readonly LngLat[],
  bbox: readonly [number, number, number, number],
): number[] {
  const { band } = rowBands(centroids, bbox)
  return centroids
    .map((c, i) => ({ i, b: band[i] as number, x: c[0], y: c[1] }))
    .sort((p, q) => p.b - q.b || p.x - q.x || q.y - p.y || p.i - q.i)
    .map((p) => p.i)
}

/** 3-digit sequence suffix: 1 → "001". */
export const seq3 = (k: number): string => {
  if (k < 1 || k > 999) throw new Error(`grid sequence ${k} out of range 1..999`)
  return String(k).padStart(3, '0')
}
