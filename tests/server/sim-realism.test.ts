/**
 * Acceptance (issue 10, "a district that lives like a real one"): a 30-day backfill of the simulator
 * at its default volume, read back through the public API only. Handling goes on over weekends (at
 * about half a weekday's capacity), callbacks (回访) go to events with a reporter and never at night,
 * patrol finds come in while grid workers are on duty, every simulated change names the simulator as
 * its actor, the simulator planned no action the lifecycle refuses, and the month's rates land in the
 * seeds' ranges (处置率 97%, 满意率 99%; late 5–15%).
 *
 * "Late" is the seeds' 限时办结 read backwards: the share of handled cohort events that were not
 * handled within their time limit, 1 − onTimeRate / disposalRate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Actor } from '../../shared/types.ts'
import { DEFAULT_CALENDAR } from '../../shared/working-time.ts'
import { CALLBACK_ROSTER, createDuty, DEPARTMENT_ROSTERS, onPatrolDuty } from '../../server/sim/rosters.ts'
import type { System } from '../../server/system.ts'
import {
  allChanges,
  allEvents,
  call,
  createTestSystem,
  FIXED_NOW,
  isoQ,
  mintToken,
  ms,
  type ApiChange,
  type ApiEvent,
} from './helpers.ts'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const DAYS = 30
const DISTRICT = '430602'
/** Asia/Shanghai has no daylight saving: local time is UTC+8 all year. */
const OFFSET = 8 * HOUR

type Change = ApiChange & { actor?: Actor | null }

/** Local hour (0–23), ISO weekday (1 = Monday … 7 = Sunday) and date of an API instant. */
function local(iso: string): { hour: number; minute: number; weekday: number; date: string } {
  const d = new Date(ms(iso)! + OFFSET)
  return {
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    weekday: ((d.getUTCDay() + 6) % 7) + 1,
    date: d.toISOString().slice(0, 10),
  }
}

interface KpiValues {
  dispatched: number
  disposalRate: number | null
  onTimeRate: number | null
  satisfactionRate: number | null
  extensionRate: number | null
}

describe('a 30-day backfill lives like a real district', () => {
  let system: System
  let cleanup: () => Promise<void>
  let officer: string
  let changes: Change[]
  let events: Map<string, ApiEvent>
  const from = FIXED_NOW - DAYS * DAY

  beforeAll(async () => {
    const t = await createTestSystem({ env: { BACKFILL_DAYS: String(DAYS) } })
    system = t.system
    cleanup = t.cleanup
    await system.startSimulation()
    officer = await mintToken(system.app, 'officer')
    changes = await allChanges<Change>(system.app, officer)
    events = new Map((await allEvents(system.app, officer, `region=${DISTRICT}`)).map((e) => [e.id, e]))
  }, 240_000)
  afterAll(async () => {
    await cleanup?.()
  })

  it('handles events on every Saturday and Sunday, at about half of a weekday’s rate', () => {
    const handlesByDate = new Map<string, { weekday: number; n: number }>()
    for (const c of changes) {
      if (c.action !== 'handle') continue
      const l = local(c.at)
      const d = handlesByDate.get(l.date) ?? { weekday: l.weekday, n: 0 }
      d.n++
      handlesByDate.set(l.date, d)
    }
    // Whole local days inside the backfill (the first and the last are partial).
    const days: { date: string; weekday: number; n: number }[] = []
    for (let t = from + DAY; t < FIXED_NOW - DAY; t += DAY) {
      const l = local(new Date(t).toISOString())
      days.push({ date: l.date, weekday: l.weekday, n: handlesByDate.get(l.date)?.n ?? 0 })
    }
    const weekend = days.filter((d) => d.weekday >= 6)
    const weekdays = days.filter((d) => d.weekday <= 5)
    expect(weekend.length).toBeGreaterThanOrEqual(8)
    for (const d of weekend) expect(d.n, `handles on ${d.date}`).toBeGreaterThan(10)
    const mean = (xs: { n: number }[]) => xs.reduce((s, d) => s + d.n, 0) / xs.length
    const ratio = mean(weekend) / mean(weekdays)
    expect(ratio).toBeGreaterThan(0.3)
    expect(ratio).toBeLessThan(0.9)
  })

  it('calls back only events with a reporter, almost all of them, and never at night', () => {
    const evaluations = changes.filter((c) => c.action === 'evaluate')
    expect(evaluations.length).toBeGreaterThan(300)
    for (const c of evaluations) {
      expect(events.get(c.eventId)?.reporter, `${c.eventId} evaluated without a reporter`).toBeDefined()
      const { hour } = local(c.at)
      expect(hour >= 8 && hour < 21, `callback at ${c.at}`).toBe(true)
    }
    // Events with a reporter closed more than a week ago: almost every one was called back.
    const due = [...events.values()].filter(
      (e) => e.reporter && e.status === 'closed' && ms(e.closedAt)! < FIXED_NOW - 7 * DAY,
    )
    expect(due.length).toBeGreaterThan(100)
    const called = due.filter((e) => e.evaluatedAt !== null).length
    expect(called / due.length).toBeGreaterThan(0.9)
  })

  it('verifies by day and reports patrol finds only while grid workers are on duty', () => {
    for (const c of changes.filter((x) => x.action === 'verify')) {
      const { hour } = local(c.at)
      expect(hour >= 7 && hour < 21, `verification at ${c.at}`).toBe(true)
    }
    const patrolFinds = [...events.values()].filter((e) => e.source === 'patrol')
    expect(patrolFinds.length).toBeGreaterThan(1000)
    const perDay = { weekday: 0, weekend: 0 }
    for (const e of patrolFinds) {
      const { hour, weekday } = local(e.reportedAt)
      expect(hour >= 8 && hour < 18, `patrol find at ${e.reportedAt}`).toBe(true)
      perDay[weekday >= 6 ? 'weekend' : 'weekday']++
    }
    // The weekend rota has about half the workers out: about half the finds a day (30 days from a
    // Monday afternoon: 21.4 weekdays, 8 weekend days, near enough).
    const ratio = perDay.weekend / 8 / (perDay.weekday / 22)
    expect(ratio).toBeGreaterThan(0.35)
    expect(ratio).toBeLessThan(0.7)
    // Video analytics watch around the clock.
    const videoAtNight = [...events.values()].filter((e) => {
      const { hour } = local(e.reportedAt)
      return e.source === 'video' && (hour < 6 || hour >= 22)
    })
    expect(videoAtNight.length).toBeGreaterThan(0)
  })

  it('names the simulator and the source it played as the actor of every change', () => {
    expect(changes.length).toBeGreaterThan(10_000)
    for (const c of changes) {
      const e = events.get(c.eventId)!
      expect(c.actor, `${c.seq} ${c.action}`).toEqual({ kind: 'system', id: 'simulator', source: e.source })
    }
  })

  it('plans only what the lifecycle allows: no refusal, extensions before the deadline, returns within 2 h', () => {
    expect(system.simulator!.refusals).toBe(0)
    const byEvent = new Map<string, Change[]>()
    for (const c of changes) byEvent.set(c.eventId, [...(byEvent.get(c.eventId) ?? []), c])
    let extensions = 0
    let returns = 0
    for (const log of byEvent.values()) {
      let deadline: number | null = null
      let dispatchedAt: number | null = null
      for (const c of log) {
        const at = ms(c.at)!
        if (c.action === 'extend') {
          extensions++
          expect(at, `extension of ${c.eventId}`).toBeLessThan(deadline!)
        }
        if (c.action === 'return') {
          returns++
          expect(at, `return of ${c.eventId}`).toBeLessThan(deadline!)
          expect(at - dispatchedAt!, `return of ${c.eventId}`).toBeLessThanOrEqual(2 * HOUR)
        }
        if (c.action === 'dispatch' || (c.action === 'verify' && c.data?.passed === false)) dispatchedAt = at
        if (c.data?.deadline) deadline = ms(c.data.deadline)
        if (c.action === 'return') deadline = null
      }
    }
    expect(extensions).toBeGreaterThan(10)
    expect(returns).toBeGreaterThan(10)
  })

  it('parks 1–3% of cases for weeks (挂账) and lands the month’s rates in the seeds’ ranges', async () => {
    const r = await call<{ values: KpiValues }>(
      system.app,
      `/api/v1/kpis?region=${DISTRICT}&from=${isoQ(from)}&to=${isoQ(FIXED_NOW)}`,
      { token: officer },
    )
    expect(r.status).toBe(200)
    const v = r.body.values
    expect(v.dispatched).toBeGreaterThan(2000)
    const late = 1 - v.onTimeRate! / v.disposalRate!
    const figures = { disposal: v.disposalRate, satisfaction: v.satisfactionRate, late }
    expect(v.disposalRate, JSON.stringify(figures)).toBeGreaterThanOrEqual(0.95)
    expect(v.disposalRate, JSON.stringify(figures)).toBeLessThanOrEqual(0.99)
    expect(v.satisfactionRate, JSON.stringify(figures)).toBeGreaterThanOrEqual(0.95)
    expect(v.satisfactionRate, JSON.stringify(figures)).toBeLessThanOrEqual(0.99)
    expect(late, JSON.stringify(figures)).toBeGreaterThanOrEqual(0.05)
    expect(late, JSON.stringify(figures)).toBeLessThanOrEqual(0.15)

    // Parked: dispatched in the first half of the month and still open now.
    const early = [...events.values()].filter((e) => {
      const d = ms(e.firstDispatchedAt)
      return d !== null && d >= from && d < FIXED_NOW - 14 * DAY && e.status !== 'cancelled'
    })
    const parked = early.filter((e) => e.status === 'dispatched').length / early.length
    expect(parked).toBeGreaterThanOrEqual(0.01)
    expect(parked).toBeLessThanOrEqual(0.03)
  })

  it('keeps on-duty pings for the comparisons: 在岗网格员 yesterday and a week ago at this time is like today’s', async () => {
    const online = async (at: number) => {
      const q = `region=${DISTRICT}&at=${isoQ(at)}`
      const r = await call<{ values: { onlineWorkers: number | null } }>(system.app, `/api/v1/kpis?${q}`, {
        token: officer,
      })
      expect(r.status).toBe(200)
      return r.body.values.onlineWorkers
    }
    const today = (await online(FIXED_NOW))!
    expect(today).toBeGreaterThan(100)
    // Both Wednesdays, working days at 15:30: a like day has a like number on duty.
    for (const back of [DAY, 7 * DAY]) {
      const then = await online(FIXED_NOW - back)
      expect(then, `${back / DAY} d back`).not.toBeNull()
      expect(then! / today, `${back / DAY} d back: ${then} vs ${today}`).toBeGreaterThan(0.75)
      expect(then! / today, `${back / DAY} d back: ${then} vs ${today}`).toBeLessThan(1.33)
    }
  })
})

describe('duty rosters', () => {
  const at = (iso: string) => Date.parse(iso)
  const day = (date: string): [number, number] => [
    at(`${date}T00:00:00+08:00`),
    at(`${date}T00:00:00+08:00`) + DAY,
  ]
  // 2026 National Day: 1–7 October off, Sunday 20 September and Saturday 10 October worked (调休).
  const duty = createDuty({
    ...DEFAULT_CALENDAR,
    holidays: ['2026-10-01', '2026-10-02', '2026-10-05', '2026-10-06', '2026-10-07'],
    extraWorkdays: ['2026-09-20', '2026-10-10'],
  })

  it('staffs official holidays and weekends at half a working day’s strength, make-up days in full', () => {
    for (const roster of Object.values(DEPARTMENT_ROSTERS)) {
      const weekday = duty.between(roster, ...day('2026-09-24'))
      expect(weekday).toBeGreaterThan(0)
      expect(duty.between(roster, ...day('2026-10-01'))).toBeCloseTo(weekday / 2, 6)
      expect(duty.between(roster, ...day('2026-09-26'))).toBeCloseTo(weekday / 2, 6)
      expect(duty.between(roster, ...day('2026-10-10'))).toBeCloseTo(weekday, 6)
      expect(duty.between(roster, ...day('2026-09-20'))).toBeCloseTo(weekday, 6)
    }
    // An hour of callbacks asked for late on a holiday evening: two hours of the next morning's desk.
    const done = duty.add(CALLBACK_ROSTER, at('2026-10-02T20:30:00+08:00'), HOUR)
    expect(done).toBe(at('2026-10-03T11:00:00+08:00'))
  })

  it('puts about half of the grid workers on the holiday rota, all of them on a working day', () => {
    const workers = Array.from({ length: 652 }, (_, i) => `W${String(i).padStart(5, '0')}`)
    const onHoliday = workers.filter((w) => onPatrolDuty(1, w, at('2026-10-01T00:00:00+08:00'), true))
    expect(onHoliday.length / workers.length).toBeGreaterThan(0.4)
    expect(onHoliday.length / workers.length).toBeLessThan(0.6)
    expect(workers.every((w) => onPatrolDuty(1, w, at('2026-09-24T00:00:00+08:00'), false))).toBe(true)
  })
})
