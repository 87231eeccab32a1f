/**
 * What the wall compares today's figures with: yesterday (较昨日同期) when yesterday was a like day,
 * the same kind of day as today on the office calendar (a working day or a rest day, holidays and
 * make-up days included); otherwise the same weekday a week back (较上周同期). A Monday compares
 * with last Monday, not with Sunday. Days are local calendar days, never a fixed 24 hours.
 */
import { isWorkingDate, localDate, startOfLocalDay, zoneOffset, type WorkCalendar } from './working-time.ts'

/** `yesterday`: 较昨日同期; `last_week`: 较上周同期 (the same weekday a week back). */
export type ComparisonBasis = 'yesterday' | 'last_week'

const DAY = 86_400_000

/** `date` ('YYYY-MM-DD') moved by `days` calendar days (date arithmetic: no zone, no DST). */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY).toISOString().slice(0, 10)
}

/** The day that `today` ('YYYY-MM-DD', local) is compared with, and on which basis. */
export function comparisonDay(today: string, cal: WorkCalendar): { basis: ComparisonBasis; date: string } {
  const yesterday = addDays(today, -1)
  return isWorkingDate(yesterday, cal) === isWorkingDate(today, cal)
    ? { basis: 'yesterday', date: yesterday }
    : { basis: 'last_week', date: addDays(today, -7) }
}

/**
 * The comparison for the instant `now`: the compared day from its local midnight (`from`) to the
 * same local time of day (`at`), the figures to be read as they stood at `at`.
 */
export function comparisonPeriod(
  now: number,
  cal: WorkCalendar,
): { basis: ComparisonBasis; date: string; from: number; at: number } {
  const tz = cal.timeZone
  const today = localDate(now, tz)
  const { basis, date } = comparisonDay(today, cal)
  // The wall-clock time of day of `now`, set on the compared date, resolved to an instant there.
  const timeOfDay = now + zoneOffset(now, tz) - Date.parse(`${today}T00:00:00Z`)
  const wall = Date.parse(`${date}T00:00:00Z`) + timeOfDay
  const at = wall - zoneOffset(wall - zoneOffset(wall, tz), tz)
  return { basis, date, from: startOfLocalDay(at, tz), at }
}
