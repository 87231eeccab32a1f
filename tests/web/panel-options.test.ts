import { describe, expect, it } from 'vitest'
import { CHART_FONT, buildCategoryOption, buildTrendOption } from '../../web/src/charts/panel-options.ts'

interface Series {
  id: string
  name: string
  data: unknown[]
  lineStyle: { type?: unknown }
}
interface Text {
  fontSize: number
  fontFamily: string
}

const hourly = Array.from({ length: 24 }, (_, i) => ({
  hour: new Date(Date.UTC(2026, 0, 1, i)).toISOString(),
  reported: 10 + i,
  handled: 5 + i,
  closed: i,
}))
// The wall passes 0.85 rem to the trend and 0.9 rem to the categories; at 1080p 1 rem is 16 px.
const trend = buildTrendOption(
  hourly,
  { reported: 'Reported', handled: 'Handled', closed: 'Closed' },
  16 * 0.85,
  (iso) => `${new Date(iso).getUTCHours()}h`,
) as {
  series: Series[]
  legend: { data: string[]; textStyle: Text }
  xAxis: { data: string[]; axisLabel: Text & { interval: (i: number) => boolean } }
  yAxis: { axisLabel: Text }
}

describe('buildTrendOption', () => {
  it('keeps the series ids, the full lines ending at the last full hour', () => {
    const full = trend.series.filter((s) => !s.id.endsWith('-partial'))
    expect(full.map((s) => s.id)).toEqual(['reported', 'handled', 'closed'])
    for (const s of full) expect(s.data).toHaveLength(23)
    expect(full[0]!.data.at(-1)).toBe(10 + 22)
  })

  it('draws the current, partial hour as a dashed segment from the last full hour', () => {
    const partial = trend.series.find((s) => s.id === 'reported-partial')!
    expect(partial.name).toBe('Reported')
    expect(partial.lineStyle.type).toBeInstanceOf(Array)
    expect(partial.data.slice(0, 22).every((v) => v === null)).toBe(true)
    expect(partial.data[22]).toMatchObject({ value: 32 })
    expect(partial.data[23]).toBe(33)
    // One legend entry per line; the axis still ends at now, the current hour labelled.
    expect(trend.legend.data).toEqual(['Reported', 'Handled', 'Closed'])
    expect(trend.xAxis.data).toHaveLength(24)
    expect(trend.xAxis.data.at(-1)).toBe('23h')
    expect(trend.xAxis.axisLabel.interval(23)).toBe(true)
    expect(trend.xAxis.axisLabel.interval(22)).toBe(false)
  })

  it('draws no text under 16 px at 1080p, in the page font', () => {
    for (const t of [trend.legend.textStyle, trend.xAxis.axisLabel, trend.yAxis.axisLabel]) {
      expect(t.fontSize).toBeGreaterThanOrEqual(16)
      expect(t.fontFamily).toBe(CHART_FONT)
    }
  })

  it('copes with no hours and a single hour', () => {
    const labels = { reported: 'r', handled: 'h', closed: 'c' }
    expect(() => buildTrendOption([], labels, 14, String)).not.toThrow()
    const one = buildTrendOption(hourly.slice(0, 1), labels, 14, String) as { series: Series[] }
    expect(one.series.find((s) => s.id === 'reported')!.data).toEqual([])
    expect(one.series.find((s) => s.id === 'reported-partial')!.data).toEqual([10])
  })
})

describe('buildCategoryOption', () => {
  it('shows the top eight, largest on top, names at 16 px or more in the page font', () => {
    const groups = Array.from({ length: 10 }, (_, i) => ({ name: `g${i}`, count: 100 - i }))
    const o = buildCategoryOption(groups, 16 * 0.9) as {
      grid: { containLabel: boolean }
      yAxis: { data: string[]; axisLabel: Text }
      series: { label: Text }[]
    }
    expect(o.yAxis.data).toEqual(['g7', 'g6', 'g5', 'g4', 'g3', 'g2', 'g1', 'g0'])
    expect(o.grid.containLabel).toBe(true)
    for (const t of [o.yAxis.axisLabel, o.series[0]!.label]) {
      expect(t.fontSize).toBeGreaterThanOrEqual(16)
      expect(t.fontFamily).toBe(CHART_FONT)
    }
  })
})
