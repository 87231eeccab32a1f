/**
 * The loaded city: region tree, lookups, GeoJSON of a region's children and point → grid.
 */
import type { RegionGeo } from '../../shared/api.ts'
import { readFileSync } from 'node:fs'
import booleanPointInPolygon from '@turf/boolean-point-in-polygon'
import { multiPolygon, point } from '@turf/helpers'
import type { CityFile, CityUnit, Facility, LngLat, MultiPolygonCoords } from '../../shared/city.ts'
import type { Worker } from '../../shared/types.ts'

export type RegionLevel = 'district' | 'street' | 'community' | 'grid'

export interface RegionNode {
  code: string
  name: string
  level: RegionLevel
  parentCode: string | null
  childCodes: string[]
  areaM2: number
  population: number
  centroid: LngLat
  geometry: MultiPolygonCoords
}

type Bbox = [number, number, number, number]

export interface CityIndex {
  readonly file: CityFile
  readonly district: RegionNode
  region(code: string): RegionNode | undefined
  children(code: string): RegionNode[]
  /** Grids inside a region (the region itself if it is a grid). */
  gridsOf(code: string): RegionNode[]
  /** The grid containing a point, if any. */
  gridAt(lng: number, lat: number): string | null
  /** True when the point lies inside the given grid. */
  inGrid(gridCode: string, lng: number, lat: number): boolean
  /** A point inside the grid drawn from `random` (30 tries in its bounding box, else its centroid). */
  randomPointIn(gridCode: string, random: () => number): LngLat
  workers(): Worker[]
  facilities(): Facility[]
  geo(code: string): GeoJSONFeatureCollection
  /** GeoJSON of every unit of `level` under region `code` (empty unless `level` lies below it). */
  geoAt(code: string, level: RegionLevel): GeoJSONFeatureCollection
}

/** The GeoJSON the region routes answer (shared/api.ts). */
export type GeoJSONFeatureCollection = RegionGeo

const bboxOf = (g: MultiPolygonCoords): Bbox => {
  const b: Bbox = [Infinity, Infinity, -Infinity, -Infinity]
  for (const poly of g)
    for (const ring of poly)
      for (const [x, y] of ring) {
        if (x < b[0]) b[0] = x
        if (y < b[1]) b[1] = y
        if (x > b[2]) b[2] = x
        if (y > b[3]) b[3] = y
      }
  return b
}

/** Load a generated city file (server/cities/<code>.json). */
export function loadCityFile(path: string): CityFile {
  return JSON.parse(readFileSync(path, 'utf8')) as CityFile
}

/** Build the lookups over a city file. */
export function createCityIndex(file: CityFile): CityIndex {
  const nodes = new Map<string, RegionNode>()
  const d = file.district
  const district: RegionNode = {
    code: d.code,
    name: d.name,
    level: 'district',
    parentCode: null,
    childCodes: [],
    areaM2: d.areaM2,
    population: d.population,
    centroid: d.centroid,
    geometry: d.geometry,
  }
  nodes.set(d.code, district)
  const add = (u: CityUnit, level: RegionLevel): void => {
    nodes.set(u.code, {
      code: u.code,
      name: u.name,
      level,
      parentCode: u.parentCode,
      childCodes: [],
      areaM2: u.areaM2,
      population: u.population,
      centroid: u.centroid,
      geometry: u.geometry,
    })
    nodes.get(u.parentCode)?.childCodes.push(u.code)
  }
  for (const s of file.streets) add(s, 'street')
  for (const c of file.communities) add(c, 'community')
  for (const g of file.grids) add(g, 'grid')

  const gridShapes = file.grids.map((g) => ({
    code: g.code,
    bbox: bboxOf(g.geometry),
    feature: multiPolygon(g.geometry),
  }))
  const shapeByCode = new Map(gridShapes.map((s) => [s.code, s]))
  const inside = (s: (typeof gridShapes)[number], lng: number, lat: number): boolean =>
    lng >= s.bbox[0] &&
    lng <= s.bbox[2] &&
    lat >= s.bbox[1] &&
    lat <= s.bbox[3] &&
    booleanPointInPolygon(point([lng, lat]), s.feature)

  const gridsOf = (code: string): RegionNode[] => {
    const n = nodes.get(code)
    if (!n) return []
    if (n.level === 'grid') return [n]
    return n.childCodes.flatMap(gridsOf)
  }
  const workers: Worker[] = file.grids.map((g) => ({
    id: g.worker.id,
    name: g.worker.name,
    phone: g.worker.phone,
    gridCode: g.code,
  }))

  return {
    file,
    district,
    region: (code) => nodes.get(code),
    children: (code) => (nodes.get(code)?.childCodes ?? []).map((c) => nodes.get(c)!),
    gridsOf,
    gridAt(lng, lat) {
      for (const s of gridShapes) if (inside(s, lng, lat)) return s.code
      return null
    },
    inGrid(gridCode, lng, lat) {
      const s = shapeByCode.get(gridCode)
      return s ? inside(s, lng, lat) : false
    },
    randomPointIn(gridCode, random) {
      const s = shapeByCode.get(gridCode)!
      for (let i = 0; i < 30; i++) {
        const x = s.bbox[0] + (s.bbox[2] - s.bbox[0]) * random()
        const y = s.bbox[1] + (s.bbox[3] - s.bbox[1]) * random()
        if (inside(s, x, y)) return [x, y]
      }
      return nodes.get(gridCode)!.centroid
    },
    workers: () => workers,
    facilities: () => file.facilities,
    geo(code) {
      const kids = nodes.get(code)?.childCodes ?? []
      return { type: 'FeatureCollection', features: kids.map((c) => featureOf(nodes.get(c)!)) }
    },
    geoAt(code, level) {
      const below = (n: RegionNode): RegionNode[] =>
        n.level === level ? [n] : n.level === 'grid' ? [] : n.childCodes.flatMap((c) => below(nodes.get(c)!))
      const n = nodes.get(code)
      const units = n && n.level !== level ? below(n) : []
      return { type: 'FeatureCollection', features: units.map(featureOf) }
    },
  }
}

const featureOf = (n: RegionNode): GeoJSONFeatureCollection['features'][number] => ({
  type: 'Feature',
  id: n.code,
  properties: {
    code: n.code,
    name: n.name,
    level: n.level,
    areaM2: n.areaM2,
    population: n.population,
    centroid: n.centroid,
    synthetic: true,
  },
  geometry: { type: 'MultiPolygon', coordinates: n.geometry },
})
