/** Pure option builders for the wall's panel charts (category breakdown, 24-hour trend). */
import type { EChartsCoreOption } from 'echarts/core'
import { CATEGORICAL, THEME } from './palette.ts'

const axisText = (fontSize: number) => ({ color: THEME.muted, fontSize })

export function buildCategoryOption(
  groups: { name: string; count: number }[],
  fontSize: number,
): EChartsCoreOption {
  const top = groups.slice(0, 8).reverse()
  return {
    animation: false,
    grid: { left: '2%', right: '10%', top: '2%', bottom: '2%', containLabel: true },
    xAxis: { type: 'value', axisLabel: { show: false }, splitLine: { show: false } },
    yAxis: {
      type: 'category',
      data: top.map((g) => g.name),
      axisLabel: axisText(fontSize),
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
        barMaxWidth: fontSize * 1.1,
        label: { show: true, position: 'right', color: THEME.text, fontSize },
      },
    ],
  }
}

export function buildTrendOption(
  hourly: { hour: string; reported: number; handled: number; closed: number }[],
  labels: { reported: string; handled: string; closed: string },
  fontSize: number,
  hourLabel: (iso: string) => string,
): EChartsCoreOption {
  const line = (id: keyof typeof labels, color: string) => ({
    id,
    name: labels[id],
    type: 'line',
    smooth: true,
    showSymbol: false,
    lineStyle: { width: Math.max(1.5, fontSize / 7), color },
    itemStyle: { color },
    data: hourly.map((h) => h[id]),
  })
  return {
    animation: false,
    legend: {
      top: 0,
      right: 0,
      textStyle: axisText(fontSize),
      itemWidth: fontSize,
      itemHeight: fontSize * 0.6,
    },
    grid: { left: '2%', right: '3%', top: fontSize * 2.2, bottom: '2%', containLabel: true },
    xAxis: {
      type: 'category',
      data: hourly.map((h) => hourLabel(h.hour)),
      axisLabel: { ...axisText(fontSize * 0.9), interval: 3 },
      axisLine: { lineStyle: { color: THEME.border } },
    },
    yAxis: {
      type: 'value',
      axisLabel: axisText(fontSize * 0.9),
      splitLine: { lineStyle: { color: THEME.border, type: 'dashed' } },
    },
    series: [
      line('reported', CATEGORICAL[0]!),
      line('handled', CATEGORICAL[1]!),
      line('closed', CATEGORICAL[2]!),
    ],
  }
}
