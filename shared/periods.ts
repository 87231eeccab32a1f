/**
 * The briefing's periods (DESIGN.md §2): today, this week (Monday to Sunday), this month, this
 * quarter, or a custom range, in the city's local calendar; what each is compared with — the
 * previous period of the same length (环比) and the same period a year before (同比) — and the
 * buckets of its sparkline. Local calendar days, never multiples of 24 h.
 *
 * A period "to date" runs from its start to `to` (now, or an as-of instant); the periods it is
 * compared with cover the same elapsed time from their own start, never past their own end: this
 * month's first ten days against last month's first ten days, not against the whole of last month.
 */
import { addDays } from './comparison.ts'
import { addLocalDays, localDate, startOfLocalDay, zoneOffset } from './working-time.ts'

export const PERIOD_KINDS = ['today', 'week', 'month', 'quarter', 'custom'] as const
export type PeriodKind = (typeof PERIOD_KINDS)[number]

export interface Span {
  /** Epoch ms, inclusive. */
  from: number
  /** Epoch ms, exclusive. */
  to: number
}

export interface Period extends Span {
  kind: PeriodKind
  /** Where the calendar period ends (exclusive): `to` while it runs, or a custom range's `to`. */
  end: number
}

const HOUR = 3_600_000

/** The instant local midnight of `date` ('YYYY-MM-DD') began in `tz`. */
export function midnightOf(date: string, tz: string): number {
  // Noon UTC of that date lies on that local date in every zone within ±12 h.
  return startOfLocalDay(Date.parse(`${date}T12:00:00Z`), tz)
}

/** The same local wall-clock time `years` calendar years later (29 February → 28 February). */
export function shiftYears(ms: number, years: number, tz: string): number {
  const date = localDate(ms, tz)
  const timeOfDay = ms + zoneOffset(ms, tz) - Date.parse(`${date}T00:00:00Z`)
  const y = Number(date.slice(0, 4)) + years
  const [m, d] = [Number(date.slice(5, 7)), Number(date.slice(8, 10))]
  const lastDay = new Date(Date.UTC(y, m, 0)).getUTCDate()
  const shifted = `${String(y).padStart(4, '0')}-${date.slice(5, 7)}-${String(Math.min(d, lastDay)).padStart(2, '0')}`
  const wall = Date.parse(`${shifted}T00:00:00Z`) + timeOfDay
  return wall - zoneOffset(wall - zoneOffset(wall, tz), tz)
}

/** First local date of the calendar unit (week, month, quarter) holding `date`, and of the next. */
function unitOf(kind: 'today' | 'week' | 'month' | 'quarter', date: string): [string, string] {
  if (kind === 'today') return [date, addDays(date, 1)]
  if (kind === 'week') {
    // Monday-based weeks (ISO 8601), as offices count them.
    const dow = (new Date(`${date}T00:00:00Z`).getUTCDay() + 6) % 7
    const monday = addDays(date, -dow)
    return [monday, addDays(monday, 7)]
  }
  const y = Number(date.slice(0, 4))
  const m0 = Number(date.slice(5, 7)) - 1
  const first = kind === 'month' ? m0 : m0 - (m0 % 3)
  const months = kind === 'month' ? 1 : 3
  const ymd = (yy: number, mm: number) =>
    `${String(yy + Math.floor(mm / 12)).padStart(4, '0')}-${String((mm % 12) + 1).padStart(2, '0')}-01`
  return [ymd(y, first), ymd(y, first + months)]
}

/**
 * The period `kind` holding the instant `now` (today, this week…), up to `now`; or, for `custom`,
 * the range given. Its `to` is never before its `from` + 1 ms (just after midnight, "today" is not
 * empty).
 */
export function periodOf(kind: PeriodKind, now: number, tz: string, custom?: Span): Period {
  if (kind === 'custom') {
    if (!custom) throw new Error('a custom period needs its range')
    return { kind, from: custom.from, to: custom.to, end: custom.to }
  }
  const [a, b] = unitOf(kind, localDate(now, tz))
  const from = midnightOf(a, tz)
  const end = midnightOf(b, tz)
  return { kind, from, to: Math.max(from + 1, Math.min(now, end)), end }
}

/** The period as it stood at `at` (the as-of slider): the same start, cut at `at`. */
export function periodAsOf(p: Period, at: number): Period {
  return { ...p, to: Math.max(p.from + 1, Math.min(p.to, at)) }
}

/**
 * 环比: the previous period of the same kind (yesterday, last week, last month, last quarter), over
 * the same elapsed time from its start and never past its end; for a custom range, the range of the
 * same length just before it.
 */
export function previousPeriod(p: Period, tz: string): Span {
  const elapsed = p.to - p.from
  if (p.kind === 'custom') return { from: p.from - elapsed, to: p.from }
  // Any instant of the previous unit: just before this one started.
  const [a, b] = unitOf(p.kind, localDate(p.from - HOUR, tz))
  const from = midnightOf(a, tz)
  const end = midnightOf(b, tz)
  return { from, to: Math.min(end, from + elapsed) }
}

/** 同比: the same period one calendar year before, over the same elapsed time from its start. */
export function yearBefore(p: Period, tz: string): Span {
  const from = shiftYears(p.from, -1, tz)
  if (p.kind === 'custom') return { from, to: shiftYears(p.to, -1, tz) }
  const end = shiftYears(p.end, -1, tz)
  return { from, to: Math.min(end, from + (p.to - p.from)) }
}

/** How a period's sparkline is cut: hours for a day or two, days up to a quarter, weeks beyond. */
export type BucketSize = 'hour' | 'day' | 'week'

export function bucketSizeOf(p: Span): BucketSize {
  const days = (p.to - p.from) / (24 * HOUR)
  return days <= 2 ? 'hour' : days <= 93 ? 'day' : 'week'
}

/** The sparkline's buckets of `p` (local hours, days or Monday weeks), the last one cut at `p.to`. */
export function bucketsOf(p: Span, tz: string, size: BucketSize = bucketSizeOf(p)): Span[] {
  const out: Span[] = []
  let start =
    size === 'hour'
      ? p.from - ((((p.from + zoneOffset(p.from, tz)) % HOUR) + HOUR) % HOUR)
      : startOfLocalDay(p.from, tz)
  if (size === 'week') start = midnightOf(unitOf('week', localDate(p.from, tz))[0], tz)
  while (start < p.to && out.length < 1000) {
    const next = size === 'hour' ? start + HOUR : addLocalDays(start, size === 'day' ? 1 : 7, tz)
    out.push({ from: Math.max(start, p.from), to: Math.min(next, p.to) })
    start = next
  }
  return out
}
