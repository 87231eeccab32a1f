/**
 * The words and dates of the printed briefing, in Chinese and English. The figures themselves are
 * written by `shared/kpi-format.ts`, as on the screens; this module holds only what a sheet of paper
 * needs beyond them: headings, notes, and local dates (the city's calendar, whatever zone the
 * server runs in), because a reader of paper has no tooltip to ask which day "today" was.
 */
import { KPI_LABELS, type KpiKey } from '../../shared/kpis.ts'
import { localDate, startOfLocalDay, zoneOffset } from '../../shared/working-time.ts'

export type ReportLang = 'zh' | 'en'
type Words<K extends string> = Record<K, Record<ReportLang, string>>

export { BRIEF_KEYS, NO_SERIES } from '../../shared/brief-keys.ts'
export { LEVEL_NAMES } from '../../shared/domain-names.ts'

/** The ranking's column heads: the figures' names, in English shortened to fit a column. */
export const RANKING_HEADS = {
  score: { zh: KPI_LABELS.score.zh, en: 'Score' },
  disposalRate: { zh: KPI_LABELS.disposalRate.zh, en: 'Disposal' },
  onTimeRate: { zh: KPI_LABELS.onTimeRate.zh, en: 'On time' },
  satisfactionRate: { zh: KPI_LABELS.satisfactionRate.zh, en: 'Satisfied' },
} satisfies Partial<Words<KpiKey>>

export { PERIOD_NAMES } from '../../shared/domain-names.ts'

export const WORDS = {
  system: { zh: '城市大脑', en: 'City Brain' },
  title: { zh: '城市大脑 · 领导决策简报', en: 'City Brain · Leadership briefing' },
  region: { zh: '区域', en: 'Region' },
  path: { zh: '层级', en: 'Path' },
  period: { zh: '统计时段', en: 'Period' },
  asOf: { zh: '数据截至', en: 'Figures as of' },
  generated: { zh: '生成时间', en: 'Generated' },
  sKpis: { zh: '一、主要指标', en: '1. Key figures' },
  sTrend: { zh: '二、趋势', en: '2. Trend' },
  sRanking: { zh: '三、下级区域排名', en: '3. Ranking of subdivisions' },
  sOverdue: { zh: '四、当前超期事件', en: '4. Overdue now' },
  figure: { zh: '指标', en: 'Figure' },
  value: { zh: '本期', en: 'This period' },
  vsPrevious: { zh: '环比', en: 'vs previous' },
  vsYearAgo: { zh: '同比', en: 'vs a year ago' },
  trend: { zh: '走势', en: 'Trend' },
  rank: { zh: '名次', en: 'Rank' },
  name: { zh: '名称', en: 'Name' },
  scoreChange: { zh: '综合指标值环比', en: 'Score vs prev.' },
  no: { zh: '序号', en: 'No.' },
  grid: { zh: '网格', en: 'Grid' },
  category: { zh: '类别', en: 'Category' },
  department: { zh: '处置部门', en: 'Department' },
  deadline: { zh: '处置时限', en: 'Deadline' },
  overdueBy: { zh: '已超期', en: 'Overdue by' },
  noOverdue: { zh: '当前无超期事件。', en: 'No event is overdue.' },
  noChildren: { zh: '网格为最小单元，无下级排名。', en: 'A grid is the smallest unit: nothing to rank.' },
  previousSpan: { zh: '环比对比期', en: 'Compared with (vs previous)' },
  yearSpan: { zh: '同比对比期', en: 'Compared with (vs a year ago)' },
  noYearAgo: {
    zh: '同比为“—”：系统数据未回溯至去年同期',
    en: '"—" vs a year ago: the data does not reach back a year',
  },
  dataFrom: { zh: '数据始于', en: 'data from' },
  noData: { zh: '尚无数据', en: 'no data yet' },
  deltaNote: {
    zh: '▲ 上升　▼ 下降　＝ 持平；比率的变化以百分点（pp）计，红色表示变差。',
    en: '▲ up  ▼ down  ＝ unchanged; a rate changes in percentage points (pp); red marks a change for the worse.',
  },
  overdueNote: {
    zh: '按超期时长排列，最多列出 10 件；超期时长为自处置时限至生成时间的自然时长。',
    en: 'Longest overdue first, at most 10; overdue time runs from the deadline to the time of generation.',
  },
  footer: {
    zh: '网格边界与各项数据均取自城市大脑系统（数据序号 seq {seq}）',
    en: 'Grid boundaries and figures from the City Brain system at seq {seq}',
  },
  synthetic: {
    zh: '；街道以下边界为系统生成，非法定界线',
    en: '; boundaries below the district are generated, not official',
  },
  page: { zh: '第 {p} 页 / 共 {n} 页', en: 'Page {p} of {n}' },
  legendBars: { zh: '上报数（件，左轴）', en: 'Reported (left axis)' },
  legendLine: { zh: '处置率（右轴）', en: 'Disposal rate (right axis)' },
  legendLine2: { zh: '按期处置率（右轴）', en: 'On-time rate (right axis)' },
  noSeries: { zh: '本时段尚无可绘制的数据。', en: 'Nothing to chart in this period yet.' },
} satisfies Words<string>

export type WordKey = keyof typeof WORDS

/** `WORDS[key]` in `lang`, with `{name}` placeholders filled in. */
export function say(lang: ReportLang, key: WordKey, fill: Record<string, string | number> = {}): string {
  return WORDS[key][lang].replace(/\{(\w+)\}/g, (_, k: string) => String(fill[k] ?? `{${k}}`))
}

/** "标签：值" / "Label: value". */
export const labelled = (lang: ReportLang, label: string, value: string): string =>
  `${label}${lang === 'zh' ? '：' : ': '}${value}`

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** A local date: "2026年11月1日" / "1 Nov 2026". */
export function dateText(ms: number, tz: string, lang: ReportLang): string {
  const [y, m, d] = localDate(ms, tz).split('-').map(Number) as [number, number, number]
  return lang === 'zh' ? `${y}年${m}月${d}日` : `${d} ${MONTHS[m - 1]} ${y}`
}

/** Local wall-clock time, "15:30". */
export function timeText(ms: number, tz: string): string {
  return new Date(ms + zoneOffset(ms, tz)).toISOString().slice(11, 16)
}

/** "2026年11月25日 15:30" / "25 Nov 2026 15:30". */
export const dateTimeText = (ms: number, tz: string, lang: ReportLang): string =>
  `${dateText(ms, tz, lang)} ${timeText(ms, tz)}`

/** Month, day and time, for tables: "11-24 14:00". */
export const shortDateTime = (ms: number, tz: string): string =>
  `${localDate(ms, tz).slice(5)} ${timeText(ms, tz)}`

/**
 * A span [from, to) as a reader names it: a bound at local midnight is a whole day, so an end at
 * midnight prints the last day it covers ("1 Nov – 25 Nov"), any other bound prints its time too;
 * a span within one day prints its date once ("25 Nov 2026 00:00–15:30").
 */
export function spanText(from: number, to: number, tz: string, lang: ReportLang): string {
  const atMidnight = (t: number) => startOfLocalDay(t, tz) === t
  // Within one day (today so far): the date once, then the hours.
  if (!atMidnight(to) && localDate(from, tz) === localDate(to, tz)) {
    const hours = `${timeText(from, tz)}${lang === 'zh' ? ' 至 ' : '–'}${timeText(to, tz)}`
    return `${dateText(from, tz, lang)} ${hours}`
  }
  const start = atMidnight(from) ? dateText(from, tz, lang) : dateTimeText(from, tz, lang)
  const end = atMidnight(to) ? dateText(to - 1, tz, lang) : dateTimeText(to, tz, lang)
  return lang === 'zh' ? `${start} 至 ${end}` : `${start} – ${end}`
}

/** An elapsed time, to the minute: "2天3小时" / "2 d 3 h", "45分钟" / "45 min". */
export function durationText(ms: number, lang: ReportLang): string {
  const minutes = Math.max(0, Math.floor(ms / 60_000))
  const d = Math.floor(minutes / 1440)
  const h = Math.floor((minutes % 1440) / 60)
  const m = minutes % 60
  const [ud, uh, um] = lang === 'zh' ? ['天', '小时', '分钟'] : [' d', ' h', ' min']
  if (d > 0) return h > 0 ? `${d}${ud}${lang === 'zh' ? '' : ' '}${h}${uh}` : `${d}${ud}`
  if (h > 0) return m > 0 ? `${h}${uh}${lang === 'zh' ? '' : ' '}${m}${um}` : `${h}${uh}`
  return `${m}${um}`
}
