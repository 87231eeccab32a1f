/** Pure option builders for the wall's panel charts (category breakdown, 24-hour trend). */
import type { EChartsCoreOption } from 'echarts/core'
import { CATEGORICAL, THEME } from './palette.ts'

/**
 * The page's own font stack, named on every text: ECharts measures text on a detached canvas, where
 * `sans-serif` falls back to another font than on the page (lang zh-CN), so `containLabel` reserved
 * too little room and long English category names were cut off at the left edge.
 */
export const CHART_FONT =
  "'Noto Sans CJK SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', system-ui, sans-serif"

/**
 * The wall passes 0.9 rem (categories) and 0.85 rem (trend); every text is drawn at 1 rem or more
 * (16 px at 1920×1080), legible from five metres.
 */
const CATEGORY_TEXT = 1.12
const TREND_TEXT = 1.2

const text = (color: string, fontSize: number) => ({ color, fontSize, fontFamily: CHART_FONT })

export function buildCategoryOption(
  groups: { name: string; count: number }[],
  fontSize: number,
): EChartsCoreOption {
  const size = fontSize * CATEGORY_TEXT
  const top = groups.slice(0, 8).reverse()
  return {
    animation: false,
    // Left and right in pixels: the names and the counts are measured (`containLabel`), never cut.
    grid: { left: size * 0.2, right: size * 3, top: '2%', bottom: '2%', containLabel: true },
    xAxis: { type: 'value', axisLabel: { show: false }, splitLine: { show: false } },
    yAxis: {
      type: 'category',
      data: top.map((g) => g.name),
      // The names are what the panel is read for: full text colour, not the muted axis grey.
      axisLabel: { ...text(THEME.text, size), margin: size * 0.5 },
      axisLine: { show: false },
      axisTick: { show: false },
    },
    series: [
      {
        id: 'categories',
        type: 'bar',
        data: top.map((g, i) => ({
          value: g.count,
          itemStyle: { color: CATEGORICAL[(top.length - 1 - i) % CATEGORICAL.length] },
        })),
        barMaxWidth: size,
        label: { show: true, position: 'right', ...text(THEME.text, size), fontWeight: 'bold' },
      },
    ],
  }
}

/**
 * The last hour of `hourly` is the current one, still filling: its segment is drawn dashed and its
 * point hollow, so a partial count is not read as a drop. The hour axis still ends at now.
 */
export function buildTrendOption(
  hourly: { hour: string; reported: number; handled: number; closed: number }[],
  labels: { reported: string; handled: string; closed: string },
  fontSize: number,
  hourLabel: (iso: string) => string,
): EChartsCoreOption {
  const size = fontSize * TREND_TEXT
  const width = Math.max(1.5, size / 7)
  const last = hourly.length - 1
  const line = (id: keyof typeof labels, color: string) => [
    {
      id,
      name: labels[id],
      type: 'line',
      smooth: true,
      // No overshoot: a smoothed curve must not dip below a real value between two hours.
      smoothMonotone: 'x',
      showSymbol: false,
      lineStyle: { width, color },
      itemStyle: { color },
      data: hourly.slice(0, Math.max(0, last)).map((h) => h[id]),
    },
    {
      // Same name: one legend entry shows and hides both parts.
      id: `${id}-partial`,
      name: labels[id],
      type: 'line',
      silent: true,
      symbol: 'emptyCircle',
      symbolSize: size * 0.55,
      showSymbol: true,
      lineStyle: { width, color, type: [width * 2, width * 2], opacity: 0.8 },
      itemStyle: { color, borderWidth: width },
      // From the last full hour (no mark) to the current one (a hollow mark).
      data: hourly.map((h, i) =>
        i === last ? h[id] : i === last - 1 ? { value: h[id], symbol: 'none' } : null,
      ),
    },
  ]
  return {
    animation: false,
    legend: {
      top: 0,
      right: 0,
      textStyle: text(THEME.muted, size),
      itemWidth: size * 1.2,
      itemHeight: size * 0.6,
      itemGap: size,
      // Only the solid lines: the dashed parts share their names.
      data: [labels.reported, labels.handled, labels.closed],
    },
    grid: { left: size * 0.2, right: size * 1.2, top: size * 2.4, bottom: size * 0.2, containLabel: true },
    xAxis: {
      type: 'category',
      boundaryGap: false,
      data: hourly.map((h) => hourLabel(h.hour)),
      // Every fourth hour, counted back from the current one so that it is always labelled.
      axisLabel: { ...text(THEME.muted, size), interval: (i: number) => (last - i) % 4 === 0 },
      axisTick: { show: false },
      axisLine: { lineStyle: { color: THEME.border } },
    },
    yAxis: {
      type: 'value',
      minInterval: 1,
      splitNumber: 4,
      axisLabel: text(THEME.muted, size),
      splitLine: { lineStyle: { color: THEME.border, type: 'dashed' } },
    },
    series: [
      ...line('reported', CATEGORICAL[0]!),
      ...line('handled', CATEGORICAL[1]!),
      ...line('closed', CATEGORICAL[2]!),
    ],
  }
}
