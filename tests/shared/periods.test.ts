/**
 * The briefing's periods (shared/periods.ts) in the city's calendar: what "this week / month /
 * quarter" are, what they are compared with (环比, 同比) and how their sparklines are cut.
 */
import { describe, expect, it } from 'vitest'
import {
  bucketSizeOf,
  bucketsOf,
  midnightOf,
  periodAsOf,
  periodOf,
  previousPeriod,
  shiftYears,
  yearBefore,
} from '../../shared/periods.ts'

const TZ = 'Asia/Shanghai'
const at = (s: string) => Date.parse(s)
/** Wednesday 2026-11-25 15:30 local. */
const NOW = at('2026-11-25T15:30:00+08:00')

describe('periodOf', () => {
  it('today, this week (from Monday), this month and this quarter run from their local start to now', () => {
    expect(periodOf('today', NOW, TZ)).toEqual({
      kind: 'today',
      from: at('2026-11-25T00:00:00+08:00'),
      to: NOW,
      end: at('2026-11-26T00:00:00+08:00'),
    })
    expect(periodOf('week', NOW, TZ)).toMatchObject({
      from: at('2026-11-23T00:00:00+08:00'),
      end: at('2026-11-30T00:00:00+08:00'),
    })
    expect(periodOf('month', NOW, TZ)).toMatchObject({
      from: at('2026-11-01T00:00:00+08:00'),
      end: at('2026-12-01T00:00:00+08:00'),
    })
    expect(periodOf('quarter', NOW, TZ)).toMatchObject({
      from: at('2026-10-01T00:00:00+08:00'),
      end: at('2027-01-01T00:00:00+08:00'),
    })
    // A Sunday belongs to the week that began the Monday before.
    expect(periodOf('week', at('2026-11-29T23:00:00+08:00'), TZ).from).toBe(at('2026-11-23T00:00:00+08:00'))
  })

  it('is never empty just after midnight, and a custom range is taken as given', () => {
    const m = at('2026-11-25T00:00:00+08:00')
    expect(periodOf('today', m, TZ).to).toBe(m + 1)
    const r = { from: at('2026-11-01T00:00:00+08:00'), to: at('2026-11-08T00:00:00+08:00') }
    expect(periodOf('custom', NOW, TZ, r)).toEqual({ kind: 'custom', ...r, end: r.to })
    expect(() => periodOf('custom', NOW, TZ)).toThrow()
  })

  it('as of an instant: the same start, cut there', () => {
    const p = periodOf('month', NOW, TZ)
    expect(periodAsOf(p, at('2026-11-10T08:00:00+08:00'))).toMatchObject({
      from: p.from,
      to: at('2026-11-10T08:00:00+08:00'),
    })
    expect(periodAsOf(p, NOW + 1000).to).toBe(NOW)
  })
})

describe('环比: the previous period over the same elapsed time', () => {
  it('this month so far against last month’s same days, this week against last week, today against yesterday', () => {
    expect(previousPeriod(periodOf('month', NOW, TZ), TZ)).toEqual({
      from: at('2026-10-01T00:00:00+08:00'),
      to: at('2026-10-25T15:30:00+08:00'),
    })
    expect(previousPeriod(periodOf('week', NOW, TZ), TZ)).toEqual({
      from: at('2026-11-16T00:00:00+08:00'),
      to: at('2026-11-18T15:30:00+08:00'),
    })
    expect(previousPeriod(periodOf('today', NOW, TZ), TZ)).toEqual({
      from: at('2026-11-24T00:00:00+08:00'),
      to: at('2026-11-24T15:30:00+08:00'),
    })
    expect(previousPeriod(periodOf('quarter', NOW, TZ), TZ).from).toBe(at('2026-07-01T00:00:00+08:00'))
  })

  it('never runs past the end of the shorter previous month', () => {
    const march31 = at('2026-03-31T12:00:00+08:00')
    expect(previousPeriod(periodOf('month', march31, TZ), TZ)).toEqual({
      from: at('2026-02-01T00:00:00+08:00'),
      to: at('2026-03-01T00:00:00+08:00'),
    })
  })

  it('a custom range is compared with the range of the same length just before it', () => {
    const r = { from: at('2026-11-01T00:00:00+08:00'), to: at('2026-11-08T00:00:00+08:00') }
    expect(previousPeriod(periodOf('custom', NOW, TZ, r), TZ)).toEqual({
      from: at('2026-10-25T00:00:00+08:00'),
      to: r.from,
    })
  })
})

describe('同比: the same period a year before', () => {
  it('moves the local dates back one year, over the same elapsed time', () => {
    expect(yearBefore(periodOf('month', NOW, TZ), TZ)).toEqual({
      from: at('2025-11-01T00:00:00+08:00'),
      to: at('2025-11-25T15:30:00+08:00'),
    })
    expect(shiftYears(at('2028-02-29T10:00:00+08:00'), -1, TZ)).toBe(at('2027-02-28T10:00:00+08:00'))
    expect(midnightOf('2026-01-01', TZ)).toBe(at('2026-01-01T00:00:00+08:00'))
  })
})

describe('sparkline buckets', () => {
  it('cut a day in hours, a month in days, a long range in Monday weeks; contiguous, covering the period', () => {
    const today = periodOf('today', NOW, TZ)
    const month = periodOf('month', NOW, TZ)
    const year = { from: at('2026-01-01T00:00:00+08:00'), to: NOW }
    expect(bucketSizeOf(today)).toBe('hour')
    expect(bucketSizeOf(month)).toBe('day')
    expect(bucketSizeOf(year)).toBe('week')
    for (const p of [today, month, year]) {
      const b = bucketsOf(p, TZ)
      expect(b[0]!.from).toBe(p.from)
      expect(b.at(-1)!.to).toBe(p.to)
      for (let i = 1; i < b.length; i++) expect(b[i]!.from).toBe(b[i - 1]!.to)
    }
    expect(bucketsOf(today, TZ)).toHaveLength(16)
    expect(bucketsOf(month, TZ)).toHaveLength(25)
    // Weeks start on Mondays (2026-01-01 is a Thursday: the first bucket is cut at its start).
    expect(bucketsOf(year, TZ)[1]!.from).toBe(at('2026-01-05T00:00:00+08:00'))
  })
})
