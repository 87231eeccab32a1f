/**
 * Service-circle facilities (一公里服务圈) placed inside populous grids. Counts follow the 岳阳楼区 reports
 * (181 communities) and scale with the number of communities elsewhere. Pure and seeded.
 */
import type { CityGrid, CityUnit, Facility, FacilityKind, LngLat } from '../../../shared/city.ts'
import { bboxOf, makeContains, roundTo } from './geometry.ts'
import { chineseNumeral, isUrbanCommunity, streetClass } from './names.ts'
import { type Rng, weightedIndex, weightedSample } from '../../../shared/random.ts'

export interface FacilityCounts {
  clinicCentres: number
  clinicStations: number
  fitness: number
  service_centre: number
  police: number
  warm_station: number
  school: number
}

/** Reference counts for 岳阳楼区 (181 communities), scaled by the number of communities. */
export function facilityCounts(nCommunities: number, nStreets: number): FacilityCounts {
  const s = nCommunities / 181
  const r = (k: number): number => Math.max(1, Math.round(k * s))
  return {
    clinicCentres: Math.min(Math.max(1, nStreets), r(16)),
    clinicStations: r(48),
    fitness: r(108),
    service_centre: r(94),
    police: nCommunities,
    warm_station: r(96),
    school: r(60),
  }
}

const ID_PREFIX: Record<FacilityKind, string> = {
  clinic: 'CLN',
  fitness: 'FIT',
  police: 'POL',
  school: 'SCH',
  service_centre: 'SVC',
  warm_station: 'WRM',
}

export interface FacilityInput {
  streets: readonly CityUnit[]
  communities: readonly CityUnit[]
  grids: readonly CityGrid[]
  outline: CityUnit['geometry']
  counts: FacilityCounts
  rng: Rng
}

interface Draft {
  kind: FacilityKind
  name: string
  grid: CityGrid
}

/** Draws k communities, without replacement while possible, proportional to population. */
function drawCommunities(rng: Rng, communities: readonly CityUnit[], k: number): CityUnit[] {
  const out: CityUnit[] = []
  while (out.length < k) {
    const take = weightedSample(
      rng,
      communities.map((c) => c.population),
      Math.min(k - out.length, communities.length),
    )
    for (const i of take) out.push(communities[i] as CityUnit)
  }
  return out
}

export function placeFacilities(input: FacilityInput): Facility[] {
  const { rng, counts } = input
  const gridsByCommunity = new Map<string, CityGrid[]>()
  for (const g of input.grids) {
    const list = gridsByCommunity.get(g.parentCode) ?? []
    list.push(g)
    gridsByCommunity.set(g.parentCode, list)
  }
  const gridsOf = (c: CityUnit): CityGrid[] => {
    const list = gridsByCommunity.get(c.code)
    if (!list || list.length === 0) throw new Error(`community ${c.code} has no grids`)
    return list
  }
  const pickGrid = (grids: readonly CityGrid[]): CityGrid =>
    grids[
      weightedIndex(
        rng,
        grids.map((g) => g.population),
      )
    ] as CityGrid
  const drafts: Draft[] = []
  const short = (name: string): string => name.replace(/(社区|村)$/, '')

  // police: one 警务室 per community, in its most populous grid
  for (const c of input.communities) {
    const grid = [...gridsOf(c)].sort(
      (a, b) => b.population - a.population || a.code.localeCompare(b.code),
    )[0] as CityGrid
    drafts.push({ kind: 'police', name: `${c.name}警务室`, grid })
  }
  // clinics: community health centres for the most populous streets, stations in communities
  const topStreets = [...input.streets]
    .sort((a, b) => b.population - a.population || a.code.localeCompare(b.code))
    .slice(0, counts.clinicCentres)
  for (const s of topStreets) {
    const grids = input.grids.filter((g) => g.parentCode.startsWith(s.code))
    const name = streetClass(s.name) >= 2 ? `${s.name}卫生院` : `${s.name}社区卫生服务中心`
    drafts.push({ kind: 'clinic', name, grid: pickGrid(grids) })
  }
  const perCommunity = (kind: FacilityKind, k: number, nameOf: (c: CityUnit) => string): void => {
    const seen = new Map<string, number>()
    for (const c of drawCommunities(rng, input.communities, k)) {
      let name = nameOf(c)
      const n = (seen.get(name) ?? 0) + 1
      seen.set(name, n)
      if (n > 1) name = `${name}（${chineseNumeral(n)}）`
      drafts.push({ kind, name, grid: pickGrid(gridsOf(c)) })
    }
  }
  perCommunity('clinic', counts.clinicStations, (c) =>
    isUrbanCommunity(c.name) ? `${c.name}卫生服务站` : `${c.name}卫生室`,
  )
  perCommunity('service_centre', counts.service_centre, (c) => `${c.name}党群服务中心`)
  perCommunity('warm_station', counts.warm_station, (c) => `${c.name}暖心驿站`)
  perCommunity('fitness', counts.fitness, (c) => `${c.name}全民健身广场`)
  perCommunity('school', counts.school, (c) => `${short(c.name)}${rng.next() < 0.65 ? '小学' : '中学'}`)

  const inOutline = makeContains(input.outline)
  const located = drafts.map((d) => {
    const [lng, lat] = pointInGrid(d.grid, inOutline, rng)
    return { ...d, lng, lat }
  })
  located.sort(
    (a, b) =>
      a.kind.localeCompare(b.kind) || a.grid.code.localeCompare(b.grid.code) || a.name.localeCompare(b.name),
  )
  const seqByKind = new Map<FacilityKind, number>()
  const out: Facility[] = located.map((d) => {
    const k = (seqByKind.get(d.kind) ?? 0) + 1
    seqByKind.set(d.kind, k)
    return {
      id: `${ID_PREFIX[d.kind]}${String(k).padStart(3, '0')}`,
      kind: d.kind,
      name: d.name,
      lng: d.lng,
      lat: d.lat,
      communityCode: d.grid.parentCode,
      gridCode: d.grid.code,
    }
  })
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

/** A random point (5 decimals) inside the grid and the district outline. */
function pointInGrid(grid: CityGrid, inOutline: (p: LngLat) => boolean, rng: Rng): LngLat {
  const b = bboxOf(grid.geometry)
  const inGrid = makeContains(grid.geometry)
  for (let t = 0; t < 5000; t++) {
    const p: LngLat = [roundTo(rng.range(b.minX, b.maxX), 5), roundTo(rng.range(b.minY, b.maxY), 5)]
    if (inGrid(p) && inOutline(p)) return p
  }
  const c = grid.centroid
  if (inGrid(c) && inOutline(c)) return c
  throw new Error(`could not place a facility inside grid ${grid.code}`)
}
