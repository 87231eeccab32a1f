import { describe, expect, it } from 'vitest'
import { addDays, comparisonDay, comparisonPeriod } from '../../shared/comparison.ts'
import { DEFAULT_CALENDAR, type WorkCalendar } from '../../shared/working-time.ts'

/** The office calendar with a week of holidays and a make-up Saturday (shape of 放假调休 data). */
const OFFICE: WorkCalendar = {
  ...DEFAULT_CALENDAR,
  holidays: ['2026-10-01', '2026-10-02', '2026-10-05', '2026-10-06', '2026-10-07'],
  extraWorkdays: ['2026-10-10'],
}

describe('addDays', () => {
  it('counts calendar days across months, years and leap days', () => {
    expect(addDays('2026-11-30', -7)).toBe('2026-11-23')
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28')
    expect(addDays('2028-03-01', -1)).toBe('2028-02-29')
    expect(addDays('2027-01-01', -1)).toBe('2026-12-31')
  })
})

describe('comparisonDay: yesterday when it was a like day, else the same weekday last week', () => {
  it.each([
    ['2026-11-30', 'last_week', '2026-11-23', 'a Monday: Sunday is not like a Monday'],
    ['2026-12-01', 'yesterday', '2026-11-30', 'a Tuesday: Monday was a working day too'],
    ['2026-11-28', 'last_week', '2026-11-21', 'a Saturday: Friday was a working day'],
    ['2026-11-29', 'yesterday', '2026-11-28', 'a Sunday: Saturday was a rest day too'],
    ['2026-10-08', 'last_week', '2026-10-01', 'the first working day after the holidays'],
    ['2026-10-05', 'yesterday', '2026-10-04', 'a holiday Monday after a Sunday'],
    ['2026-10-10', 'yesterday', '2026-10-09', 'a make-up Saturday after a working Friday'],
    ['2026-10-11', 'last_week', '2026-10-04', 'the Sunday after a make-up Saturday'],
  ])('%s → %s %s (%s)', (today, basis, date) => {
    expect(comparisonDay(today, OFFICE)).toEqual({ basis, date })
  })
})

describe('comparisonPeriod: from the compared day’s local midnight to the same local time of day', () => {
  it('Monday 09:30 in Asia/Shanghai compares with last Monday 09:30', () => {
    const p = comparisonPeriod(Date.parse('2026-11-30T09:30:00+08:00'), OFFICE)
    expect(p).toEqual({
      basis: 'last_week',
      date: '2026-11-23',
      from: Date.parse('2026-11-23T00:00:00+08:00'),
      at: Date.parse('2026-11-23T09:30:00+08:00'),
    })
  })

  it('a Wednesday afternoon compares with Tuesday afternoon', () => {
    const p = comparisonPeriod(Date.parse('2026-11-25T15:30:00.250+08:00'), OFFICE)
    expect(p.basis).toBe('yesterday')
    expect(p.from).toBe(Date.parse('2026-11-24T00:00:00+08:00'))
    expect(p.at).toBe(Date.parse('2026-11-24T15:30:00.250+08:00'))
  })

  it('counts local days, not 24 hours, across a DST change (America/New_York)', () => {
    const ny: WorkCalendar = { ...DEFAULT_CALENDAR, timeZone: 'America/New_York' }
    // DST ended on Sunday 2026-11-01: last Monday 09:30 was EDT (−04:00), this Monday's is EST.
    const p = comparisonPeriod(Date.parse('2026-11-02T09:30:00-05:00'), ny)
    expect(p).toEqual({
      basis: 'last_week',
      date: '2026-10-26',
      from: Date.parse('2026-10-26T00:00:00-04:00'),
      at: Date.parse('2026-10-26T09:30:00-04:00'),
    })
    // The Tuesday after DST began (Sunday 2026-03-08) compares with Monday's 08:00, 24 h earlier.
    const q = comparisonPeriod(Date.parse('2026-03-10T08:00:00-04:00'), ny)
    expect(q.at).toBe(Date.parse('2026-03-09T08:00:00-04:00'))
    // The Monday after it: last Monday was EST, 7 × 24 h + 1 h earlier.
    const r = comparisonPeriod(Date.parse('2026-03-09T08:00:00-04:00'), ny)
    expect(r).toMatchObject({ date: '2026-03-02', at: Date.parse('2026-03-02T08:00:00-05:00') })
    expect(r.from).toBe(Date.parse('2026-03-02T00:00:00-05:00'))
  })
})
