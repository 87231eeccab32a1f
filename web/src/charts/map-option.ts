/**
 * The district map: three ECharts instances stacked over one another, each with the same invisible
 * frame geo (same bounding box, layout and view), so one coordinate maps to one pixel in all three.
 * ECharts re-renders every series of a chart on any `setOption`, so what changes at different rates
 * lives in different charts:
 *   - base: street outlines and facilities. Set once; touched again only by the tour's view changes.
 *   - grids: the choropleth, drawn as one path per colour class (7 paths, not 652 polygons), plus the
 *     red outline of grids with overdue events. Set only when the grid figures or the measure change.
 *   - live: worker positions (one large scatter), pulses of new events, the flashing overdue markers
 *     (闪红灯). Set by the once-a-second tick.
 * No ripple effects (they repaint at 60 fps); the tick animates instead. Pure builders, tested in node.
 */
import type { EChartsCoreOption } from 'echarts/core'
import type { GridAggregate } from '../../../shared/live.ts'
import { CATEGORICAL, SEQUENTIAL, THEME } from './palette.ts'

export type Measure = 'open' | 'overdue' | 'reported' | 'patrol'
export const MEASURES: Measure[] = ['open', 'overdue', 'reported', 'patrol']
const MEASURE_INDEX: Record<Measure, 1 | 2 | 3 | 4> = { open: 1, overdue: 2, reported: 3, patrol: 4 }

/** The name of the custom shape (registered in `echarts.ts`): many closed rings in one path. */
export const MULTI_POLYGON = 'cbMultiPolygon'
/** The invisible map every layer's geo draws: one rectangle, the district's bounding box. */
export const FRAME_MAP = 'cb-frame'

export type Bounds = [[number, number], [number, number]]
type Ring = [number, number][]
type Pixel = number[]

export interface FacilityPoint {
  kind: string
  name: string
  lng: number
  lat: number
}

export interface MapView {
  center?: [number, number]
  zoom?: number
}

/** The symbol of each facility kind, in order of first appearance (the legend uses the same). */
export const FACILITY_SYMBOLS = ['circle', 'rect', 'triangle', 'diamond', 'pin', 'roundRect'] as const
export const facilityColor = (i: number): string => CATEGORICAL[i % CATEGORICAL.length]!

/** The frame map to register under FRAME_MAP: a rectangle over the bounding box. */
export function frameMap(b: Bounds) {
  const [[x0, y0], [x1, y1]] = b
  return {
    type: 'FeatureCollection',
    features: [
      {
        type: 'Feature',
        properties: { name: 'frame' },
        geometry: {
          type: 'Polygon',
          coordinates: [
            [
              [x0, y0],
              [x1, y0],
              [x1, y1],
              [x0, y1],
              [x0, y0],
            ],
          ],
        },
      },
    ],
  }
}

/** The geo every layer shares: invisible, silent, same layout and view. */
function frameGeo(bounds: Bounds, view: MapView) {
  return {
    id: 'frame',
    map: FRAME_MAP,
    roam: false,
    silent: true,
    boundingCoords: bounds,
    layoutCenter: ['50%', '50%'],
    layoutSize: '96%',
    aspectScale: 0.86,
    ...(view.center ? { center: view.center } : {}),
    zoom: view.zoom ?? 1,
    itemStyle: { areaColor: 'transparent', borderWidth: 0 },
    emphasis: { disabled: true },
    select: { disabled: true },
    label: { show: false },
  }
}

/** What all three charts share: transparent, no animation, the frame geo. */
const chartOf = (bounds: Bounds, view: MapView, series: object[]): EChartsCoreOption => ({
  backgroundColor: 'transparent',
  animation: false,
  geo: [frameGeo(bounds, view)],
  series,
})

/** What a custom series' renderItem gets (the part used here). */
interface RenderParams {
  dataIndex: number
}
interface RenderApi {
  coord: (lngLat: number[]) => Pixel
}

/** Outer rings of a MultiPolygon's coordinates (holes do not occur in the generated partition). */
export const outerRings = (coordinates: number[][][][]): Ring[] => coordinates.map((poly) => poly[0] as Ring)

/**
 * Rings projected to pixels, recomputed only when the projection changed (resize, tour): the pixel
 * positions of two reference corners tell.
 */
function projector(rings: Ring[][], bounds: Bounds) {
  let key = ''
  let pixels: Pixel[][][] = []
  return (api: RenderApi): Pixel[][][] => {
    const a = api.coord(bounds[0])
    const b = api.coord(bounds[1])
    const k = `${a[0]},${a[1]},${b[0]},${b[1]}`
    if (k !== key) {
      key = k
      pixels = rings.map((rs) => rs.map((r) => r.map((p) => api.coord(p))))
    }
    return pixels
  }
}

// ---------------------------------------------------------------------------------------------
// Base chart: street outlines and facilities.

export interface BaseLayer {
  bounds: Bounds
  streets: Ring[][]
  facilities: FacilityPoint[]
  /** Facility kinds, in legend order. */
  kinds: string[]
  facilityLabels: Record<string, string>
  fontSize: number
}

export interface BaseChart {
  /** The chart's whole option, set once. */
  option(view?: MapView): EChartsCoreOption
  /** Outline one street (the tour), or none. */
  focus(rings: Ring[] | null): EChartsCoreOption
}

export function createBaseLayer(base: BaseLayer): BaseChart {
  const project = projector(base.streets, base.bounds)
  let focus: Ring[] = []
  const option = (view: MapView = {}): EChartsCoreOption =>
    chartOf(base.bounds, view, [
      {
        id: 'streets',
        type: 'custom',
        coordinateSystem: 'geo',
        silent: true,
        z: 2,
        renderItem: (_: RenderParams, api: RenderApi) => ({
          type: MULTI_POLYGON,
          shape: { polys: project(api).flat() },
          style: {
            fill: null,
            stroke: 'rgba(200,220,255,0.85)',
            lineWidth: Math.max(1.2, base.fontSize / 10),
          },
        }),
        data: [[0]],
      },
      {
        // The street the tour shows, outlined bright (empty while the district is shown).
        id: 'focus',
        type: 'custom',
        coordinateSystem: 'geo',
        silent: true,
        z: 8,
        renderItem: (_: RenderParams, api: RenderApi) => ({
          type: MULTI_POLYGON,
          shape: { polys: focus.map((r) => r.map((p) => api.coord(p))) },
          style: {
            fill: 'rgba(240,228,66,0.08)',
            stroke: '#f0e442',
            lineWidth: Math.max(2.5, base.fontSize / 5),
          },
        }),
        data: [],
      },
      ...base.kinds.map((k, i) => ({
        id: `facility-${k}`,
        name: base.facilityLabels[k] ?? k,
        type: 'scatter',
        coordinateSystem: 'geo',
        symbol: FACILITY_SYMBOLS[i % FACILITY_SYMBOLS.length],
        symbolSize: base.fontSize * 0.42,
        itemStyle: { color: facilityColor(i), opacity: 0.75 },
        z: 5,
        silent: true,
        data: base.facilities.filter((f) => f.kind === k).map((f) => [f.lng, f.lat]),
      })),
    ])
  return {
    option,
    focus(rings) {
      focus = rings ?? []
      return { series: [{ id: 'focus', data: rings ? [[0]] : [] }] }
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Grids chart: the choropleth in colour classes.

/** Class 0 is "none" (value 0); classes 1–5 take the sequential palette. */
export const CLASS_COLORS = ['#101b2d', ...SEQUENTIAL]
const CLASSES = CLASS_COLORS.length
/** The renderItem index of the overdue outline, after the colour classes. */
const OVERDUE_ITEM = CLASSES

const NICE_STEPS = [1, 2, 3, 4, 5, 10, 15, 20, 25, 50, 100, 200, 250, 500, 1000]

/**
 * Upper bounds of classes 1–4 (class 5 is everything above): single values while the largest value
 * is at most 5, otherwise equal steps of a round size covering the largest value.
 */
export function classBounds(max: number): number[] {
  const need = Math.max(1, Math.ceil(max / (CLASSES - 1)))
  const step = NICE_STEPS.find((s) => s >= need) ?? Math.pow(10, Math.ceil(Math.log10(need)))
  return Array.from({ length: CLASSES - 2 }, (_, i) => (i + 1) * step)
}

export function classOf(value: number, bounds: number[]): number {
  if (value <= 0) return 0
  for (let i = 0; i < bounds.length; i++) if (value <= bounds[i]!) return i + 1
  return bounds.length + 1
}

/** Legend rows: colour and the values of each class ("0", "1", "2–3", "≥ 9"). */
export function classLegend(bounds: number[]): { color: string; label: string }[] {
  const rows = [{ color: CLASS_COLORS[0]!, label: '0' }]
  let lo = 1
  for (let i = 0; i < bounds.length; i++) {
    const hi = bounds[i]!
    rows.push({ color: CLASS_COLORS[i + 1]!, label: hi === lo ? `${hi}` : `${lo}–${hi}` })
    lo = hi + 1
  }
  rows.push({ color: CLASS_COLORS[CLASSES - 1]!, label: `≥ ${lo}` })
  return rows
}

export interface GridLayer {
  /** The chart's whole option, set once. */
  option(view?: MapView): EChartsCoreOption
  /** Classify the grids by the measure: the option update to set and the legend it implies. */
  update(
    grids: Iterable<GridAggregate>,
    measure: Measure,
  ): { option: EChartsCoreOption; legend: { color: string; label: string }[] }
  /** The colour class a grid got from the last update. */
  classOf(code: string): number | undefined
}

export function createGridLayer(
  features: { code: string; rings: Ring[] }[],
  bounds: Bounds,
  fontSize: number,
): GridLayer {
  const index = new Map(features.map((f, i) => [f.code, i]))
  const cls = new Uint8Array(features.length)
  const overdue = new Uint8Array(features.length)
  const project = projector(
    features.map((f) => f.rings),
    bounds,
  )
  const renderItem = (params: RenderParams, api: RenderApi) => {
    const pixels = project(api)
    const c = params.dataIndex
    const polys: Pixel[][] = []
    for (let i = 0; i < features.length; i++)
      if (c === OVERDUE_ITEM ? overdue[i] : cls[i] === c) for (const r of pixels[i]!) polys.push(r)
    return {
      type: MULTI_POLYGON,
      shape: { polys },
      style:
        c === OVERDUE_ITEM
          ? { fill: null, stroke: THEME.alarm, lineWidth: Math.max(2, fontSize / 7) }
          : { fill: CLASS_COLORS[c], stroke: 'rgba(120,150,190,0.35)', lineWidth: 0.6 },
    }
  }
  const items = Array.from({ length: CLASSES + 1 }, (_, i) => [i])
  return {
    option: (view = {}) =>
      chartOf(bounds, view, [
        { id: 'grids', type: 'custom', coordinateSystem: 'geo', silent: true, renderItem, data: [] },
      ]),
    update(grids, measure) {
      const idx = MEASURE_INDEX[measure]
      const list = [...grids]
      let max = 0
      // A figure the token may not see (null) is drawn as no activity.
      for (const g of list) max = Math.max(max, g[idx] ?? 0)
      const b = classBounds(max)
      cls.fill(0)
      overdue.fill(0)
      for (const g of list) {
        const i = index.get(g[0])
        if (i === undefined) continue
        cls[i] = classOf(g[idx] ?? 0, b)
        overdue[i] = g[2] > 0 ? 1 : 0
      }
      return { option: { series: [{ id: 'grids', data: items }] }, legend: classLegend(b) }
    },
    classOf(code) {
      const i = index.get(code)
      return i === undefined ? undefined : cls[i]
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Live chart: workers, pulses, overdue markers.

export function buildLiveOption(bounds: Bounds, fontSize: number, view: MapView = {}): EChartsCoreOption {
  return chartOf(bounds, view, [
    {
      // One large scatter: all positions drawn as one path. (A custom series drawing them as one
      // path measured no faster: the cost is filling 6,000 marks, not the data pipeline.)
      id: 'workers',
      type: 'scatter',
      coordinateSystem: 'geo',
      // A typed array carries no names: ECharts needs its two dimensions spelled out.
      dimensions: ['lng', 'lat'],
      large: true,
      largeThreshold: 500,
      // Squares: on a large screen (marks of 4 px and more, where ECharts stops filling plain
      // rectangles) a square is four line segments where a circle is four curves, for 6,000 marks.
      symbol: 'rect',
      symbolSize: Math.max(2.5, fontSize * 0.22),
      itemStyle: { color: '#d7e9ff', opacity: 0.85 },
      z: 4,
      silent: true,
      data: new Float64Array(0),
    },
    {
      id: 'pulse',
      type: 'scatter',
      coordinateSystem: 'geo',
      z: 7,
      silent: true,
      symbolSize: fontSize * 0.8,
      itemStyle: { color: 'transparent', borderColor: '#f0e442', borderWidth: 2.5 },
      data: [],
    },
    {
      // Flashing red (闪红灯): a plain scatter blinked by the once-a-second tick.
      id: 'overdue',
      type: 'scatter',
      coordinateSystem: 'geo',
      z: 6,
      silent: true,
      // Each marker's own size, fitted to its grid (see buildOverdueUpdate).
      symbolSize: (value: number[]) => value[3]!,
      itemStyle: { color: THEME.alarm, borderColor: '#ffd0cc', borderWidth: 1.5 },
      data: [],
    },
  ])
}

/** Where a grid's overdue marker goes: its centroid, and the half-size of its box in degrees. */
export interface MarkerSite {
  at: [number, number]
  half: [number, number]
}

export function markerSite(centroid: [number, number], box: Bounds): MarkerSite {
  const [[x0, y0], [x1, y1]] = box
  return { at: centroid, half: [(x1 - x0) / 2, (y1 - y0) / 2] }
}

/**
 * The flashing markers on grids with overdue events: shown on one tick, dimmed on the next. Each is
 * at most `fontSize * 1.1` across and no larger than its grid on screen (`pxPerDegree` of the map as
 * it is drawn now), down to half that: in the district centre, where grids are small, the markers
 * stay on their own grids instead of merging into one red blot. Item: [lng, lat, overdue, size].
 */
export function buildOverdueUpdate(
  grids: Iterable<GridAggregate>,
  sites: Map<string, MarkerSite>,
  flashOn: boolean,
  fontSize: number,
  pxPerDegree: [number, number] | null,
): EChartsCoreOption {
  const max = fontSize * 1.1
  const min = fontSize * 0.5
  const data: [number, number, number, number][] = []
  for (const g of grids) {
    const site = g[2] > 0 ? sites.get(g[0]) : undefined
    if (!site) continue
    const fit = pxPerDegree
      ? 1.8 * Math.min(site.half[0] * pxPerDegree[0], site.half[1] * pxPerDegree[1])
      : max
    data.push([site.at[0], site.at[1], g[2], Math.round(Math.min(max, Math.max(min, fit)))])
  }
  return { series: [{ id: 'overdue', data, itemStyle: { opacity: flashOn ? 1 : 0.25 } }] }
}

/** Worker positions [lng, lat, lng, lat, …] handed to the large scatter as they are. */
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

/** The tour's view: the same update goes to all three charts, so they move together. */
export function buildViewUpdate(view: MapView): EChartsCoreOption {
  return { geo: [{ id: 'frame', center: view.center ?? null, zoom: view.zoom ?? 1 }] }
}
