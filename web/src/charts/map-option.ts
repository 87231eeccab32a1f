/**
 * Pure ECharts option builders for the district map (tested in node, no DOM). Stable series ids so
 * updates merge into the chart created once: grids (choropleth), overdue (flashing red), workers
 * (large scatter), pulse (new events), facilities (one series per kind). Layers (zlevel, one canvas
 * each, repainted only when their own content changes): 0 map and facilities, 1 workers, 2 pulses,
 * 3 overdue markers. No ripple effects: they repaint at 60 fps; the tick animates instead.
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
        // Flashing red (闪红灯): a plain scatter blinked by the once-a-second tick; ripple effects
        // would repaint the chart 60 times a second for weeks.
        id: 'overdue',
        type: 'scatter',
        coordinateSystem: 'geo',
        geoIndex: 0,
        z: 6,
        zlevel: 3,
        silent: true,
        symbolSize: base.fontSize * 1.1,
        itemStyle: { color: THEME.alarm, borderColor: '#ffd0cc', borderWidth: 1.5 },
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
        type: 'scatter',
        coordinateSystem: 'geo',
        geoIndex: 0,
        z: 7,
        zlevel: 2,
        silent: true,
        symbolSize: base.fontSize * 0.8,
        itemStyle: { color: 'transparent', borderColor: '#f0e442', borderWidth: 2.5 },
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

/** Choropleth values (overdue grids outlined in red), from the grid aggregates. */
export function buildGridUpdate(grids: Iterable<GridAggregate>, measure: Measure): EChartsCoreOption {
  const idx = MEASURE_INDEX[measure]
  const data: { name: string; value: number; itemStyle?: object }[] = []
  let max = 1
  for (const g of grids) {
    const value = g[idx]
    if (value > max) max = value
    data.push({
      name: g[0],
      value,
      ...(g[2] > 0 ? { itemStyle: { borderColor: THEME.alarm, borderWidth: 2 } } : {}),
    })
  }
  return { visualMap: { id: 'measure', max }, series: [{ id: 'grids', data }] }
}

/** The flashing markers on grids with overdue events: shown on one tick, dimmed on the next. */
export function buildOverdueUpdate(
  grids: Iterable<GridAggregate>,
  centroids: Map<string, [number, number]>,
  flashOn: boolean,
): EChartsCoreOption {
  const data: [number, number, number][] = []
  for (const g of grids) {
    const c = g[2] > 0 ? centroids.get(g[0]) : undefined
    if (c) data.push([c[0], c[1], g[2]])
  }
  return { series: [{ id: 'overdue', data, itemStyle: { opacity: flashOn ? 1 : 0.25 } }] }
}

export function buildWorkersUpdate(points: Float64Array): EChartsCoreOption {
  return { series: [{ id: 'workers', data: points }] }
}

/** New events: rings that grow and fade over their first seconds, redrawn by the tick. */
export function buildPulseUpdate(
  pulses: { lng: number; lat: number; at: number }[],
  now: number,
  fontSize: number,
): EChartsCoreOption {
  return {
    series: [
      {
        id: 'pulse',
        data: pulses.map((p) => {
          const age = Math.min(1, Math.max(0, (now - p.at) / 12_000))
          return {
            value: [p.lng, p.lat],
            symbolSize: fontSize * (0.6 + 2.4 * age),
            itemStyle: { opacity: 1 - age },
          }
        }),
      },
    ],
  }
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
