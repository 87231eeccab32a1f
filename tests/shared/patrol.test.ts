import { describe, it, expect } from 'vitest'
import { detectRounds } from '../../shared/patrol.ts'
import type { PatrolPing } from '../../shared/patrol.ts'

const MIN = 60_000
const T0 = Date.parse('2026-11-30T08:30:00+08:00')
/** Pings at the given minutes after T0; `o` marks an outside ping. */
const pings = (...spec: Array<number | [number, 'o']>): PatrolPing[] =>
  spec.map((s) => {
    const [m, inside] = typeof s === 'number' ? [s, true] : [s[0], false]
    return { lat: 29.37, lng: 113.1, at: T0 + m * MIN, inside }
  })
const every = (from: number, to: number, step: number): number[] => {
  const out: number[] = []
  for (let m = from; m <= to; m += step) out.push(m)
  return out
}

describe('detectRounds', () => {
  it('finds one round of 15 minutes with pings every minute', () => {
    expect(detectRounds(pings(...every(0, 15, 1)))).toEqual([
      { startedAt: T0, endedAt: T0 + 15 * MIN, pings: 16 },
    ])
  })

  it('ignores a run shorter than 15 minutes', () => {
    expect(detectRounds(pings(...every(0, 14, 1)))).toEqual([])
  })

  it('accepts gaps just under 5 minutes', () => {
    expect(detectRounds(pings(0, 4.9, 9.8, 14.7, 19.6))).toHaveLength(1)
  })

  it('splits a run at a gap of exactly 5 minutes', () => {
    expect(detectRounds(pings(0, 4, 8, 13, 17))).toEqual([])
    const rounds = detectRounds(pings(...every(0, 16, 2), ...every(21, 40, 1)))
    expect(rounds.map((r) => [(r.startedAt - T0) / MIN, (r.endedAt - T0) / MIN])).toEqual([
      [0, 16],
      [21, 40],
    ])
  })

  it('ends a run at an outside ping', () => {
    const rounds = detectRounds(pings(...every(0, 10, 1), [11, 'o'], ...every(12, 30, 1)))
    expect(rounds).toEqual([{ startedAt: T0 + 12 * MIN, endedAt: T0 + 30 * MIN, pings: 19 }])
  })

  it('finds two rounds in a day (一日双巡)', () => {
    const morning = every(0, 30, 0.5)
    const afternoon = every(330, 360, 1)
    expect(detectRounds(pings(...morning, [100, 'o'], ...afternoon))).toHaveLength(2)
  })

  it('returns nothing for no pings, or only outside pings', () => {
    expect(detectRounds([])).toEqual([])
    expect(detectRounds(pings([0, 'o'], [20, 'o']))).toEqual([])
  })

  it('takes custom thresholds', () => {
    expect(detectRounds(pings(0, 6, 12), { minMinutes: 10, maxGapMinutes: 7 })).toHaveLength(1)
    expect(detectRounds(pings(0, 6, 12), { minMinutes: 10 })).toEqual([])
  })

  it('ends a run at a ping earlier than its predecessor rather than counting a negative gap', () => {
    const p = pings(...every(0, 20, 1))
    p.splice(10, 0, { ...p[0]!, at: T0 - MIN })
    const rounds = detectRounds(p)
    expect(rounds.every((r) => r.endedAt >= r.startedAt)).toBe(true)
    expect(rounds.reduce((n, r) => n + r.pings, 0)).toBeLessThan(p.length)
  })
})
