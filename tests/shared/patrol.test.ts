import { describe, it, expect } from 'vitest'
import {
  detectRounds,
  hasTwoRounds,
  isFuturePing,
  isRunOver,
  MAX_PING_AHEAD_MS,
  middayOf,
  stepRound,
  type OpenRun,
  type PatrolDay,
  type RoundSpan,
} from '../../shared/patrol.ts'
import type { PatrolPing } from '../../shared/patrol.ts'
import { mulberry32 } from '../../shared/random.ts'
import { startOfLocalDay } from '../../shared/working-time.ts'

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

  it("ignores a ping earlier than the open run's last one rather than counting a negative gap", () => {
    const p = pings(...every(0, 20, 1))
    p.splice(10, 0, { ...p[0]!, at: T0 - MIN })
    const rounds = detectRounds(p)
    expect(rounds.every((r) => r.endedAt >= r.startedAt)).toBe(true)
    expect(rounds.reduce((n, r) => n + r.pings, 0)).toBeLessThan(p.length)
  })
})

describe('stepRound (the incremental detector detectRounds folds)', () => {
  const at = (m: number, inside = true): PatrolPing => ({ lat: 29.37, lng: 113.1, at: T0 + m * MIN, inside })

  it('opens a run, reports the round from the ping that makes it last 15 minutes, and extends it', () => {
    let run: OpenRun | null = null
    const made: Array<number | null> = []
    for (const m of every(0, 16, 1)) {
      const s = stepRound(run, at(m))
      expect(s.closed).toBeNull()
      made.push(s.round && (s.round.endedAt - s.round.startedAt) / MIN)
      run = s.run
    }
    expect(made.slice(0, 15).every((r) => r === null)).toBe(true)
    expect(made.slice(15)).toEqual([15, 16])
    expect(run).toEqual({ startedAt: T0, lastAt: T0 + 16 * MIN, pings: 17 })
  })

  it('closes the round at an outside ping or a gap of 5 minutes, and says which round it closed', () => {
    const run: OpenRun = { startedAt: T0, lastAt: T0 + 20 * MIN, pings: 21 }
    expect(stepRound(run, at(21, false))).toEqual({
      run: null,
      round: null,
      closed: { startedAt: T0, endedAt: T0 + 20 * MIN, pings: 21 },
    })
    const s = stepRound(run, at(25))
    expect(s.closed).toEqual({ startedAt: T0, endedAt: T0 + 20 * MIN, pings: 21 })
    expect(s.run).toEqual({ startedAt: T0 + 25 * MIN, lastAt: T0 + 25 * MIN, pings: 1 })
    expect(s.round).toBeNull()
    // A run too short to be a round closes nothing.
    expect(stepRound({ startedAt: T0, lastAt: T0 + 5 * MIN, pings: 6 }, at(11)).closed).toBeNull()
  })

  it('reads a run as over at an instant 5 minutes after its last ping, as its next ping would find', () => {
    const run: OpenRun = { startedAt: T0, lastAt: T0 + 20 * MIN, pings: 21 }
    expect(isRunOver(run, T0 + 24.9 * MIN)).toBe(false)
    expect(isRunOver(run, T0 + 25 * MIN)).toBe(true)
    expect(stepRound(run, at(25)).closed).not.toBeNull()
  })

  it('leaves the run as it was for a ping older than its last one', () => {
    const run: OpenRun = { startedAt: T0, lastAt: T0 + 20 * MIN, pings: 21 }
    expect(stepRound(run, at(3, false))).toEqual({ run, round: null, closed: null })
  })

  it('gives the same rounds whether the pings come in one batch or in many, the run saved and read back between them', () => {
    const rng = mulberry32(20261130)
    for (let trial = 0; trial < 200; trial++) {
      const ps: PatrolPing[] = []
      let t = 0
      for (let i = 0; i < 120; i++) {
        t += rng.next() < 0.1 ? rng.range(4, 8) : rng.range(0, 1.5)
        ps.push(at(t, rng.next() > 0.05))
      }
      const batch = detectRounds(ps)
      // Incrementally, the open run persisted (as JSON) at random cuts: a restart changes nothing.
      const rounds = new Map<number, RoundSpan & { pings: number }>()
      let saved = 'null'
      for (let i = 0; i < ps.length;) {
        const n = 1 + Math.floor(rng.next() * 20)
        let run = JSON.parse(saved) as OpenRun | null
        for (const p of ps.slice(i, i + n)) {
          const s = stepRound(run, p)
          if (s.round) rounds.set(s.round.startedAt, s.round)
          run = s.run
        }
        saved = JSON.stringify(run)
        i += n
      }
      expect([...rounds.values()], `trial ${trial}`).toEqual(batch)
    }
  })
})

describe('hasTwoRounds (一日双巡)', () => {
  const HOUR = 60 * MIN
  const DAY0 = Date.parse('2026-11-30T00:00:00+08:00')
  const day: PatrolDay = { start: DAY0, midday: DAY0 + 12 * HOUR, end: DAY0 + 24 * HOUR }
  const span = (fromH: number, toH: number): RoundSpan => ({
    startedAt: DAY0 + fromH * HOUR,
    endedAt: DAY0 + toH * HOUR,
  })

  it('needs one round starting before midday and one starting after it', () => {
    expect(hasTwoRounds([span(9, 9.5), span(14, 14.5)], day)).toBe(true)
    expect(hasTwoRounds([span(9, 9.25), span(9.5, 9.75)], day)).toBe(false)
    expect(hasTwoRounds([span(14, 14.25), span(15, 15.5)], day)).toBe(false)
    expect(hasTwoRounds([span(14, 14.5)], day)).toBe(false)
    expect(hasTwoRounds([], day)).toBe(false)
  })

  it('counts a round starting exactly at midday as the afternoon one', () => {
    expect(hasTwoRounds([span(9, 9.5), span(12, 12.5)], day)).toBe(true)
  })

  it('refuses rounds that overlap (two workers walking the grid at once), but takes a morning round running past midday', () => {
    expect(hasTwoRounds([span(11.75, 12.5), span(12.25, 12.75)], day)).toBe(false)
    expect(hasTwoRounds([span(11.75, 12.25), span(12.5, 13)], day)).toBe(true)
    // Any pair will do: a short early round and a late one.
    expect(hasTwoRounds([span(11.5, 12.5), span(8, 8.5), span(12.25, 12.75)], day)).toBe(true)
  })

  it('counts only the rounds that started on the local day', () => {
    expect(hasTwoRounds([span(-1, -0.5), span(14, 14.5)], day)).toBe(false)
    expect(hasTwoRounds([span(9, 9.5), span(24.5, 25)], day)).toBe(false)
  })

  it('takes another midday', () => {
    const late = { ...day, midday: DAY0 + 15 * HOUR }
    expect(hasTwoRounds([span(9, 9.5), span(14, 14.5)], late)).toBe(false)
    expect(hasTwoRounds([span(9, 9.5), span(15, 15.5)], late)).toBe(true)
  })
})

describe('middayOf', () => {
  it('is the local wall time on the day, also where the offset changes before it', () => {
    const d = startOfLocalDay(Date.parse('2026-11-30T10:00:00+08:00'), 'Asia/Shanghai')
    expect(middayOf(d, 'Asia/Shanghai')).toBe(Date.parse('2026-11-30T12:00:00+08:00'))
    expect(middayOf(d, 'Asia/Shanghai', 13 * 60 + 30)).toBe(Date.parse('2026-11-30T13:30:00+08:00'))
    // Europe/Berlin springs forward at 02:00 on 2026-03-29: midday is 12:00 CEST (+02:00).
    const berlin = startOfLocalDay(Date.parse('2026-03-29T10:00:00+02:00'), 'Europe/Berlin')
    expect(middayOf(berlin, 'Europe/Berlin')).toBe(Date.parse('2026-03-29T12:00:00+02:00'))
    // America/Santiago springs forward at local midnight (2026-09-06): the day starts at 01:00.
    const santiago = Date.parse('2026-09-06T01:00:00-03:00')
    expect(middayOf(santiago, 'America/Santiago')).toBe(Date.parse('2026-09-06T12:00:00-03:00'))
  })
})

describe('isFuturePing', () => {
  it('refuses a ping more than 2 minutes ahead of the server clock', () => {
    expect(MAX_PING_AHEAD_MS).toBe(2 * MIN)
    expect(isFuturePing(T0 + 2 * MIN, T0)).toBe(false)
    expect(isFuturePing(T0 + 2 * MIN + 1, T0)).toBe(true)
    expect(isFuturePing(T0 - 60 * MIN, T0)).toBe(false)
  })
})
