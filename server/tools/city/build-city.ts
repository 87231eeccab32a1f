/**
 * Builds the whole CityFile from division names/codes and a district outline. Pure (no I/O, no network):
 * every random choice comes from seeded streams, so the same inputs give the same output.
 */
import type { CityFile, CityGrid, CityUnit, LngLat, MultiPolygonCoords } from '../../../shared/city.ts'
import { largestRemainder, apportionWithMinimum } from './allocate.ts'
import { facilityCounts, placeFacilities } from './facilities.ts'
import {
  bboxOf,
  centroidOf,
  geodesicArea,
  localProjection,
  planarArea,
  roundTo,
  roundValid,
  validateMulti,
} from './geometry.ts'
import { numberingOrder, seq3 } from './grid-order.ts'
import { communityDisplayName, isUrbanCommunity, personName, phoneNumber, streetClass } from './names.ts'
import { partitionRegion } from './partition.ts'
import { closeTJunctions } from './topology.ts'
import { mulberry32, seedFrom } from '../../../shared/random.ts'

export interface DivisionInput {
  district: { code: string; name: string; cityName: string; provinceName: string }
  streets: { code: string; name: string }[]
  /** Registered names (居委会/村委会 suffixes are normalised to 社区/村). */
  communities: { code: string; name: string; streetCode: string }[]
}

export type Stage = 'streets' | 'communities' | 'grids' | 'facilities'

export interface BuildOptions {
  /** District outline, already valid and rounded to 5 decimals. */
  outline: MultiPolygonCoords
  /** Urban core (densest point), e.g. the district seat; defaults to the outline's centroid. */
  core?: LngLat
  grids: number
  population: number
  seed: number
  source: CityFile['source']
  progress?: (stage: Stage, done: number, total: number) => void
  warn?: (message: string) => void
}

const DECIMALS = 5
const URBAN_WEIGHT = 1
const VILLAGE_WEIGHT = 0.4

const roundPt = (p: LngLat): LngLat => [roundTo(p[0], DECIMALS), roundTo(p[1], DECIMALS)]
const byCode = <T extends { code: string }>(a: T, b: T): number =>
  a.code < b.code ? -1 : a.code > b.code ? 1 : 0

/** Population density: an exponential decay from the urban core over a floor for the countryside. */
export function makeDensity(outline: MultiPolygonCoords, core: LngLat | undefined): (p: LngLat) => number {
  const c0 = centroidOf(outline)
  const proj = localProjection(c0[0], c0[1])
  const km2 = planarArea(outline.map((poly) => poly.map((ring) => ring.map((p) => proj.toKm(p)))))
  const centre = core ?? c0
  const [cx, cy] = proj.toKm(centre)
  const scale = Math.max(0.5, 0.18 * Math.sqrt(km2))
  return (p) => {
    const [x, y] = proj.toKm(p)
    return 0.02 + Math.exp(-Math.hypot(x - cx, y - cy) / scale)
  }
}

export function buildCity(div: DivisionInput, opts: BuildOptions): CityFile {
  const { outline, seed } = opts
  const progress = opts.progress ?? (() => {})
  const warn = opts.warn ?? (() => {})
  const c0 = centroidOf(outline)
  const proj = localProjection(c0[0], c0[1])
  const density = makeDensity(outline, opts.core)

  // communities with display names, grouped by street
  const comms = div.communities.map((c) => ({ ...c, name: communityDisplayName(c.name) }))
  const byStreet = new Map<string, typeof comms>()
  for (const c of comms) byStreet.set(c.streetCode, [...(byStreet.get(c.streetCode) ?? []), c])
  const streets = div.streets.filter((s) => {
    if (byStreet.has(s.code)) return true
    warn(`street ${s.code} ${s.name} has no communities/villages: left out (grids must tile communities)`)
    return false
  })
  if (streets.length === 0) throw new Error(`district ${div.district.code} has no communities`)
  const orphan = comms.filter((c) => !streets.some((s) => s.code === c.streetCode))
  if (orphan.length > 0)
    throw new Error(`communities without a street: ${orphan.map((c) => c.code).join(', ')}`)
  if (opts.grids < comms.length)
    throw new Error(`--grids ${opts.grids} is fewer than the ${comms.length} communities`)
  if (opts.grids > comms.length * 999)
    throw new Error(`--grids ${opts.grids}: at most 999 grids per community`)

  const weightOf = (c: { name: string }): number => (isUrbanCommunity(c.name) ? URBAN_WEIGHT : VILLAGE_WEIGHT)
  const urbanShare = (code: string): number => {
    const list = byStreet.get(code) ?? []
    return list.filter((c) => isUrbanCommunity(c.name)).length / Math.max(1, list.length)
  }

  // [streets] densest seeds go to the most urban units
  const streetOrder = [...streets].sort(
    (a, b) =>
      Number(streetClass(a.name) >= 2) - Number(streetClass(b.name) >= 2) ||
      urbanShare(b.code) - urbanShare(a.code) ||
      byCode(a, b),
  )
  progress('streets', 0, streetOrder.length)
  const streetParts = partitionRegion(outline, {
    density,
    proj,
    rng: mulberry32(seedFrom(seed, 'streets')),
    targets: streetOrder.map((s) => (byStreet.get(s.code) ?? []).reduce((a, c) => a + weightOf(c), 0)),
    samplesPerPart: 600,
    minSamples: 12000,
    iterations: 60,
  })
  const streetGeom = new Map<string, MultiPolygonCoords>()
  const streetFixed = closeTJunctions(streetParts.map((p) => roundValid(p.geometry, DECIMALS)))
  streetOrder.forEach((s, i) => streetGeom.set(s.code, streetFixed[i] as MultiPolygonCoords))
  progress('streets', streetOrder.length, streetOrder.length)

  // [communities]
  const commGeom = new Map<string, MultiPolygonCoords>()
  const commMass = new Map<string, number>()
  let doneComms = 0
  for (const s of [...streets].sort(byCode)) {
    const list = [...(byStreet.get(s.code) ?? [])].sort(
      (a, b) => Number(!isUrbanCommunity(a.name)) - Number(!isUrbanCommunity(b.name)) || byCode(a, b),
    )
    const parts = partitionRegion(streetGeom.get(s.code) as MultiPolygonCoords, {
      density,
      proj,
      rng: mulberry32(seedFrom(seed, 'communities', s.code)),
      targets: list.map(weightOf),
      samplesPerPart: 300,
      minSamples: 3000,
      iterations: 50,
    })
    list.forEach((c, i) => {
      const part = parts[i] as { geometry: MultiPolygonCoords; mass: number }
      commGeom.set(c.code, roundValid(part.geometry, DECIMALS))
      commMass.set(c.code, part.mass)
    })
    doneComms += list.length
    progress('communities', doneComms, comms.length)
  }
  const commCodes = [...commGeom.keys()].sort()
  closeTJunctions(commCodes.map((c) => commGeom.get(c) as MultiPolygonCoords)).forEach((g, i) =>
    commGeom.set(commCodes[i] as string, g),
  )

  // [grids] counts proportional to the communities' estimated population, at least one each
  const commSorted = [...comms].sort(byCode)
  const gridCounts = apportionWithMinimum(
    commSorted.map((c) => commMass.get(c.code) ?? 0),
    opts.grids,
    1,
  )
  interface GridDraft {
    code: string
    name: string
    parentCode: string
    geometry: MultiPolygonCoords
    raw: number
  }
  const pieces: { parentCode: string; geometry: MultiPolygonCoords }[] = []
  let doneGrids = 0
  commSorted.forEach((c, ci) => {
    const g = gridCounts[ci] as number
    const parts = partitionRegion(commGeom.get(c.code) as MultiPolygonCoords, {
      density,
      proj,
      rng: mulberry32(seedFrom(seed, 'grids', c.code)),
      targets: new Array<number>(g).fill(1),
      samplesPerPart: 250,
      minSamples: 1000,
      iterations: 40,
    })
    for (const p of parts) pieces.push({ parentCode: c.code, geometry: roundValid(p.geometry, DECIMALS) })
    doneGrids += g
    progress('grids', doneGrids, opts.grids)
  })
  // one pass over every level so that parents also carry their children's boundary vertices: shared
  // boundaries then match vertex for vertex (no slivers) from the district down to the grids
  const streetCodes = [...streetGeom.keys()].sort()
  const fixedAll = closeTJunctions([
    outline,
    ...streetCodes.map((c) => streetGeom.get(c) as MultiPolygonCoords),
    ...commCodes.map((c) => commGeom.get(c) as MultiPolygonCoords),
    ...pieces.map((p) => p.geometry),
  ])
  const districtGeom = fixedAll[0] as MultiPolygonCoords
  const invalid = fixedAll.filter((g) => g.length === 0 || validateMulti(g) !== null).length
  if (fixedAll.some((g) => g.length === 0)) throw new Error('a part vanished when rounded to 5 decimals')
  if (invalid > 0) warn(`${invalid} polygons failed the validity check after rounding`)
  streetCodes.forEach((c, i) => streetGeom.set(c, fixedAll[1 + i] as MultiPolygonCoords))
  commCodes.forEach((c, i) => commGeom.set(c, fixedAll[1 + streetCodes.length + i] as MultiPolygonCoords))
  pieces.forEach(
    (p, i) => (p.geometry = fixedAll[1 + streetCodes.length + commCodes.length + i] as MultiPolygonCoords),
  )

  // sequence numbers from the final shapes: row bands of the community, north first, then west → east
  const gridDrafts: GridDraft[] = []
  for (const c of commSorted) {
    const own = pieces.filter((p) => p.parentCode === c.code)
    const centroids = own.map((p) => roundPt(centroidOf(p.geometry)))
    const b = bboxOf(commGeom.get(c.code) as MultiPolygonCoords)
    numberingOrder(centroids, [b.minX, b.minY, b.maxX, b.maxY]).forEach((idx, k) => {
      const geometry = (own[idx] as { geometry: MultiPolygonCoords }).geometry
      gridDrafts.push({
        code: c.code + seq3(k + 1),
        name: `${c.name}第${k + 1}网格`,
        parentCode: c.code,
        geometry,
        raw: density(centroids[idx] as LngLat) * (geodesicArea(geometry) / 1e6),
      })
    })
  }
  gridDrafts.sort(byCode)

  // populations: integers that sum exactly to the total, parents are sums of children
  const pops = largestRemainder(
    gridDrafts.map((g) => g.raw),
    opts.population,
  )
  const workerRng = mulberry32(seedFrom(seed, 'workers'))
  const phones = new Set<string>()
  const grids: CityGrid[] = gridDrafts.map((g, i) => {
    let phone = phoneNumber(workerRng)
    while (phones.has(phone)) phone = phoneNumber(workerRng)
    phones.add(phone)
    return {
      code: g.code,
      name: g.name,
      parentCode: g.parentCode,
      geometry: g.geometry,
      areaM2: Math.round(geodesicArea(g.geometry)),
      population: pops[i] as number,
      centroid: roundPt(centroidOf(g.geometry)),
      worker: { id: 'W' + g.code, name: personName(workerRng), phone },
    }
  })
  const sumPop = (prefix: string): number =>
    grids.reduce((a, g) => a + (g.code.startsWith(prefix) ? g.population : 0), 0)
  const unit = (code: string, name: string, parentCode: string, geometry: MultiPolygonCoords): CityUnit => ({
    code,
    name,
    parentCode,
    geometry,
    areaM2: Math.round(geodesicArea(geometry)),
    population: sumPop(code),
    centroid: roundPt(centroidOf(geometry)),
  })
  const communities = commSorted.map((c) =>
    unit(c.code, c.name, c.streetCode, commGeom.get(c.code) as MultiPolygonCoords),
  )
  const streetUnits = [...streets]
    .sort(byCode)
    .map((s) => unit(s.code, s.name, div.district.code, streetGeom.get(s.code) as MultiPolygonCoords))

  const counts = facilityCounts(communities.length, streetUnits.length)
  progress(
    'facilities',
    0,
    Object.values(counts).reduce((a, b) => a + b, 0),
  )
  const facilities = placeFacilities({
    streets: streetUnits,
    communities,
    grids,
    outline: districtGeom,
    counts,
    rng: mulberry32(seedFrom(seed, 'facilities')),
  })
  progress('facilities', facilities.length, facilities.length)

  return {
    version: 1,
    synthetic: true,
    district: {
      ...div.district,
      geometry: districtGeom,
      areaM2: Math.round(geodesicArea(districtGeom)),
      population: opts.population,
      centroid: roundPt(centroidOf(districtGeom)),
    },
    streets: streetUnits,
    communities,
    grids,
    facilities,
    source: opts.source,
  }
}
