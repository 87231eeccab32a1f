/**
 * Pure ECharts option builders for the district map (tested in node, no DOM). Stable series ids so
 * updates merge into the chart created once: grids (choropleth), overdue (flashing red), workers
 * (large scatter), pulse (new events), facilities (one series per kind). Layers (zlevel, one canvas
 * each, repainted only when their own content changes): 0 map and facilities, 1 workers, 2 pulses,
 * 3 overdue ripples.
 */
import type { EChartsCoreOption } from 'echarts/core'
import type { GridAggregate } from '../../../shared/live.ts'
import { CATEGORICAL, SEQUENTIAL, THEME } from './palette.ts'

export type Measure = 'open' | 'overdue' | 'reported' | 'patrol'
export const MEASURES: Measure[] = ['open', 'overdue', 'reported', 'patrol']
const MEASURE_INDEX: Record<Measure, 1 | 2 | 3 | 4> = { open: 1, overdue: 2, reported: 3, patrol: 4 }

export interface FacilityPoint {
  kind: string
  name: string
  lng: number
  lat: number
}

export interface MapBase {
  gridsMap: string
  streetsMap: string
  bounding: [[number, number], [number, number]]
  facilities: FacilityPoint[]
  facilityLabels: Record<string, string>
  measureLabel: string
  fontSize: number
}

export interface MapView {
  center?: [number, number]
  zoom?: number
}

const geo = (map: string, view: MapView, over: boolean) => ({
  id: over ? 'streets' : 'grids',
  map,
  nameProperty: 'code',
  roam: false,
  silent: over,
  z: over ? 3 : 1,
  layoutCenter: ['50%', '50%'],
  layoutSize: '96%',
  aspectScale: 0.86,
  ...(view.center ? { center: view.center } : {}),
  zoom: view.zoom ?? 1,
  itemStyle: over
    ? { areaColor: 'transparent', borderColor: 'rgba(200,220,255,0.85)', borderWidth: 1.6 }
    : { areaColor: '#14233a', borderColor: 'rgba(120,150,190,0.35)', borderWidth: 0.5 },
  emphasis: { disabled: true },
  label: { show: false },
})

/** The whole option, set once when the chart is created. */
export function buildMapOption(base: MapBase, view: MapView = {}): EChartsCoreOption {
  const kinds = [...new Set(base.facilities.map((f) => f.kind))]
  return {
    backgroundColor: 'transparent',
    animation: false,
    geo: [
      { ...geo(base.gridsMap, view, false), boundingCoords: base.bounding },
      { ...geo(base.streetsMap, view, true), boundingCoords: base.bounding },
    ],
    visualMap: {
      id: 'measure',
      seriesIndex: 0,
      min: 0,
      max: 5,
      calculable: false,
      orient: 'vertical',
      left: '1%',
      bottom: '3%',
      itemHeight: base.fontSize * 8,
      text: [base.measureLabel, ''],
      textStyle: { color: THEME.muted, fontSize: base.fontSize },
      inRange: { color: SEQUENTIAL },
    },
    legend: {
      bottom: '1%',
      right: '1%',
      orient: 'vertical',
      textStyle: { color: THEME.muted, fontSize: base.fontSize * 0.85 },
      itemWidth: base.fontSize * 0.8,
      itemHeight: base.fontSize * 0.8,
      data: kinds.map((k) => base.facilityLabels[k] ?? k),
    },
    series: [
      { id: 'grids', type: 'map', geoIndex: 0, data: [] },
      {
        id: 'overdue',
        type: 'effectScatter',
        coordinateSystem: 'geo',
        geoIndex: 0,
        z: 6,
        zlevel: 3,
        symbolSize: base.fontSize * 0.9,
        rippleEffect: { scale: 3.2, period: 1.6, brushType: 'stroke' },
        itemStyle: { color: THEME.alarm },
        data: [],
      },
      {
        id: 'workers',
        type: 'scatter',
        coordinateSystem: 'geo',
        geoIndex: 0,
        // Own canvas layer: moving 6,000 points repaints this layer only, never the 652 polygons.
        zlevel: 1,
        large: true,
        largeThreshold: 500,
        symbolSize: Math.max(2, base.fontSize * 0.22),
        itemStyle: { color: '#d7e9ff', opacity: 0.85 },
        z: 4,
        silent: true,
        data: new Float64Array(0),
      },
      {
        id: 'pulse',
        type: 'effectScatter',
        coordinateSystem: 'geo',
        geoIndex: 0,
        z: 7,
        zlevel: 2,
        symbolSize: base.fontSize * 0.7,
        rippleEffect: { scale: 4, period: 2.4, brushType: 'stroke' },
        itemStyle: { color: '#f0e442' },
        data: [],
      },
      ...kinds.map((k, i) => ({
        id: `facility-${k}`,
        name: base.facilityLabels[k] ?? k,
        type: 'scatter',
        coordinateSystem: 'geo',
        geoIndex: 0,
        symbol: ['circle', 'rect', 'triangle', 'diamond', 'pin', 'roundRect'][i % 6],
        symbolSize: base.fontSize * 0.42,
        itemStyle: { color: CATEGORICAL[i % CATEGORICAL.length], opacity: 0.75 },
        z: 5,
        silent: true,
        data: base.facilities.filter((f) => f.kind === k).map((f) => [f.lng, f.lat]),
      })),
    ],
  }
}

/** Choropleth values and the flashing overdue layer, from the grid aggregates. */
export function buildGridUpdate(
  grids: Iterable<GridAggregate>,
  measure: Measure,
  centroids: Map<string, [number, number]>,
  flashOn: boolean,
): EChartsCoreOption {
  const idx = MEASURE_INDEX[measure]
  const data: { name: string; value: number; itemStyle?: object }[] = []
  const overdue: [number, number, number][] = []
  let max = 1
  for (const g of grids) {
    const value = g[idx]
    if (value > max) max = value
    const late = g[2] > 0
    data.push({
      name: g[0],
      value,
      ...(late && flashOn ? { itemStyle: { borderColor: THEME.alarm, borderWidth: 2.2 } } : {}),
    })
    const c = centroids.get(g[0])
    if (late && c) overdue.push([c[0], c[1], g[2]])
  }
  return {
    visualMap: { id: 'measure', max },
    series: [
      { id: 'grids', data },
      { id: 'overdue', data: overdue },
    ],
  }
}

export function buildWorkersUpdate(points: Float64Array): EChartsCoreOption {
  return { series: [{ id: 'workers', data: points }] }
}

export function buildPulseUpdate(pulses: { lng: number; lat: number }[]): EChartsCoreOption {
  return { series: [{ id: 'pulse', data: pulses.map((p) => [p.lng, p.lat]) }] }
}

export function buildViewUpdate(view: MapView): EChartsCoreOption {
  const g = { center: view.center ?? null, zoom: view.zoom ?? 1 }
  return {
    geo: [
      { id: 'grids', ...g },
      { id: 'streets', ...g },
    ],
  }
}
