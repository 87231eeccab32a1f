import { describe, it, expect } from 'vitest'
import {
  addWorkingTime,
  dailyWorkingMinutes,
  DEFAULT_CALENDAR,
  formatIsoWithOffset,
  isWorkingDate,
  isWorkingTime,
  localDate,
  startOfLocalDay,
  workingHoursBetween,
  workingMillisBetween,
  zoneOffset,
} from '../../shared/working-time.ts'
import type { WorkCalendar } from '../../shared/working-time.ts'

const SH = 'Asia/Shanghai'
/** Shanghai wall time → epoch ms. 2026-11-23 is a Monday. */
const sh = (s: string): number => Date.parse(`${s}+08:00`)
const iso = (ms: number, tz = SH): string => formatIsoWithOffset(ms, tz)
const hours = (value: number) => ({ unit: 'hours' as const, value })
const days = (value: number) => ({ unit: 'days' as const, value })

describe('addWorkingTime with hours on the default calendar', () => {
  it('stays within one morning period', () => {
    expect(iso(addWorkingTime(sh('2026-11-23T09:00:00'), hours(2), DEFAULT_CALENDAR))).toBe(
      '2026-11-23T11:00:00.000+08:00',
    )
  })

  it('skips the lunch break', () => {
    expect(iso(addWorkingTime(sh('2026-11-23T11:00:00'), hours(2), DEFAULT_CALENDAR))).toBe(
      '2026-11-23T15:00:00.000+08:00',
    )
  })

  it('carries Friday 17:00 + 2 h over the weekend to Monday 09:30', () => {
    expect(iso(addWorkingTime(sh('2026-11-27T17:00:00'), hours(2), DEFAULT_CALENDAR))).toBe(
      '2026-11-30T09:30:00.000+08:00',
    )
  })

  it('ends exactly at a period end rather than at the next period start', () => {
    expect(iso(addWorkingTime(sh('2026-11-23T16:00:00'), hours(2), DEFAULT_CALENDAR))).toBe(
      '2026-11-23T18:00:00.000+08:00',
    )
  })

  it('starts counting at the next period start when reported during lunch', () => {
    expect(iso(addWorkingTime(sh('2026-11-23T12:30:00'), hours(1), DEFAULT_CALENDAR))).toBe(
      '2026-11-23T15:00:00.000+08:00',
    )
  })

  it('starts counting on Monday morning when reported on Saturday night', () => {
    expect(iso(addWorkingTime(sh('2026-11-28T22:00:00'), hours(4), DEFAULT_CALENDAR))).toBe(
      '2026-11-30T14:30:00.000+08:00',
    )
  })

  it('starts counting the next morning when reported after 18:00', () => {
    expect(iso(addWorkingTime(sh('2026-11-23T19:00:00'), hours(5), DEFAULT_CALENDAR))).toBe(
      '2026-11-24T15:30:00.000+08:00',
    )
  })

  it('counts fractions of an hour', () => {
    expect(iso(addWorkingTime(sh('2026-11-23T11:45:00'), hours(0.5), DEFAULT_CALENDAR))).toBe(
      '2026-11-23T14:15:00.000+08:00',
    )
  })

  it('returns the start itself for a zero limit', () => {
    expect(addWorkingTime(sh('2026-11-28T22:00:00'), hours(0), DEFAULT_CALENDAR)).toBe(
      sh('2026-11-28T22:00:00'),
    )
  })

  it('throws on a negative limit', () => {
    expect(() => addWorkingTime(0, hours(-1), DEFAULT_CALENDAR)).toThrow(RangeError)
  })
})

describe('addWorkingTime with days', () => {
  it('treats one working day as 7.5 working hours', () => {
    expect(dailyWorkingMinutes(DEFAULT_CALENDAR)).toBe(450)
    expect(iso(addWorkingTime(sh('2026-11-23T10:00:00'), days(1), DEFAULT_CALENDAR))).toBe(
      '2026-11-24T10:00:00.000+08:00',
    )
  })

  it('from the start of a working day, one day ends at that day’s close', () => {
    expect(iso(addWorkingTime(sh('2026-11-23T08:30:00'), days(1), DEFAULT_CALENDAR))).toBe(
      '2026-11-23T18:00:00.000+08:00',
    )
  })

  it('counts 15 working days across weekends for 违法搭建', () => {
    expect(iso(addWorkingTime(sh('2026-11-23T08:30:00'), days(15), DEFAULT_CALENDAR))).toBe(
      '2026-12-11T18:00:00.000+08:00',
    )
  })
})

describe('holidays and make-up working days', () => {
  const cal: WorkCalendar = {
    ...DEFAULT_CALENDAR,
    holidays: ['2026-10-01', '2026-10-02', '2026-10-05', '2026-10-06', '2026-10-07'],
    extraWorkdays: ['2026-10-10'],
  }

  it('skips the listed holidays', () => {
    // Wednesday 30 Sep 17:00 + 2 h: the National Day holidays and the weekend are skipped.
    expect(iso(addWorkingTime(sh('2026-09-30T17:00:00'), hours(2), cal))).toBe(
      '2026-10-08T09:30:00.000+08:00',
    )
  })

  it('works on a make-up Saturday', () => {
    expect(iso(addWorkingTime(sh('2026-10-09T17:00:00'), hours(2), cal))).toBe(
      '2026-10-10T09:30:00.000+08:00',
    )
    expect(isWorkingDate('2026-10-10', cal)).toBe(true)
    // The shipped official lists make it one by default; a weekday calendar without them does not.
    expect(isWorkingDate('2026-10-10', DEFAULT_CALENDAR)).toBe(true)
    expect(isWorkingDate('2026-10-10', { ...DEFAULT_CALENDAR, holidays: [], extraWorkdays: [] })).toBe(false)
  })

  it('lets a make-up day win over a holiday entry for the same date', () => {
    const both: WorkCalendar = {
      ...DEFAULT_CALENDAR,
      holidays: ['2026-10-10'],
      extraWorkdays: ['2026-10-10'],
    }
    expect(isWorkingDate('2026-10-10', both)).toBe(true)
  })

  it('counts no working time on a holiday', () => {
    expect(workingHoursBetween(sh('2026-10-01T00:00:00'), sh('2026-10-02T00:00:00'), cal)).toBe(0)
    expect(workingHoursBetween(sh('2026-10-10T00:00:00'), sh('2026-10-11T00:00:00'), cal)).toBe(7.5)
  })
})

describe('workingMillisBetween', () => {
  it('is 0 when b is not after a', () => {
    expect(workingMillisBetween(sh('2026-11-23T10:00:00'), sh('2026-11-23T10:00:00'), DEFAULT_CALENDAR)).toBe(
      0,
    )
    expect(workingMillisBetween(sh('2026-11-23T11:00:00'), sh('2026-11-23T10:00:00'), DEFAULT_CALENDAR)).toBe(
      0,
    )
  })

  it('excludes the lunch break', () => {
    expect(workingHoursBetween(sh('2026-11-23T11:00:00'), sh('2026-11-23T15:00:00'), DEFAULT_CALENDAR)).toBe(
      2,
    )
  })

  it('counts a full week as 37.5 hours', () => {
    expect(workingHoursBetween(sh('2026-11-23T00:00:00'), sh('2026-11-30T00:00:00'), DEFAULT_CALENDAR)).toBe(
      37.5,
    )
  })

  it('is the inverse of addWorkingTime for starts inside working time', () => {
    for (const [start, h] of [
      ['2026-11-23T09:10:00', 3.25],
      ['2026-11-27T17:00:00', 2],
      ['2026-11-25T15:59:00', 40],
    ] as const) {
      const end = addWorkingTime(sh(start), hours(h), DEFAULT_CALENDAR)
      expect(workingHoursBetween(sh(start), end, DEFAULT_CALENDAR)).toBeCloseTo(h, 9)
    }
  })

  it('spans a year in well under a second', () => {
    const t0 = performance.now()
    const h = workingHoursBetween(sh('2026-01-01T00:00:00'), sh('2027-01-01T00:00:00'), DEFAULT_CALENDAR)
    // 2026 has 261 weekdays; the official lists make 248 of them and the make-up days working days.
    expect(h).toBe(248 * 7.5)
    expect(performance.now() - t0).toBeLessThan(1000)
  })
})

describe('isWorkingTime', () => {
  it('is true inside a period (start inclusive, end exclusive) and false at lunch and weekends', () => {
    expect(isWorkingTime(sh('2026-11-23T08:30:00'), DEFAULT_CALENDAR)).toBe(true)
    expect(isWorkingTime(sh('2026-11-23T12:00:00'), DEFAULT_CALENDAR)).toBe(false)
    expect(isWorkingTime(sh('2026-11-28T10:00:00'), DEFAULT_CALENDAR)).toBe(false)
  })
})

describe('calendar validation', () => {
  it('rejects overlapping or inverted periods and unknown zones', () => {
    const bad = (c: Partial<WorkCalendar>) => () => addWorkingTime(0, hours(1), { ...DEFAULT_CALENDAR, ...c })
    expect(bad({ periods: [{ start: '09:00', end: '08:00' }] })).toThrow(RangeError)
    expect(
      bad({
        periods: [
          { start: '08:00', end: '12:00' },
          { start: '11:00', end: '13:00' },
        ],
      }),
    ).toThrow(RangeError)
    expect(bad({ periods: [{ start: '8:00', end: '12:00' }] })).toThrow(RangeError)
    expect(bad({ timeZone: 'Mars/Olympus' })).toThrow(RangeError)
  })

  it('throws instead of looping for a calendar without working days', () => {
    expect(() => addWorkingTime(0, hours(1), { ...DEFAULT_CALENDAR, workdays: [] })).toThrow(RangeError)
  })
})

describe('a zone with daylight saving (America/New_York)', () => {
  const ny: WorkCalendar = { ...DEFAULT_CALENDAR, timeZone: 'America/New_York' }

  it('keeps 08:30 local across the spring-forward weekend', () => {
    // Friday 6 March 2026 17:00 EST + 2 h → Monday 9 March 09:30 EDT.
    const end = addWorkingTime(Date.parse('2026-03-06T17:00:00-05:00'), hours(2), ny)
    expect(iso(end, 'America/New_York')).toBe('2026-03-09T09:30:00.000-04:00')
  })

  it('counts the same working hours in a week containing the fall-back change', () => {
    const h = workingHoursBetween(
      Date.parse('2026-10-26T00:00:00-04:00'),
      Date.parse('2026-11-02T00:00:00-05:00'),
      ny,
    )
    expect(h).toBe(37.5)
  })
})

describe('time-zone helpers', () => {
  it('formats an instant with the Shanghai offset', () => {
    expect(formatIsoWithOffset(Date.parse('2026-11-30T02:15:00Z'), SH)).toBe('2026-11-30T10:15:00.000+08:00')
  })

  it('formats negative and zero offsets', () => {
    expect(formatIsoWithOffset(Date.parse('2026-07-01T12:00:00.5Z'), 'America/New_York')).toBe(
      '2026-07-01T08:00:00.500-04:00',
    )
    expect(formatIsoWithOffset(Date.parse('2026-07-01T12:00:00Z'), 'UTC')).toBe(
      '2026-07-01T12:00:00.000+00:00',
    )
    expect(formatIsoWithOffset(Date.parse('2026-07-01T12:00:00Z'), 'Asia/Kathmandu')).toBe(
      '2026-07-01T17:45:00.000+05:45',
    )
  })

  it('round-trips through Date.parse', () => {
    const t = Date.parse('2026-11-30T23:59:59.999Z')
    expect(Date.parse(formatIsoWithOffset(t, SH))).toBe(t)
  })

  it('gives the local date, which differs from the UTC date after 16:00 UTC in Shanghai', () => {
    expect(localDate(Date.parse('2026-11-30T16:30:00Z'), SH)).toBe('2026-12-01')
    expect(localDate(Date.parse('2026-11-30T15:59:59Z'), SH)).toBe('2026-11-30')
  })

  it('gives the start of the local day', () => {
    expect(startOfLocalDay(sh('2026-11-30T10:15:00'), SH)).toBe(sh('2026-11-30T00:00:00'))
    expect(startOfLocalDay(sh('2026-11-30T00:00:00'), SH)).toBe(sh('2026-11-30T00:00:00'))
  })

  it('computes offsets per instant', () => {
    expect(zoneOffset(Date.parse('2026-01-15T12:00:00Z'), 'America/New_York')).toBe(-5 * 3_600_000)
    expect(zoneOffset(Date.parse('2026-07-15T12:00:00Z'), 'America/New_York')).toBe(-4 * 3_600_000)
    expect(zoneOffset(Date.parse('2026-07-15T12:00:00Z'), SH)).toBe(8 * 3_600_000)
  })
})
