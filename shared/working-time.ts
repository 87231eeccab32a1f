/**
 * Working-time arithmetic on a configurable calendar (DESIGN.md §2: disposal limits count working
 * time), plus the time-zone helpers the rest of the app renders times with.
 *
 * Instants are epoch milliseconds. Wall-clock times are resolved in the calendar's IANA time zone
 * through `Intl.DateTimeFormat`, with the offset computed per instant, so a zone with daylight saving
 * works too. Work is proportional to the number of local days spanned, never to minutes.
 *
 * A calendar is treated as immutable once used: its compiled form is cached per object.
 */

import { CN_EXTRA_WORKDAYS, CN_HOLIDAYS } from './holidays-cn.ts'

/** A disposal time limit. */
export interface TimeLimit {
  unit: 'hours' | 'days'
  value: number
}

/** A working-time calendar. */
export interface WorkCalendar {
  /** IANA zone the periods and dates are read in. */
  timeZone: string
  /** Working periods of a working day, local 'HH:MM' (end may be '24:00'); must not overlap. */
  periods: Array<{ start: string; end: string }>
  /** ISO weekdays that are working days: 1 = Monday … 7 = Sunday. */
  workdays: number[]
  /** 'YYYY-MM-DD' local dates off, even if their weekday is a workday. */
  holidays: string[]
  /** 'YYYY-MM-DD' make-up working days (调休), e.g. a Saturday; they win over `holidays`. */
  extraWorkdays: string[]
}

/**
 * The office calendar: Mon–Fri 08:30–12:00 and 14:00–18:00, Asia/Shanghai, with the official
 * 放假调休 lists (`shared/holidays-cn.ts`).
 */
export const DEFAULT_CALENDAR: WorkCalendar = Object.freeze({
  timeZone: 'Asia/Shanghai',
  periods: [
    { start: '08:30', end: '12:00' },
    { start: '14:00', end: '18:00' },
  ],
  workdays: [1, 2, 3, 4, 5],
  holidays: [...CN_HOLIDAYS],
  extraWorkdays: [...CN_EXTRA_WORKDAYS],
})

const MINUTE = 60_000
const HOUR = 3_600_000
const DAY = 86_400_000
/** A calendar with no working day in this many days has none at all. */
const MAX_IDLE_DAYS = 3660

// ---------------------------------------------------------------- time zones

const formatters = new Map<string, Intl.DateTimeFormat>()
const offsetCache = new Map<string, Map<number, number>>()

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
    formatters.set(tz, f)
  }
  return f
}

/**
 * Offset of `tz` from UTC at instant `ms`, in ms (local = utc + offset). Modern offsets are whole
 * quarter hours, so transitions fall on quarter-hour UTC instants and the offset can be cached per
 * quarter hour.
 */
export function zoneOffset(ms: number, tz: string): number {
  const bucket = Math.floor(ms / (15 * MINUTE))
  let cache = offsetCache.get(tz)
  if (!cache) offsetCache.set(tz, (cache = new Map()))
  const hit = cache.get(bucket)
  if (hit !== undefined) return hit
  const p: Record<string, number> = {}
  for (const part of formatter(tz).formatToParts(bucket * 15 * MINUTE)) {
    if (part.type !== 'literal') p[part.type] = Number(part.value)
  }
  const wall = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!)
  const offset = wall - bucket * 15 * MINUTE
  if (cache.size > 50_000) cache.clear()
  cache.set(bucket, offset)
  return offset
}

/** Local day number (days since 1970-01-01 on the local calendar) of an instant. */
function dayNumber(ms: number, tz: string): number {
  return Math.floor((ms + zoneOffset(ms, tz)) / DAY)
}

/**
 * The instant of local wall time `minute` (minutes after midnight) on local day `day`. Midnight
 * (0) and the day's end (1440) are the day's first instant and the next day's, which differ from
 * wall-clock 00:00 where a transition skips or repeats local midnight (America/Santiago springs
 * forward from 00:00 to 01:00: that day begins at 01:00).
 */
function instantOf(day: number, minute: number, tz: string): number {
  if (minute === 0) return dayStart(day, tz)
  if (minute === 24 * 60) return dayStart(day + 1, tz)
  const wall = day * DAY + minute * MINUTE
  const first = wall - zoneOffset(wall, tz)
  // A second pass corrects the guess when the offset differs on either side of a transition.
  return wall - zoneOffset(first, tz)
}

/** The first instant of local day `day`: the first quarter hour whose local date is that day. */
function dayStart(day: number, tz: string): number {
  const wall = day * DAY
  let t = wall - zoneOffset(wall - zoneOffset(wall, tz), tz)
  // Offsets are whole quarter hours, so transitions fall on quarter-hour UTC instants.
  for (let i = 0; i < 16 && dayNumber(t, tz) < day; i++) t += 15 * MINUTE
  for (let i = 0; i < 16 && dayNumber(t - 15 * MINUTE, tz) >= day; i++) t -= 15 * MINUTE
  return t
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0')

function dayKey(day: number): string {
  const d = new Date(day * DAY)
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`
}

/** Local calendar date of an instant in `tz`, as 'YYYY-MM-DD'. */
export function localDate(ms: number, tz: string): string {
  return dayKey(dayNumber(ms, tz))
}

/**
 * The instant the local day containing `ms` began (local midnight, or the first instant after it
 * where a transition skips midnight).
 */
export function startOfLocalDay(ms: number, tz: string): number {
  return dayStart(dayNumber(ms, tz), tz)
}

/**
 * The start of the local day `n` days after (before, for n < 0) the one containing `ms`: calendar
 * days, not multiples of 24 h (a day is 23 or 25 h long where daylight saving starts or ends).
 */
export function addLocalDays(ms: number, n: number, tz: string): number {
  return dayStart(dayNumber(ms, tz) + n, tz)
}

/** The local day [start, end) containing `ms`. */
export function localDayBounds(ms: number, tz: string): { start: number; end: number } {
  const day = dayNumber(ms, tz)
  return { start: dayStart(day, tz), end: dayStart(day + 1, tz) }
}

/** ISO 8601 with the zone's offset at that instant, e.g. `2026-11-30T10:15:00.000+08:00`. */
export function formatIsoWithOffset(ms: number, tz: string): string {
  const offset = zoneOffset(ms, tz)
  const d = new Date(ms + offset)
  const date = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`
  const abs = Math.round(Math.abs(offset) / MINUTE)
  const sign = offset < 0 ? '-' : '+'
  return `${date}T${time}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
}

// ---------------------------------------------------------------- calendars

interface Compiled {
  tz: string
  /** [startMinute, endMinute) pairs, sorted. */
  periods: Array<[number, number]>
  dailyMinutes: number
  workdays: Set<number>
  holidays: Set<string>
  extra: Set<string>
}
const compiled = new WeakMap<WorkCalendar, Compiled>()

function parseHm(s: string): number {
  const m = /^(\d{2}):(\d{2})$/.exec(s)
  const minutes = m ? Number(m[1]) * 60 + Number(m[2]) : NaN
  if (!m || Number(m[2]) > 59 || minutes > 24 * 60) throw new RangeError(`invalid time of day '${s}'`)
  return minutes
}

function compile(cal: WorkCalendar): Compiled {
  const hit = compiled.get(cal)
  if (hit) return hit
  const periods = cal.periods
    .map((p): [number, number] => [parseHm(p.start), parseHm(p.end)])
    .sort((a, b) => a[0] - b[0])
  periods.forEach(([s, e], i) => {
    if (e <= s) throw new RangeError('a working period must end after it starts')
    if (i > 0 && s < periods[i - 1]![1]) throw new RangeError('working periods must not overlap')
  })
  formatter(cal.timeZone) // throws a RangeError now for an unknown zone
  const c: Compiled = {
    tz: cal.timeZone,
    periods,
    dailyMinutes: periods.reduce((sum, [s, e]) => sum + e - s, 0),
    workdays: new Set(cal.workdays),
    holidays: new Set(cal.holidays),
    extra: new Set(cal.extraWorkdays),
  }
  compiled.set(cal, c)
  return c
}

function isWorkingDay(c: Compiled, day: number): boolean {
  const key = dayKey(day)
  if (c.extra.has(key)) return true
  if (c.holidays.has(key)) return false
  const isoWeekday = ((new Date(day * DAY).getUTCDay() + 6) % 7) + 1
  return c.workdays.has(isoWeekday)
}

/** Whether the local date `date` ('YYYY-MM-DD') is a working day of `cal`. */
export function isWorkingDate(date: string, cal: WorkCalendar = DEFAULT_CALENDAR): boolean {
  const ms = Date.parse(`${date}T00:00:00Z`)
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(ms)) throw new RangeError(`invalid date '${date}'`)
  return isWorkingDay(compile(cal), Math.floor(ms / DAY))
}

/** Working minutes of one full working day of `cal` (450 for the default: 7.5 h). */
export function dailyWorkingMinutes(cal: WorkCalendar = DEFAULT_CALENDAR): number {
  return compile(cal).dailyMinutes
}

/** Working periods of local day `day` as instants, or none when the day is off. */
function periodsOn(c: Compiled, day: number): Array<[number, number]> {
  if (!isWorkingDay(c, day)) return []
  return c.periods.map(([s, e]) => [instantOf(day, s, c.tz), instantOf(day, e, c.tz)])
}

/** Whether instant `ms` lies inside a working period of `cal` (start inclusive, end exclusive). */
export function isWorkingTime(ms: number, cal: WorkCalendar = DEFAULT_CALENDAR): boolean {
  const c = compile(cal)
  return periodsOn(c, dayNumber(ms, c.tz)).some(([s, e]) => ms >= s && ms < e)
}

/**
 * The instant a limit of working time runs out when counted from `start`.
 * `hours`: walks forward through the working periods. `days`: one working day is the full working
 * time of a day (7.5 h by default), so 2 days = 15 working hours from `start`. A start outside working
 * time begins counting at the next period start; a limit that ends exactly at a period's end returns
 * that end. A zero limit returns `start`. Throws a RangeError for a negative or non-finite value and
 * for a calendar without working time.
 */
export function addWorkingTime(
  start: number,
  limit: TimeLimit,
  cal: WorkCalendar = DEFAULT_CALENDAR,
): number {
  const c = compile(cal)
  if (!Number.isFinite(limit.value) || limit.value < 0) throw new RangeError('a limit must be ≥ 0')
  if (!Number.isFinite(start)) throw new RangeError('start must be a finite instant')
  let remaining = Math.round(limit.value * (limit.unit === 'hours' ? HOUR : c.dailyMinutes * MINUTE))
  if (remaining === 0) return start
  if (c.dailyMinutes === 0) throw new RangeError('the calendar has no working periods')
  let cursor = start
  let idle = 0
  for (let day = dayNumber(start, c.tz); ; day++) {
    const periods = periodsOn(c, day)
    if (periods.length === 0 && ++idle > MAX_IDLE_DAYS)
      throw new RangeError('the calendar has no working days')
    if (periods.length > 0) idle = 0
    for (const [ps, pe] of periods) {
      if (pe <= cursor) continue
      const from = Math.max(cursor, ps)
      if (remaining <= pe - from) return from + remaining
      remaining -= pe - from
      cursor = pe
    }
  }
}

/** Working milliseconds of `cal` in [a, b); 0 when b ≤ a. */
export function workingMillisBetween(a: number, b: number, cal: WorkCalendar = DEFAULT_CALENDAR): number {
  if (!(b > a)) return 0
  const c = compile(cal)
  let total = 0
  const last = dayNumber(b, c.tz)
  for (let day = dayNumber(a, c.tz); day <= last; day++) {
    for (const [ps, pe] of periodsOn(c, day)) {
      const overlap = Math.min(pe, b) - Math.max(ps, a)
      if (overlap > 0) total += overlap
    }
  }
  return total
}

/** Working hours of `cal` in [a, b) (fractional); 0 when b ≤ a. */
export function workingHoursBetween(a: number, b: number, cal: WorkCalendar = DEFAULT_CALENDAR): number {
  return workingMillisBetween(a, b, cal) / HOUR
}
