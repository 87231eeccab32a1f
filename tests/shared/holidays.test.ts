import { describe, expect, it } from 'vitest'
import { calendarOf, calendarSet, officeCalendar } from '../../shared/calendars.ts'
import { CN_EXTRA_WORKDAYS, CN_HOLIDAYS, CN_HOLIDAY_YEARS } from '../../shared/holidays-cn.ts'
import {
  addLocalDays,
  addWorkingTime,
  DEFAULT_CALENDAR,
  formatIsoWithOffset,
  isWorkingDate,
  localDayBounds,
  startOfLocalDay,
  workingHoursBetween,
} from '../../shared/working-time.ts'

const sh = (local: string): number => Date.parse(`${local}+08:00`)
const range = (from: string, to: string): string[] => {
  const out: string[] = []
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000)
    out.push(new Date(t).toISOString().slice(0, 10))
  return out
}

describe('the official 放假调休 lists', () => {
  it('cover every year a 365-day backfill from today can span', () => {
    expect(CN_HOLIDAY_YEARS.first).toBeLessThanOrEqual(2025)
    expect(CN_HOLIDAY_YEARS.last).toBeGreaterThanOrEqual(2026)
  })

  // 国务院办公厅关于2025年部分节假日安排的通知 (国办发明电〔2024〕12号).
  it('match the State Council notice for 2025', () => {
    for (const d of range('2025-01-28', '2025-02-04')) expect(CN_HOLIDAYS, `春节 ${d}`).toContain(d)
    for (const d of range('2025-10-01', '2025-10-08')) expect(CN_HOLIDAYS, `国庆 ${d}`).toContain(d)
    for (const d of ['2025-01-26', '2025-02-08', '2025-09-28', '2025-10-11'])
      expect(CN_EXTRA_WORKDAYS, `调休 ${d}`).toContain(d)
  })

  // 国务院办公厅关于2026年部分节假日安排的通知: 春节 2月15日–23日 (9 days), 国庆 10月1日–7日.
  it('match the State Council notice for 2026', () => {
    for (const d of range('2026-02-15', '2026-02-23')) expect(CN_HOLIDAYS, `春节 ${d}`).toContain(d)
    for (const d of range('2026-10-01', '2026-10-07')) expect(CN_HOLIDAYS, `国庆 ${d}`).toContain(d)
    for (const d of ['2026-02-14', '2026-02-28', '2026-09-20', '2026-10-10'])
      expect(CN_EXTRA_WORKDAYS, `调休 ${d}`).toContain(d)
  })

  it('make Spring Festival and National Day days off on the default office calendar', () => {
    expect(isWorkingDate('2026-02-17', DEFAULT_CALENDAR)).toBe(false) // a Tuesday in 春节
    expect(isWorkingDate('2026-10-05', DEFAULT_CALENDAR)).toBe(false) // a Monday in 国庆
    expect(isWorkingDate('2026-10-10', DEFAULT_CALENDAR)).toBe(true) // a make-up Saturday
    // A 1-day limit (7.5 h) from 17:00 on the eve of National Day: 1 h that day, 6.5 h on 8 October.
    const due = addWorkingTime(sh('2026-09-30T17:00:00'), { unit: 'days', value: 1 }, DEFAULT_CALENDAR)
    expect(formatIsoWithOffset(due, 'Asia/Shanghai')).toBe('2026-10-08T17:00:00.000+08:00')
  })
})

describe('officeCalendar (HOLIDAYS / EXTRA_WORKDAYS over the shipped lists)', () => {
  it('adds a deployment holiday and a deployment working day', () => {
    const cal = officeCalendar('Asia/Shanghai', ['2026-12-07'], ['2026-10-05'])
    expect(isWorkingDate('2026-12-07', cal)).toBe(false)
    expect(isWorkingDate('2026-10-05', cal)).toBe(true)
    expect(isWorkingDate('2026-10-06', cal)).toBe(false)
  })
  it('lets a deployment holiday cancel an official make-up day', () => {
    expect(isWorkingDate('2026-10-10', officeCalendar('Asia/Shanghai', ['2026-10-10']))).toBe(false)
  })
  it('keeps the zone it is given', () => {
    expect(officeCalendar('Europe/Berlin').timeZone).toBe('Europe/Berlin')
  })
})

describe('calendars per category family', () => {
  const set = calendarSet(DEFAULT_CALENDAR)
  it('counts emergencies in natural time, street order on the extended day, repairs on office time', () => {
    expect(calendarOf(set, 'CG0501')).toBe(set.natural) // 路面塌陷
    expect(calendarOf(set, 'CG0602')).toBe(set.natural) // 井盖
    expect(calendarOf(set, 'SG0202')).toBe(set.natural) // 燃气
    expect(calendarOf(set, 'CG0401')).toBe(set.extended) // 无照经营游商
    expect(calendarOf(set, 'CG0101')).toBe(set.extended) // 暴露垃圾
    expect(calendarOf(set, 'CG0601')).toBe(set.office) // 路灯
    expect(calendarOf(set, 'SG0101')).toBe(set.office) // 邻里纠纷
  })
  it('runs the natural and extended calendars on holidays too', () => {
    const holiday = sh('2026-10-03T00:00:00')
    const next = sh('2026-10-04T00:00:00')
    expect(workingHoursBetween(holiday, next, set.natural)).toBe(24)
    expect(workingHoursBetween(holiday, next, set.extended)).toBe(14)
    expect(workingHoursBetween(holiday, next, set.office)).toBe(0)
  })
})

describe('local days where daylight saving moves midnight', () => {
  // America/Santiago springs forward at 24:00 on 2026-09-05: 2026-09-06 begins at 01:00 (-03:00).
  const tz = 'America/Santiago'
  const noon = Date.parse('2026-09-06T12:00:00-03:00')
  it('starts the day at its first instant', () => {
    expect(formatIsoWithOffset(startOfLocalDay(noon, tz), tz)).toBe('2026-09-06T01:00:00.000-03:00')
  })
  it('steps calendar days, not 24 h', () => {
    expect(formatIsoWithOffset(addLocalDays(noon, -1, tz), tz)).toBe('2026-09-05T00:00:00.000-04:00')
    expect(formatIsoWithOffset(addLocalDays(noon, 1, tz), tz)).toBe('2026-09-07T00:00:00.000-03:00')
    const day = localDayBounds(noon, tz)
    expect((day.end - day.start) / 3_600_000).toBe(23)
  })
  it('counts 23 natural hours on that day', () => {
    const natural = calendarSet({ ...DEFAULT_CALENDAR, timeZone: tz }).natural
    const day = localDayBounds(noon, tz)
    expect(workingHoursBetween(day.start, day.end, natural)).toBe(23)
  })
  it('takes the first of a repeated midnight where clocks fall back at 01:00 (America/Havana)', () => {
    const t = Date.parse('2026-11-01T12:00:00-05:00')
    expect(formatIsoWithOffset(startOfLocalDay(t, 'America/Havana'), 'America/Havana')).toBe(
      '2026-11-01T00:00:00.000-04:00',
    )
    const day = localDayBounds(t, 'America/Havana')
    expect((day.end - day.start) / 3_600_000).toBe(25)
  })
})
