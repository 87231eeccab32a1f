/**
 * Service circles (一公里服务圈, DESIGN.md §2): which facility kinds lie within 1 km of each grid's
 * centroid, precomputed once from the city file, and the per-kind coverage of any set of grids.
 *
 * A grid is served by a facility wherever that facility stands, even in a neighbouring street: a
 * circle does not stop at a boundary. Distances are great-circle (haversine, @turf/distance);
 * exactly 1 km counts as within.
 */
import distance from '@turf/distance'
import type { CityFile, FacilityKind, LngLat } from '../../shared/city.ts'

/** The six kinds, in display order, with their names. */
export const FACILITY_KINDS: ReadonlyArray<{ kind: FacilityKind; zh: string; en: string }> = [
  { kind: 'school', zh: '学校', en: 'School' },
  { kind: 'clinic', zh: '医疗卫生', en: 'Health care' },
  { kind: 'police', zh: '社区警务', en: 'Community policing' },
  { kind: 'service_centre', zh: '政务服务', en: 'Government services' },
  { kind: 'fitness', zh: '健身休闲', en: 'Fitness and leisure' },
  { kind: 'warm_station', zh: '暖心驿站', en: 'Warm station' },
]

/** The radius of a service circle, in km. */
export const SERVICE_RADIUS_KM = 1

export interface KindCoverage {
  kind: FacilityKind
  zh: string
  en: string
  /** Grids considered. */
  grids: number
  /** Of those, grids whose centroid lies within the radius of a facility of this kind. */
  covered: number
  /** covered / grids; null when there are no grids. */
  rate: number | null
}

export interface ServiceCircles {
  /** The kinds within the radius of a grid's centroid (empty for an unknown grid). */
  kindsAt(gridCode: string): ReadonlySet<FacilityKind>
  /** Coverage of each kind over the given grids, in FACILITY_KINDS order. */
  coverage(gridCodes: readonly string[]): KindCoverage[]
}

const KM_PER_DEGREE_LAT = 111.32

/** Precompute, per grid, the facility kinds within `radiusKm` of its centroid. */
export function buildServiceCircles(file: CityFile, radiusKm = SERVICE_RADIUS_KM): ServiceCircles {
  // A cheap degree box first (slightly generous), the haversine distance only for candidates.
  const dLat = (radiusKm / KM_PER_DEGREE_LAT) * 1.01
  const kindsByGrid = new Map<string, Set<FacilityKind>>()
  for (const g of file.grids) {
    const [lng, lat] = g.centroid
    const dLng = dLat / Math.max(Math.cos((lat * Math.PI) / 180), 1e-6)
    const kinds = new Set<FacilityKind>()
    for (const f of file.facilities) {
      if (kinds.has(f.kind)) continue
      if (Math.abs(f.lat - lat) > dLat || Math.abs(f.lng - lng) > dLng) continue
      const at: LngLat = [f.lng, f.lat]
      if (distance(g.centroid, at, { units: 'kilometers' }) <= radiusKm) kinds.add(f.kind)
    }
    kindsByGrid.set(g.code, kinds)
  }
  const none: ReadonlySet<FacilityKind> = new Set()
  return {
    kindsAt: (code) => kindsByGrid.get(code) ?? none,
    coverage(gridCodes) {
      return FACILITY_KINDS.map(({ kind, zh, en }) => {
        let covered = 0
        for (const code of gridCodes) if (kindsByGrid.get(code)?.has(kind)) covered++
        const grids = gridCodes.length
        return { kind, zh, en, grids, covered, rate: grids === 0 ? null : covered / grids }
      })
    },
  }
}
