/**
 * Duty rosters of the simulated district: when each kind of staff works, and how many of them. The
 * simulator spends staff time, not clock time: a step that takes an hour of a full team takes two on
 * a weekend or an official holiday, when about half of a weekday's staff is on duty, and does not
 * progress at all outside its team's shifts (no callback at night, no office repair at 03:00).
 *
 * Days off are the office calendar's (weekends, and the 放假调休 holidays it lists; its make-up working
 * days are full days). Shift times are local minutes from midnight; on a day whose length changes
 * with daylight saving they are read as minutes from local midnight, an hour off at worst.
 */
import type { CalendarKind } from '../../shared/calendars.ts'
import { mulberry32, seedFrom } from '../../shared/random.ts'
import { isWorkingDate, localDate, startOfLocalDay, type WorkCalendar } from '../../shared/working-time.ts'

const MIN = 60_000
const HOUR = 60 * MIN

/** A part of the local day a team works, with the share of its full strength on duty. */
export interface Shift {
  start: number
  end: number
  weight: number
}

export interface Roster {
  shifts: readonly Shift[]
  /** The team's strength on a day off, as a share of a working day's. */
  offDay: number
}

/** Staff on duty on weekends and holidays, as a share of a weekday's. */
export const OFF_DAY_CAPACITY = 0.5

const hm = (h: number, m = 0): number => h * 60 + m
const shift = (start: number, end: number, weight = 1): Shift => ({ start, end, weight })

/** The departments' rosters, by the calendar family their categories' limits count on. */
export const DEPARTMENT_ROSTERS: Readonly<Record<CalendarKind, Roster>> = {
  // Emergency repair (突发事件, 井盖, 燃气): round the clock, with a thinner night crew.
  natural: {
    shifts: [shift(0, hm(7), 0.4), shift(hm(7), hm(21)), shift(hm(21), hm(24), 0.4)],
    offDay: OFF_DAY_CAPACITY,
  },
  // Street order and sanitation: 城管 in shifts and daily sweeping, 07:00–21:00 every day.
  extended: { shifts: [shift(hm(7), hm(21))], offDay: OFF_DAY_CAPACITY },
  // Component repairs and social governance: office hours, a duty team on days off.
  office: { shifts: [shift(hm(8, 30), hm(12)), shift(hm(14), hm(18))], offDay: OFF_DAY_CAPACITY },
}

/** The command centre's desk (受理, 立案, 派遣, 作废): 7×24 by rule, a thinner night shift. */
export const CENTRE_ROSTER: Roster = {
  shifts: [shift(0, hm(8), 0.3), shift(hm(8), hm(22)), shift(hm(22), hm(24), 0.3)],
  offDay: 1,
}
/** On-site checks (核查) after a department reports a case done: by day, every day. */
export const VERIFY_ROSTER: Roster = { shifts: [shift(hm(8), hm(20))], offDay: OFF_DAY_CAPACITY }
/** Callbacks (回访) from the 12345 desk: 09:00–12:00 and 14:00–20:30, never at night. */
export const CALLBACK_ROSTER: Roster = {
  shifts: [shift(hm(9), hm(12)), shift(hm(14), hm(20, 30))],
  offDay: OFF_DAY_CAPACITY,
}

/**
 * Whether a grid worker is on duty on a day (一日双巡 every working day; on days off a rota of about
 * half the workers). Deterministic per (seed, worker, day).
 */
export function onPatrolDuty(seed: number, workerId: string, dayStart: number, offDay: boolean): boolean {
  return !offDay || mulberry32(seedFrom(seed, 'rota', workerId, dayStart)).next() < OFF_DAY_CAPACITY
}

interface Day {
  start: number
  end: number
  off: boolean
}

export interface Duty {
  /** Whether the local day holding `ms` is a day off (weekend or holiday) of the office calendar. */
  isOffDay(ms: number): boolean
  /** Local midnight of the day holding `ms`. */
  dayStartOf(ms: number): number
  /** Staff time of `roster` in [a, b), in ms of a full team. */
  between(roster: Roster, a: number, b: number): number
  /** The instant the staff time of `roster` counted from `start` reaches `amount` (ms of a full team). */
  add(roster: Roster, start: number, amount: number): number
}

/** Rosters read on the office calendar's zone and days off. */
export function createDuty(office: WorkCalendar): Duty {
  const tz = office.timeZone
  const cache = new Map<number, Day>()
  const dayAt = (ms: number): Day => {
    const start = startOfLocalDay(ms, tz)
    let d = cache.get(start)
    if (d) return d
    // 30 h later lies inside the next local day whatever its length.
    d = {
      start,
      end: startOfLocalDay(start + 30 * HOUR, tz),
      off: !isWorkingDate(localDate(start, tz), office),
    }
    if (cache.size > 2000) cache.clear()
    cache.set(start, d)
    return d
  }
  /** The day's shifts of `roster` as [from, to, weight] instants. */
  const shiftsOf = (roster: Roster, d: Day): Array<[number, number, number]> =>
    roster.shifts.map((s) => [
      Math.min(d.start + s.start * MIN, d.end),
      Math.min(d.start + s.end * MIN, d.end),
      s.weight * (d.off ? roster.offDay : 1),
    ])

  return {
    isOffDay: (ms) => dayAt(ms).off,
    dayStartOf: (ms) => dayAt(ms).start,
    between(roster, a, b) {
      let total = 0
      for (let d = dayAt(a); d.start < b; d = dayAt(d.end))
        for (const [s, e, w] of shiftsOf(roster, d)) total += Math.max(0, Math.min(e, b) - Math.max(s, a)) * w
      return total
    },
    add(roster, start, amount) {
      let left = Math.max(0, amount)
      // A roster with no staff in a year is a configuration error, not a reason to loop forever.
      for (let d = dayAt(start), n = 0; n < 366; d = dayAt(d.end), n++) {
        for (const [s, e, w] of shiftsOf(roster, d)) {
          const from = Math.max(s, start)
          if (e <= from || w <= 0) continue
          if (left <= (e - from) * w) return Math.round(from + left / w)
          left -= (e - from) * w
        }
      }
      throw new RangeError('the roster has no staff on duty within a year')
    },
  }
}
