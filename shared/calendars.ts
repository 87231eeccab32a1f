/**
 * The working-time calendars a centre runs on (DESIGN.md §2): centres run 7×24, so a category's
 * disposal limit counts on its family's calendar: natural time for emergencies (突发事件, 井盖, 燃气),
 * a 7-day extended day for street order and sanitation, the office calendar (with the official
 * 放假调休 lists) for component repairs and social governance.
 *
 * Pure data (a `CalendarSet` crosses into the KPI worker thread by structured clone).
 */
import { CATEGORY_BY_CODE } from './categories.ts'
import { DEFAULT_CALENDAR, type WorkCalendar } from './working-time.ts'

export type CalendarKind = 'natural' | 'extended' | 'office'

export interface CalendarSet {
  natural: WorkCalendar
  extended: WorkCalendar
  office: WorkCalendar
}

/** Categories (leaf codes or 4-character group codes) that count natural time. */
const NATURAL = ['CG05', 'CG0602', 'SG0202']
/** Categories that count the 7-day extended day. */
const EXTENDED = ['CG01', 'CG02', 'CG03', 'CG04']

const matches = (code: string, list: string[]): boolean =>
  list.some((p) => code === p || (p.length === 4 && code.startsWith(p)))

/** The calendar kind a category's limit counts on. */
export function calendarKindOf(category: string): CalendarKind {
  if (matches(category, NATURAL)) return 'natural'
  if (matches(category, EXTENDED)) return 'extended'
  return 'office'
}

/** The calendar a category's disposal limit (and its disposal hours) count on. */
export function calendarOf(set: CalendarSet, category: string): WorkCalendar {
  if (!CATEGORY_BY_CODE.has(category)) return set.office
  return set[calendarKindOf(category)]
}

/** Every day of the week, every date: the extended and natural calendars know no holidays. */
const EVERY_DAY = [1, 2, 3, 4, 5, 6, 7]

/** The three calendars from the office calendar (its zone, holidays and make-up days). */
export function calendarSet(office: WorkCalendar): CalendarSet {
  return {
    office,
    extended: {
      timeZone: office.timeZone,
      periods: [{ start: '07:00', end: '21:00' }],
      workdays: EVERY_DAY,
      holidays: [],
      extraWorkdays: [],
    },
    natural: {
      timeZone: office.timeZone,
      periods: [{ start: '00:00', end: '24:00' }],
      workdays: EVERY_DAY,
      holidays: [],
      extraWorkdays: [],
    },
  }
}

/**
 * The office calendar of a city: the default periods and weekdays in `timeZone`, the shipped
 * official lists, and the deployment's own dates on top (`HOLIDAYS`, `EXTRA_WORKDAYS`). A date the
 * deployment lists wins over the shipped lists: a HOLIDAYS date is off even if it was an official
 * make-up day, an EXTRA_WORKDAYS date is worked even if it was an official holiday (and over both
 * of its own lists, a working day).
 */
export function officeCalendar(
  timeZone: string,
  holidays: string[] = [],
  extraWorkdays: string[] = [],
): WorkCalendar {
  const extra = new Set(extraWorkdays)
  const off = new Set(holidays)
  return {
    ...DEFAULT_CALENDAR,
    timeZone,
    holidays: [...new Set([...DEFAULT_CALENDAR.holidays, ...holidays])].filter((d) => !extra.has(d)).sort(),
    extraWorkdays: [
      ...new Set([...DEFAULT_CALENDAR.extraWorkdays.filter((d) => !off.has(d)), ...extraWorkdays]),
    ].sort(),
  }
}
