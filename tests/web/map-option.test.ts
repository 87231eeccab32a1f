import { describe, expect, it } from 'vitest'
import {
  CLASS_COLORS,
  buildLiveOption,
  buildOverdueUpdate,
  buildPulseUpdate,
  buildViewUpdate,
  buildWorkersUpdate,
  classBounds,
  classLegend,
  classOf,
  createBaseLayer,
  createGridLayer,
  frameMap,
  markerSite,
  type Bounds,
} from '../../web/src/charts/map-option.ts'
import type { GridAggregate } from '../../shared/live.ts'

const grids: GridAggregate[] = [
  ['430602001001001', 3, 0, 5, 2],
  ['430602001001002', 7, 2, 1, 0],
  ['430602001001003', 0, 0, 0, 1],
]
const centroids = new Map<string, [number, number]>([
  ['430602001001001', [113.1, 29.3]],
  ['430602001001002', [113.2, 29.4]],
  ['430602001001003', [113.3, 29.5]],
])
const bounds: Bounds = [
  [113, 29],
  [114, 30],
]
const square = (x: number, y: number): [number, number][] => [
  [x, y],
  [x + 0.1, y],
  [x + 0.1, y + 0.1],
  [x, y + 0.1],
  [x, y],
]
const features = grids.map((g, i) => ({ code: g[0], rings: [square(113 + i * 0.2, 29.2)] }))

/** Call a custom series' renderItem for every item, with a projection that doubles coordinates. */
function render(option: unknown) {
  const s = (option as { series: { renderItem: (...a: unknown[]) => unknown; data: unknown[] }[] }).series[0]!
  return (data: unknown[]) =>
    data.map((_, dataIndex) => s.renderItem({ dataIndex }, { coord: (p: number[]) => p.map((v) => v * 2) }))
}

describe('colour classes', () => {
  it('keep 0 apart, use single values up to 5, then round steps covering the largest value', () => {
    expect(classBounds(0)).toEqual([1, 2, 3, 4])
    expect(classBounds(5)).toEqual([1, 2, 3, 4])
    expect(classBounds(9)).toEqual([2, 4, 6, 8])
    expect(classBounds(37)).toEqual([10, 20, 30, 40])
    const b = classBounds(9)
    expect([0, 1, 2, 3, 8, 9, 100].map((v) => classOf(v, b))).toEqual([0, 1, 1, 2, 4, 5, 5])
  })

  it('label every class for the legend, one colour each', () => {
    expect(classLegend([1, 2, 3, 4]).map((r) => r.label)).toEqual(['0', '1', '2', '3', '4', '≥ 5'])
    const rows = classLegend([2, 4, 6, 8])
    expect(rows.map((r) => r.label)).toEqual(['0', '1–2', '3–4', '5–6', '7–8', '≥ 9'])
    expect(rows.map((r) => r.color)).toEqual(CLASS_COLORS)
  })
})

describe('createGridLayer', () => {
  it('classifies every grid by the chosen measure and draws each class as one path', () => {
    const layer = createGridLayer(features, bounds, 16)
    const u = layer.update(grids, 'reported')
    expect(grids.map((g) => [g[0], layer.classOf(g[0])])).toEqual([
      ['430602001001001', 5],
      ['430602001001002', 1],
      ['430602001001003', 0],
    ])
    const data = (u.option as { series: { id: string; data: unknown[] }[] }).series[0]!.data
    const items = render(layer.option())(data) as {
      shape: { polys: number[][][] }
      style: { fill: string | null; stroke: string }
    }[]
    // One item per class plus the overdue outline; each grid's ring lands in its class's path, projected.
    expect(items).toHaveLength(CLASS_COLORS.length + 1)
    expect(items[5]!.shape.polys).toEqual([square(113, 29.2).map((p) => p.map((v) => v * 2))])
    expect(items[1]!.shape.polys).toHaveLength(1)
    expect(items[0]!.shape.polys).toHaveLength(1)
    expect(items[2]!.shape.polys).toHaveLength(0)
    expect(items[5]!.style.fill).toBe(CLASS_COLORS[5])
  })

  it('outlines in red only the grids with overdue events, whatever the measure', () => {
    const layer = createGridLayer(features, bounds, 16)
    const u = layer.update(grids, 'patrol')
    const data = (u.option as { series: { data: unknown[] }[] }).series[0]!.data
    const items = render(layer.option())(data) as { shape: { polys: number[][][] }; style: { fill: null } }[]
    const outline = items.at(-1)!
    expect(outline.style.fill).toBeNull()
    expect(outline.shape.polys).toEqual([square(113.2, 29.2).map((p) => p.map((v) => v * 2))])
  })

  it('reclassifies when the measure changes', () => {
    const layer = createGridLayer(features, bounds, 16)
    layer.update(grids, 'open')
    expect(layer.classOf('430602001001002')).toBe(4)
    layer.update(grids, 'overdue')
    expect(layer.classOf('430602001001002')).toBe(2)
  })
})

describe('buildOverdueUpdate', () => {
  // Each grid a 0.1° square from its centroid.
  const box = (c: [number, number]): Bounds => [c, [c[0] + 0.1, c[1] + 0.1]]
  const sites = new Map([...centroids].map(([code, c]) => [code, markerSite(c, box(c))]))

  it('marks only grids with overdue events and blinks them from tick to tick', () => {
    type O = { series: { id: string; data: number[][]; itemStyle: { opacity: number } }[] }
    const on = buildOverdueUpdate(grids, sites, true, 20, null) as O
    const off = buildOverdueUpdate(grids, sites, false, 20, null) as O
    expect(on.series[0]!.data.map((d) => d.slice(0, 3))).toEqual([[113.2, 29.4, 2]])
    expect(off.series[0]!.data).toEqual(on.series[0]!.data)
    expect(on.series[0]!.itemStyle.opacity).toBeGreaterThan(off.series[0]!.itemStyle.opacity)
  })

  it('fits each marker to its grid on screen, between half and the full marker size', () => {
    const sizeAt = (pxPerDegree: [number, number] | null) =>
      (buildOverdueUpdate(grids, sites, true, 20, pxPerDegree) as { series: { data: number[][] }[] })
        .series[0]!.data[0]![3]
    // The grid is 0.1° square: 2 px per degree draws it 0.2 px wide, 1,000 px per degree 100 px.
    expect(sizeAt(null)).toBe(22)
    expect(sizeAt([1000, 1000])).toBe(22)
    expect(sizeAt([2, 2])).toBe(10)
    // 150 × 120 px per degree: a box of 15 × 12 px, the marker 90% of its narrower side.
    expect(sizeAt([150, 120])).toBe(11)
    expect(sizeAt([160, 200])).toBe(14)
  })

  it('takes half of each grid’s box for its size', () => {
    expect(markerSite([113.05, 29.05], box([113, 29])).half.map((v) => +v.toFixed(6))).toEqual([0.05, 0.05])
  })
})

describe('buildPulseUpdate', () => {
  it('grows and fades a new event ring over its first seconds', () => {
    type P = { series: { data: { symbolSize: number; itemStyle: { opacity: number } }[] }[] }
    const at = 1_000_000
    const young = (buildPulseUpdate([{ lng: 1, lat: 2, at }], at + 1000, 16) as P).series[0]!.data[0]!
    const old = (buildPulseUpdate([{ lng: 1, lat: 2, at }], at + 10_000, 16) as P).series[0]!.data[0]!
    expect(old.symbolSize).toBeGreaterThan(young.symbolSize)
    expect(old.itemStyle.opacity).toBeLessThan(young.itemStyle.opacity)
  })
})

describe('the stacked map charts', () => {
  type O = { series: { id: string }[]; geo: { id: string; map: string; boundingCoords: Bounds }[] }
  const baseLayer = createBaseLayer({
    bounds,
    streets: [[square(113, 29)]],
    facilities: [
      { kind: 'clinic', name: 'a', lng: 113.1, lat: 29.1 },
      { kind: 'school', name: 'b', lng: 113.2, lat: 29.2 },
    ],
    kinds: ['clinic', 'school'],
    facilityLabels: { clinic: '医疗卫生', school: '学校' },
    fontSize: 16,
  })
  const base = baseLayer.option() as O
  const live = buildLiveOption(bounds, 16) as O
  const grid = createGridLayer(features, bounds, 16).option() as O

  it('declare stable series ids so updates merge into charts created once', () => {
    expect(base.series.map((s) => s.id)).toEqual(['streets', 'focus', 'facility-clinic', 'facility-school'])
    expect(live.series.map((s) => s.id)).toEqual(['workers', 'pulse', 'overdue'])
    expect(grid.series.map((s) => s.id)).toEqual(['grids'])
  })

  it('share one frame geo, so a coordinate lands on the same pixel in all three', () => {
    const geos = [base, live, grid].map((o) => o.geo)
    for (const g of geos) expect(g).toEqual(geos[0])
    expect(geos[0]![0]!.boundingCoords).toEqual(bounds)
    const frame = frameMap(bounds).features[0]!.geometry.coordinates[0]!
    expect(frame[0]).toEqual([113, 29])
    expect(frame[2]).toEqual([114, 30])
  })

  it('outline the street the tour shows, and nothing once it is back on the district', () => {
    const on = baseLayer.focus([square(113.5, 29.5)]) as { series: { id: string; data: unknown[] }[] }
    expect(on.series[0]).toMatchObject({ id: 'focus', data: [[0]] })
    const [item] = render({ series: [base.series[1]] })(on.series[0]!.data) as {
      shape: { polys: number[][][] }
    }[]
    expect(item!.shape.polys).toEqual([square(113.5, 29.5).map((p) => p.map((v) => v * 2))])
    const off = baseLayer.focus(null) as { series: { data: unknown[] }[] }
    expect(off.series[0]!.data).toEqual([])
  })

  it('move together for the tour', () => {
    const u = buildViewUpdate({ center: [113.1, 29.3], zoom: 3 }) as { geo: { id: string; zoom: number }[] }
    expect(u.geo).toEqual([{ id: 'frame', center: [113.1, 29.3], zoom: 3 }])
  })

  it('hand worker positions to the large scatter as they are (no per-point objects)', () => {
    const pts = new Float64Array([113.1, 29.3, 113.2, 29.4])
    const u = buildWorkersUpdate(pts) as { series: { id: string; data: unknown }[] }
    expect(u.series[0]!.data).toBe(pts)
  })
})
