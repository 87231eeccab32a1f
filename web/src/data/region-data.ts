/** What the wall loads over HTTP, typed; and small pure helpers for it. */
import type { KpiValues } from '../../../shared/kpis.ts'
import type { Api } from '../api.ts'

export interface Feature {
  id: string
  properties: { code: string; name: string; centroid: [number, number] }
  geometry: { type: 'MultiPolygon'; coordinates: number[][][][] }
}
export interface FeatureCollection {
  type: 'FeatureCollection'
  features: Feature[]
}
export interface WhoAmI {
  role: string
  region: string | null
  district: string
  timeZone: string
  now: string
  clockSpeed: number
}
export interface RegionInfo {
  code: string
  name: string
  children: { code: string; name: string; centroid: [number, number] }[]
}
export interface Category {
  code: string
  zh: string
  en: string
  group: { code: string; zh: string; en: string }
}
export interface StatsResponse {
  seq: number
  byGroup: { code: string; zh: string; en: string; count: number }[]
  hourly: { hour: string; reported: number; handled: number; closed: number }[]
}
export interface FacilitiesResponse {
  facilities: { id: string; kind: string; name: string; lng: number; lat: number }[]
  coverage: { kind: string; zh: string; en: string; rate: number | null }[]
}
export interface RankingsResponse {
  rankings: { code: string; name: string; values: KpiValues }[]
}

export async function loadWallData(api: Api, region: string) {
  const [info, grids, streets, categories, facilities] = await Promise.all([
    api<RegionInfo>(`/api/v1/regions/${region}`),
    api<FeatureCollection>(`/api/v1/regions/${region}/geo?level=grid`),
    api<FeatureCollection>(`/api/v1/regions/${region}/geo?level=street`),
    api<{ categories: Category[] }>('/api/v1/categories'),
    api<FacilitiesResponse>(`/api/v1/facilities?region=${region}`),
  ])
  return { info, grids, streets, categories: categories.categories, facilities }
}

/** Bounding box [[minLng, minLat], [maxLng, maxLat]] of a feature collection. */
export function boundsOf(fc: FeatureCollection): [[number, number], [number, number]] {
  let a = Infinity
  let b = Infinity
  let c = -Infinity
  let d = -Infinity
  for (const f of fc.features)
    for (const poly of f.geometry.coordinates)
      for (const [x, y] of poly[0]!) {
        a = Math.min(a, x!)
        b = Math.min(b, y!)
        c = Math.max(c, x!)
        d = Math.max(d, y!)
      }
  return [
    [a, b],
    [c, d],
  ]
}
