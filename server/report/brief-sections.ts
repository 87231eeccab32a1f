/**
 * The four parts of the printed briefing, each drawn down a `Sheet` from where the previous one
 * ended: the figures with 环比 and 同比, the trend, the subdivisions ranked, the events overdue.
 * Every figure is written by `shared/kpi-format.ts`, so paper and screen never disagree on a digit.
 */
import type { BriefRankingRow, BriefResponse, EventView } from '../../shared/api.ts'
import { CATEGORY_BY_CODE } from '../../shared/categories.ts'
import { kpiDelta, kpiText } from '../../shared/kpi-format.ts'
import { KPI_LABELS, type KpiKey } from '../../shared/kpis.ts'
import {
  BRIEF_KEYS,
  LEVEL_NAMES,
  NO_SERIES,
  RANKING_HEADS,
  dateText,
  durationText,
  labelled,
  say,
  shortDateTime,
  spanText,
  timeText,
  type ReportLang,
} from './brief-words.ts'
import { drawBar, drawSparkline, drawTrendChart } from './pdf-charts.ts'
import { ACCENT, BAR_GREY, INK, MUTED, put, type Doc } from './pdf-draw.ts'
import { drawTable, type Column } from './pdf-table.ts'

/** Where drawing stands: the page's content box and the current line (`y`, moved by each part). */
export interface Sheet {
  doc: Doc
  lang: ReportLang
  tz: string
  x: number
  w: number
  top: number
  bottom: number
  y: number
  regionName: (code: string) => string
}

const SIZE = 9
const ROW = 17
const NOTE = 7.5

/** Start a new page unless `need` points of height are left on this one. */
export function ensure(s: Sheet, need: number): void {
  if (s.y + need <= s.bottom) return
  s.doc.addPage()
  s.y = s.top
}

/** A section's heading (一、…), kept on the page with at least `need` points of what follows. */
function heading(s: Sheet, text: string, need: number): void {
  ensure(s, 24 + need)
  s.doc.rect(s.x, s.y + 3, 3, 12).fill(ACCENT)
  put(s.doc, text, s.x + 9, s.y, { font: 'bold', size: 12 })
  s.y += 24
}

function note(s: Sheet, text: string): void {
  ensure(s, 12)
  put(s.doc, text, s.x, s.y, { size: NOTE, color: MUTED, width: s.w })
  s.y += 11
}

/** A section's whole body when it has nothing to show: one line, then the section's spacing. */
function remark(s: Sheet, text: string): void {
  ensure(s, 14)
  put(s.doc, text, s.x, s.y, { size: SIZE, color: MUTED, width: s.w })
  s.y += 26
}

/** A table at the sheet's current line, in the briefing's type size and row height. */
const table = <R>(s: Sheet, columns: Column<R>[], rows: readonly R[]): number =>
  drawTable(s.doc, columns, rows, {
    x: s.x,
    y: s.y,
    size: SIZE,
    rowHeight: ROW,
    bottom: s.bottom,
    top: s.top,
  })

/** A change's text and colour: the accent marks a change for the worse, as the screens do in red. */
const deltaColor = (good: boolean | null): string => (good === false ? ACCENT : INK)

const figureName = (key: KpiKey, lang: ReportLang): string =>
  KPI_LABELS[key].unit === 'hours'
    ? `${KPI_LABELS[key][lang]}${lang === 'zh' ? '（小时）' : ' (h)'}`
    : KPI_LABELS[key][lang]

/** 一、the figures: value, 环比, 同比 and, for figures of a period, their sparkline. */
export function kpiSection(s: Sheet, b: BriefResponse): void {
  const { lang, tz } = s
  heading(s, say(lang, 'sKpis'), 80)
  const prev = (k: KpiKey) => kpiDelta(k, b.values[k], b.previous.values[k])
  const year = (k: KpiKey) => (b.yearAgo ? kpiDelta(k, b.values[k], b.yearAgo.values[k]) : null)
  const columns: Column<KpiKey>[] = [
    { header: say(lang, 'figure'), width: 150, text: (k) => figureName(k, lang) },
    {
      header: say(lang, 'value'),
      width: 78,
      align: 'right',
      font: () => 'bold',
      text: (k) => kpiText(k, b.values[k]),
    },
    {
      header: say(lang, 'vsPrevious'),
      width: 80,
      align: 'right',
      text: (k) => prev(k).text,
      color: (k) => deltaColor(prev(k).good),
    },
    {
      header: say(lang, 'vsYearAgo'),
      width: 80,
      align: 'right',
      text: (k) => year(k)?.text ?? '—',
      color: (k) => deltaColor(year(k)?.good ?? null),
    },
    {
      header: say(lang, 'trend'),
      width: s.w - 388,
      align: 'center',
      draw: (doc, k, cell) => {
        if (NO_SERIES.has(k)) return
        const values = b.series.map((p) => p.values[k])
        drawSparkline(doc, { x: cell.x + 14, y: cell.y + 4, w: cell.w - 28, h: cell.h - 8 }, values)
      },
    },
  ]
  s.y = table(s, columns, BRIEF_KEYS) + 5
  const span = (f: { from: string; to: string }) => spanText(Date.parse(f.from), Date.parse(f.to), tz, lang)
  note(s, labelled(lang, say(lang, 'previousSpan'), span(b.previous)))
  if (b.yearAgo) note(s, labelled(lang, say(lang, 'yearSpan'), span(b.yearAgo)))
  else {
    const from = b.dataFrom
      ? `${say(lang, 'dataFrom')} ${dateText(Date.parse(b.dataFrom), tz, lang)}`
      : say(lang, 'noData')
    note(
      s,
      lang === 'zh'
        ? `注：${say(lang, 'noYearAgo')}（${from}）。`
        : `Note: ${say(lang, 'noYearAgo')} (${from}).`,
    )
  }
  note(s, say(lang, 'deltaNote'))
  s.y += 8
}

/** The time axis's label of a bucket: its hour for hourly buckets, else its first date. */
function bucketLabel(b: BriefResponse, from: string, tz: string): string {
  const t = Date.parse(from)
  return b.bucket === 'hour' ? timeText(t, tz) : shortDateTime(t, tz).slice(0, 5)
}

/** 二、the trend: reports per bucket, the disposal and on-time rates. */
export function trendSection(s: Sheet, b: BriefResponse): void {
  const { lang } = s
  heading(s, say(lang, 'sTrend'), 190)
  if (b.series.length === 0) return remark(s, say(lang, 'noSeries'))
  const points = b.series.map((p) => ({
    label: bucketLabel(b, p.from, s.tz),
    bar: p.values.reported,
    lines: [p.values.disposalRate, p.values.onTimeRate],
  }))
  drawTrendChart(s.doc, { x: s.x, y: s.y, w: s.w, h: 180 }, points, {
    bar: say(lang, 'legendBars'),
    lines: [say(lang, 'legendLine'), say(lang, 'legendLine2')],
  })
  s.y += 196
}

/** 三、the children ranked by the composite score, each with its change of score. */
export function rankingSection(s: Sheet, b: BriefResponse): void {
  const { lang } = s
  const ranking = b.ranking
  const level = ranking ? LEVEL_NAMES[ranking.level][lang] : ''
  const title = say(lang, 'sRanking') + (!level ? '' : lang === 'zh' ? `（${level}）` : ` (${level})`)
  const rows = ranking?.rows ?? []
  heading(s, title, rows.length > 0 ? 4 * ROW : 12)
  if (rows.length === 0) return remark(s, say(lang, 'noChildren'))
  const rate = (k: keyof typeof RANKING_HEADS, width: number): Column<BriefRankingRow> => ({
    header: RANKING_HEADS[k][lang],
    width,
    align: 'right',
    text: (r) => kpiText(k, r.values[k]),
  })
  const change = (r: BriefRankingRow) => kpiDelta('score', r.values.score, r.previous?.score)
  const columns: Column<BriefRankingRow>[] = [
    { header: say(lang, 'rank'), width: 34, align: 'center', text: (r) => String(r.rank) },
    { header: say(lang, 'name'), width: s.w - 34 - 58 - 30 - 48 - 58 - 48 - 75, text: (r) => r.name },
    { ...rate('score', 58), font: () => 'bold' },
    {
      header: '',
      width: 30,
      draw: (doc, r, cell) =>
        r.values.score !== null &&
        drawBar(doc, { x: cell.x, y: cell.y + 6, w: cell.w, h: cell.h - 12 }, r.values.score / 100, BAR_GREY),
    },
    rate('disposalRate', 48),
    rate('onTimeRate', 58),
    rate('satisfactionRate', 48),
    {
      header: say(lang, 'scoreChange'),
      width: 75,
      align: 'right',
      text: (r) => change(r).text,
      color: (r) => deltaColor(change(r).good),
    },
  ]
  s.y = table(s, columns, rows) + 14
}

/** 四、the events overdue the longest: where, what, due when, and for how long now. */
export function overdueSection(s: Sheet, b: BriefResponse): void {
  const { lang, tz } = s
  heading(s, say(lang, 'sOverdue'), b.overdue.length > 0 ? 3 * ROW : 12)
  if (b.overdue.length === 0) return remark(s, say(lang, 'noOverdue'))
  const now = Date.parse(b.generatedAt)
  const deadline = (e: EventView) => (e.deadline === null ? null : Date.parse(e.deadline))
  const columns: Column<EventView>[] = [
    { header: say(lang, 'no'), width: 30, align: 'center', text: (e) => String(b.overdue.indexOf(e) + 1) },
    {
      header: say(lang, 'grid'),
      width: s.w - 30 - 112 - 100 - 70 - 70,
      text: (e) => s.regionName(e.gridCode),
    },
    {
      header: say(lang, 'category'),
      width: 112,
      text: (e) => CATEGORY_BY_CODE.get(e.category)?.[lang] ?? e.category,
    },
    { header: say(lang, 'department'), width: 100, text: (e) => e.department ?? '—' },
    {
      header: say(lang, 'deadline'),
      width: 70,
      align: 'right',
      text: (e) => (deadline(e) === null ? '—' : shortDateTime(deadline(e)!, tz)),
    },
    {
      header: say(lang, 'overdueBy'),
      width: 70,
      align: 'right',
      font: () => 'bold',
      color: () => ACCENT,
      text: (e) => (deadline(e) === null ? '—' : durationText(now - deadline(e)!, lang)),
    },
  ]
  s.y = table(s, columns, b.overdue) + 5
  note(s, say(lang, 'overdueNote'))
}
