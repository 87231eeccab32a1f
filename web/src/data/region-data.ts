/** What the screens load over HTTP for a region (types from shared/api.ts), and small pure helpers. */
import type {
  CategoriesResponse,
  FacilitiesResponse,
  RegionGeo,
  RegionInfo,
} from '../../../shared/api.ts'
import type { Api } from '../api.ts'

export interface RegionData {
  info: RegionInfo
  grids: RegionGeo
  streets: RegionGeo
  /** Loaded when asked (the briefing's drill-down focuses on communities). */
  communities?: RegionGeo
  categories: CategoriesResponse['categories']
  facilities: FacilitiesResponse
}

/** A region's outlines (grids, streets, and communities with `communities`), categories and facilities. */
export async function loadRegionData(
  api: Api,
  region: string,
  opts: { communities?: boolean } = {},
): Promise<RegionData> {
  const [info, grids, streets, categories, facilities, communities] = await Promise.all([
    api<RegionInfo>(`/api/v1/regions/${region}`),
    api<RegionGeo>(`/api/v1/regions/${region}/geo?level=grid`),
    api<RegionGeo>(`/api/v1/regions/${region}/geo?level=street`),
    api<CategoriesResponse>('/api/v1/categories'),
    api<FacilitiesResponse>(`/api/v1/facilities?region=${region}`),
    opts.communities ? api<RegionGeo>(`/api/v1/regions/${region}/geo?level=community`) : undefined,
  ])
  return {
    info,
    grids,
    streets,
    ...(communities ? { communities } : {}),
    categories: categories.categories,
    facilities,
  }
}

/** Bounding box [[minLng, minLat], [maxLng, maxLat]] of a feature collection. */
export function boundsOf(fc: Pick<RegionGeo, 'features'>): [[number, number], [number, number]] {
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
