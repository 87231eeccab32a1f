import { describe, it, expect } from 'vitest'
import polygonClipping from 'polygon-clipping'
import type { LngLat, MultiPolygonCoords } from '../../shared/city.ts'
import { apportionWithMinimum, largestRemainder } from '../../server/tools/city/allocate.ts'
import { buildCity, makeDensity, type DivisionInput } from '../../server/tools/city/build-city.ts'
import { decodeRing, geometryToMulti, isEncodedGeometry } from '../../server/tools/city/echarts-outline.ts'
import {
  bboxOf,
  centroidOf,
  geodesicArea,
  localProjection,
  pointInMulti,
  roundValid,
  validateMulti,
} from '../../server/tools/city/geometry.ts'
import { numberingOrder, rowBands } from '../../server/tools/city/grid-order.ts'
import { partitionRegion } from '../../server/tools/city/partition.ts'
import { prepareOutline } from '../../server/tools/city/prepare-outline.ts'
import { mulberry32 } from '../../shared/random.ts'
import { closeTJunctions } from '../../server/tools/city/topology.ts'
import { serializeCity } from '../../server/tools/city/write-city.ts'

/** A non-convex, roughly 8 km × 6 km outline near 岳阳 with a notch on its east side. */
const OUTLINE: MultiPolygonCoords = [
  [
    [
      [113.0, 29.3],
      [113.08, 29.3],
      [113.08, 29.33],
      [113.05, 29.335],
      [113.08, 29.34],
      [113.075, 29.355],
      [113.03, 29.36],
      [113.0, 29.35],
      [113.0, 29.3],
    ],
  ],
]
const CORE: LngLat = [113.02, 29.345]

/** Sum of geodesic areas of pairwise intersections (m²), bbox-filtered. */
function overlapArea(parts: readonly MultiPolygonCoords[]): number {
  const boxes = parts.map((p) => bboxOf(p))
  let total = 0
  for (let i = 0; i < parts.length; i++)
    for (let j = i + 1; j < parts.length; j++) {
      const a = boxes[i]!
      const b = boxes[j]!
      if (a.maxX < b.minX || b.maxX < a.minX || a.maxY < b.minY || b.maxY < a.minY) continue
      const x = polygonClipping.intersection(parts[i]!, parts[j]!) as MultiPolygonCoords
      total += geodesicArea(x)
    }
  return total
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0)

function partition(seed: number, targets: number[], region: MultiPolygonCoords = OUTLINE, weighted = true) {
  const c = centroidOf(region)
  return partitionRegion(region, {
    density: makeDensity(region, CORE),
    proj: localProjection(c[0], c[1]),
    rng: mulberry32(seed),
    targets,
    iterations: 30,
    weighted,
  })
}

describe('partitionRegion', () => {
  const outlineArea = geodesicArea(OUTLINE)

  it('tiles the outline: areas add up, parts do not overlap, every part is valid', () => {
    const parts = partition(7, [1, 1, 2, 1, 0.5, 1, 1])
    expect(parts).toHaveLength(7)
    const geoms = parts.map((p) => p.geometry)
    for (const g of geoms) {
      expect(g.length).toBeGreaterThan(0)
      expect(validateMulti(g)).toBeNull()
    }
    expect(Math.abs(sum(geoms.map(geodesicArea)) - outlineArea) / outlineArea).toBeLessThan(0.001)
    expect(overlapArea(geoms) / outlineArea).toBeLessThan(1e-6)
    // the union is the outline (symmetric difference ≈ 0)
    const union = polygonClipping.union(geoms[0]!, ...geoms.slice(1)) as MultiPolygonCoords
    const diff = polygonClipping.xor(union, OUTLINE) as MultiPolygonCoords
    expect(geodesicArea(diff) / outlineArea).toBeLessThan(1e-6)
  })

  it('also tiles with the plain (unweighted) Voronoi fallback', () => {
    const geoms = partition(9, [1, 1, 1, 1, 1], OUTLINE, false).map((p) => p.geometry)
    expect(geoms).toHaveLength(5)
    for (const g of geoms) expect(validateMulti(g)).toBeNull()
    expect(Math.abs(sum(geoms.map(geodesicArea)) - outlineArea) / outlineArea).toBeLessThan(0.001)
    expect(overlapArea(geoms) / outlineArea).toBeLessThan(1e-6)
  })

  it('gives parts roughly their target share of the mass', () => {
    const targets = [3, 1, 1, 1]
    const parts = partition(11, targets)
    const total = sum(parts.map((p) => p.mass))
    parts.forEach((p, i) => {
      const share = p.mass / total
      const want = targets[i]! / sum(targets)
      expect(Math.abs(share - want)).toBeLessThan(0.08)
    })
  })

  it('stays exact after rounding to 5 decimals and closing T-junctions', () => {
    const streets = closeTJunctions(partition(3, [1, 1, 1]).map((p) => roundValid(p.geometry, 5)))
    const nested = closeTJunctions([
      roundValid(OUTLINE, 5),
      ...streets,
      ...streets.flatMap((s, i) => partition(100 + i, [1, 1, 1, 1], s).map((p) => roundValid(p.geometry, 5))),
    ])
    const children = nested.slice(1 + streets.length)
    for (const g of nested) expect(validateMulti(g)).toBeNull()
    expect(Math.abs(sum(children.map(geodesicArea)) - outlineArea) / outlineArea).toBeLessThan(0.001)
    expect(overlapArea(children) / outlineArea).toBeLessThan(1e-6)
    for (const g of children)
      for (const [x, y] of g.flatMap((p) => p.flat())) {
        expect(Math.round(x * 1e5) / 1e5).toBe(x)
        expect(Math.round(y * 1e5) / 1e5).toBe(y)
      }
  })

  it('is deterministic for a seed and changes with the seed', () => {
    const a = partition(42, [1, 2, 1])
    const b = partition(42, [1, 2, 1])
    const c = partition(43, [1, 2, 1])
    expect(JSON.stringify(a)).toBe(JSON.stringify(b))
    expect(JSON.stringify(a)).not.toBe(JSON.stringify(c))
  })
})

describe('grid numbering', () => {
  it('numbers north → south in row bands, west → east inside a band', () => {
    // a jittered 3 × 3 lattice, given in scrambled order
    const lattice: LngLat[] = []
    for (let r = 0; r < 3; r++)
      for (let c = 0; c < 3; c++)
        lattice.push([113 + c * 0.01 + (r === 1 ? 0.002 : 0), 29.03 - r * 0.01 + (c - 1) * 0.0015])
    const scrambled = [4, 8, 0, 6, 2, 7, 1, 5, 3].map((i) => lattice[i]!)
    const order = numberingOrder(scrambled, [112.995, 28.995, 113.025, 29.035])
    expect(order.map((i) => lattice.indexOf(scrambled[i]!))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8])
  })

  it('band indices never decrease and longitudes increase within a band', () => {
    const rng = mulberry32(5)
    const pts: LngLat[] = Array.from({ length: 23 }, () => [113 + rng.next() * 0.05, 29 + rng.next() * 0.03])
    const bbox: [number, number, number, number] = [113, 29, 113.05, 29.03]
    const order = numberingOrder(pts, bbox)
    const { band, rows } = rowBands(pts, bbox)
    expect(rows).toBeGreaterThan(1)
    for (let k = 1; k < order.length; k++) {
      const prev = order[k - 1]!
      const cur = order[k]!
      expect(band[cur]!).toBeGreaterThanOrEqual(band[prev]!)
      if (band[cur] === band[prev]) expect(pts[cur]![0]).toBeGreaterThanOrEqual(pts[prev]![0])
    }
  })
})

describe('apportionment', () => {
  it('largest remainder sums exactly and is proportional', () => {
    const shares = largestRemainder([0.1, 2.7, 3.3, 0, 5], 1001)
    expect(sum(shares)).toBe(1001)
    expect(shares[3]).toBe(0)
    expect(shares[4]!).toBeGreaterThan(shares[2]!)
  })

  it('gives every part its minimum and still sums exactly', () => {
    const shares = apportionWithMinimum([100, 0.001, 0, 50, 3], 20, 1)
    expect(sum(shares)).toBe(20)
    for (const s of shares) expect(s).toBeGreaterThanOrEqual(1)
    expect(shares[0]!).toBeGreaterThan(shares[3]!)
  })
})

describe('echarts outline decoding', () => {
  /** echarts' encoder: zig-zag, delta-coded, +64 character pairs, quantised by 1024. */
  function encodeRing(ring: LngLat[]): { s: string; offsets: [number, number] } {
    const q = ring.map(([x, y]) => [Math.round(x * 1024), Math.round(y * 1024)] as [number, number])
    const offsets = q[0]!
    let [px, py] = offsets
    let s = ''
    for (const [x, y] of q) {
      const dx = x - px
      const dy = y - py
      px = x
      py = y
      s += String.fromCharCode(((dx << 1) ^ (dx >> 31)) + 64, ((dy << 1) ^ (dy >> 31)) + 64)
    }
    return { s, offsets }
  }

  it('decodes encoded rings and leaves plain coordinates alone', () => {
    const ring: LngLat[] = [
      [113.125, 29.375],
      [113.1337890625, 29.375],
      [113.1337890625, 29.3828125],
      [113.125, 29.375],
    ]
    const { s, offsets } = encodeRing(ring)
    expect(decodeRing(s, offsets, 1024)).toEqual(ring)
    const encoded = { type: 'Polygon', coordinates: [s], encodeOffsets: [offsets] }
    const plain = { type: 'Polygon', coordinates: [ring] }
    expect(isEncodedGeometry(encoded)).toBe(true)
    expect(isEncodedGeometry(plain)).toBe(false)
    expect(geometryToMulti(encoded)).toEqual([[ring]])
    expect(geometryToMulti(plain)).toEqual([[ring]])
  })
})

describe('buildCity on a synthetic district', () => {
  const div: DivisionInput = {
    district: { code: '999901', name: '测试区', cityName: '测试市', provinceName: '测试省' },
    streets: [
      { code: '999901001', name: '中心街道' },
      { code: '999901100', name: '东山镇' },
    ],
    communities: [
      { code: '999901001001', name: '洞庭社区居委会', streetCode: '999901001' },
      { code: '999901001002', name: '汴河社区', streetCode: '999901001' },
      { code: '999901001003', name: '南湖居民委员会', streetCode: '999901001' },
      { code: '999901100201', name: '麻布村委会', streetCode: '999901100' },
      { code: '999901100202', name: '新老村民委员会', streetCode: '999901100' },
    ],
  }
  const build = (seed: number) =>
    buildCity(div, {
      outline: prepareOutline(OUTLINE),
      core: CORE,
      grids: 17,
      population: 40_003,
      seed,
      source: { divisions: 'test', outline: 'test', generator: 'test' },
    })
  const city = build(1)

  it('tiles the district at every level', () => {
    const area = city.district.areaM2
    for (const level of [city.streets, city.communities, city.grids]) {
      expect(Math.abs(sum(level.map((u) => u.areaM2)) - area) / area).toBeLessThan(0.001)
      expect(overlapArea(level.map((u) => u.geometry)) / area).toBeLessThan(1e-6)
      for (const u of level) expect(validateMulti(u.geometry)).toBeNull()
    }
  })

  it('codes, names and populations', () => {
    expect(city.grids).toHaveLength(17)
    expect(city.communities.map((c) => c.name)).toEqual([
      '洞庭社区',
      '汴河社区',
      '南湖社区',
      '麻布村',
      '新老村',
    ])
    expect(sum(city.grids.map((g) => g.population))).toBe(40_003)
    for (const c of city.communities) {
      const grids = city.grids.filter((g) => g.parentCode === c.code)
      expect(grids.length).toBeGreaterThanOrEqual(1)
      expect(c.population).toBe(sum(grids.map((g) => g.population)))
      grids.forEach((g, k) => {
        expect(g.code).toMatch(/^\d{15}$/)
        expect(g.code).toBe(c.code + String(k + 1).padStart(3, '0'))
        expect(g.name).toBe(`${c.name}第${k + 1}网格`)
        expect(g.worker.id).toBe('W' + g.code)
        expect(g.worker.phone).toMatch(/^1\d{10}$/)
      })
    }
    for (const s of city.streets)
      expect(s.population).toBe(
        sum(city.communities.filter((c) => c.parentCode === s.code).map((c) => c.population)),
      )
    expect(city.district.population).toBe(40_003)
    // urban communities are denser than villages
    const density = (code: string) => {
      const c = city.communities.find((x) => x.code === code)!
      return c.population / c.areaM2
    }
    expect(density('999901001001')).toBeGreaterThan(density('999901100201'))
    // arrays sorted by code
    const codes = city.grids.map((g) => g.code)
    expect([...codes].sort()).toEqual(codes)
  })

  it('numbers grids north → south, west → east inside each community', () => {
    for (const c of city.communities) {
      const grids = city.grids.filter((g) => g.parentCode === c.code)
      const b = bboxOf(c.geometry)
      const { band } = rowBands(
        grids.map((g) => g.centroid),
        [b.minX, b.minY, b.maxX, b.maxY],
      )
      for (let k = 1; k < grids.length; k++) {
        expect(band[k]!).toBeGreaterThanOrEqual(band[k - 1]!)
        if (band[k] === band[k - 1])
          expect(grids[k]!.centroid[0]).toBeGreaterThanOrEqual(grids[k - 1]!.centroid[0])
      }
    }
  })

  it('facilities lie inside their grid', () => {
    expect(city.facilities.filter((f) => f.kind === 'police')).toHaveLength(5)
    for (const f of city.facilities) {
      const grid = city.grids.find((g) => g.code === f.gridCode)!
      expect(grid.parentCode).toBe(f.communityCode)
      expect(pointInMulti([f.lng, f.lat], grid.geometry)).toBe(true)
    }
  })

  it('is byte-identical for the same seed', () => {
    expect(serializeCity(build(1))).toBe(serializeCity(city))
    expect(serializeCity(build(2))).not.toBe(serializeCity(city))
  })
})
