import { describe, expect, it } from 'vitest'
import {
  buildGridUpdate,
  buildMapOption,
  buildOverdueUpdate,
  buildPulseUpdate,
  buildViewUpdate,
  buildWorkersUpdate,
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
type Update = { visualMap: { max: number }; series: { id: string; data: unknown[] }[] }

describe('buildGridUpdate', () => {
  it('colours every grid by the chosen measure and scales the legend to the largest value', () => {
    const u = buildGridUpdate(grids, 'reported') as Update
    const data = u.series.find((s) => s.id === 'grids')!.data as { name: string; value: number }[]
    expect(data.map((d) => [d.name, d.value])).toEqual([
      ['430602001001001', 5],
      ['430602001001002', 1],
      ['430602001001003', 0],
    ])
    expect(u.visualMap.max).toBe(5)
    expect((buildGridUpdate(grids, 'open') as Update).visualMap.max).toBe(7)
  })

  it('outlines in red only the grids with overdue events', () => {
    const data = (buildGridUpdate(grids, 'open') as Update).series[0]!.data as {
      name: string
      itemStyle?: object
    }[]
    expect(data.filter((d) => d.itemStyle).map((d) => d.name)).toEqual(['430602001001002'])
  })
})

describe('buildOverdueUpdate', () => {
  it('marks only grids with overdue events and blinks them from tick to tick', () => {
    type O = { series: { id: string; data: unknown[]; itemStyle: { opacity: number } }[] }
    const on = buildOverdueUpdate(grids, centroids, true) as O
    const off = buildOverdueUpdate(grids, centroids, false) as O
    expect(on.series[0]!.data).toEqual([[113.2, 29.4, 2]])
    expect(off.series[0]!.data).toEqual([[113.2, 29.4, 2]])
    expect(on.series[0]!.itemStyle.opacity).toBeGreaterThan(off.series[0]!.itemStyle.opacity)
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

describe('buildMapOption', () => {
  it('declares stable series ids so updates merge into the chart created once', () => {
    const o = buildMapOption({
      gridsMap: 'g',
      streetsMap: 's',
      bounding: [
        [113, 29],
        [114, 30],
      ],
      facilities: [
        { kind: 'clinic', name: 'a', lng: 113.1, lat: 29.1 },
        { kind: 'school', name: 'b', lng: 113.2, lat: 29.2 },
      ],
      facilityLabels: { clinic: '医疗卫生', school: '学校' },
      measureLabel: '待办事件',
      fontSize: 16,
    }) as { series: { id: string }[]; geo: { id: string }[] }
    expect(o.series.map((s) => s.id)).toEqual([
      'grids',
      'overdue',
      'workers',
      'pulse',
      'facility-clinic',
      'facility-school',
    ])
    expect(o.geo.map((g) => g.id)).toEqual(['grids', 'streets'])
  })

  it('moves both map layers together for the tour', () => {
    const u = buildViewUpdate({ center: [113.1, 29.3], zoom: 3 }) as { geo: { id: string; zoom: number }[] }
    expect(u.geo.map((g) => [g.id, g.zoom])).toEqual([
      ['grids', 3],
      ['streets', 3],
    ])
  })

  it('hands worker positions to the large scatter as they are (no per-point objects)', () => {
    const pts = new Float64Array([113.1, 29.3, 113.2, 29.4])
    const u = buildWorkersUpdate(pts) as { series: { id: string; data: unknown }[] }
    expect(u.series[0]!.data).toBe(pts)
  })
})
