/** Register only the ECharts parts the screens use, and the map's one custom shape. */
import { BarChart, CustomChart, LineChart, MapChart, ScatterChart } from 'echarts/charts'
import {
  GeoComponent,
  GridComponent,
  LegendComponent,
  MarkAreaComponent,
  MarkLineComponent,
  TooltipComponent,
} from 'echarts/components'
import * as echarts from 'echarts/core'
import { CanvasRenderer } from 'echarts/renderers'
import { MULTI_POLYGON } from './map-option.ts'

echarts.use([
  BarChart,
  CustomChart,
  LineChart,
  MapChart,
  ScatterChart,
  GeoComponent,
  GridComponent,
  LegendComponent,
  MarkAreaComponent,
  MarkLineComponent,
  TooltipComponent,
  CanvasRenderer,
])

/**
 * Many closed rings as one path: a colour class of the choropleth (hundreds of grids) or all street
 * outlines is one element to diff and one fill, instead of one element per polygon.
 */
const MultiPolygon = echarts.graphic.extendShape({
  type: MULTI_POLYGON,
  shape: { polys: [] as number[][][] },
  buildPath(ctx, shape: { polys: number[][][] }) {
    for (const ring of shape.polys) {
      if (ring.length < 3) continue
      ctx.moveTo(ring[0]![0]!, ring[0]![1]!)
      for (let i = 1; i < ring.length; i++) ctx.lineTo(ring[i]![0]!, ring[i]![1]!)
      ctx.closePath()
    }
  },
})
echarts.graphic.registerShape(MULTI_POLYGON, MultiPolygon)

export { echarts }
