import { calendarSet } from '../../shared/calendars.ts'
import { describe, it, expect } from 'vitest'
import {
  addEventToCounters,
  computeKpis,
  DEFAULT_WEIGHTS,
  emptyKpiCounters,
  KPI_KEYS,
  KPI_LABELS,
  kpisFromCounters,
  removeEventFromCounters,
} from '../../shared/kpis.ts'
import type { KpiContext, KpiInput } from '../../shared/kpis.ts'
import type { GridEvent } from '../../shared/types.ts'
import { DEFAULT_CALENDAR } from '../../shared/working-time.ts'

const sh = (s: string): number => Date.parse(`${s}+08:00`)

function ev(id: string, o: Partial<GridEvent>): GridEvent {
  return {
    id,
    seq: 1,
    status: 'reported',
    // 路灯损坏: an office-calendar category (disposal hours count Mon–Fri 08:30–12:00, 14:00–18:00).
    category: 'CG0601',
    description: '',
    lat: 29.37,
    lng: 113.1,
    gridCode: '430602001001001',
    source: 'patrol',
    reportedAt: sh('2026-11-02T08:00:00'),
    updatedAt: sh('2026-11-02T08:00:00'),
    firstDispatchedAt: null,
    dispatchedAt: null,
    deadline: null,
    handledAt: null,
    lateHandled: false,
    closedAt: null,
    cancelledAt: null,
    department: null,
    reworkCount: 0,
    extensionCount: 0,
    returnCount: 0,
    satisfaction: null,
    evaluatedAt: null,
    ...o,
  }
}

const dispatched = (at: string, deadline: string, o: Partial<GridEvent> = {}): Partial<GridEvent> => ({
  status: 'dispatched',
  firstDispatchedAt: sh(at),
  dispatchedAt: sh(at),
  deadline: sh(deadline),
  department: '环卫处',
  ...o,
})

/** A month (November 2026, Shanghai) with one event per situation. */
const EVENTS: GridEvent[] = [
  // A: handled on time (2 working hours), closed, evaluated satisfied.
  ev('A', {
    reportedAt: sh('2026-11-23T08:00:00'),
    ...dispatched('2026-11-23T09:00:00', '2026-11-23T13:00:00', {
      status: 'closed',
      handledAt: sh('2026-11-23T11:00:00'),
      closedAt: sh('2026-11-23T11:30:00'),
      satisfaction: 'satisfied',
      evaluatedAt: sh('2026-11-24T10:00:00'),
    }),
  }),
  // B: handled late (4 working hours across lunch), reworked once, awaiting verification.
  ev('B', {
    reportedAt: sh('2026-11-24T08:00:00'),
    ...dispatched('2026-11-24T09:00:00', '2026-11-24T10:00:00', {
      status: 'handled',
      handledAt: sh('2026-11-24T15:00:00'),
      lateHandled: true,
      reworkCount: 1,
    }),
  }),
  // C: extended once and still overdue now.
  ev('C', {
    reportedAt: sh('2026-11-25T08:00:00'),
    ...dispatched('2026-11-25T09:00:00', '2026-11-25T11:00:00', { extensionCount: 1 }),
  }),
  // D: dispatched, not yet due.
  ev('D', {
    reportedAt: sh('2026-11-30T08:00:00'),
    ...dispatched('2026-11-30T09:00:00', '2026-11-30T17:00:00'),
  }),
  // E: dispatched in October and overdue now: only in overdueOpen.
  ev('E', {
    reportedAt: sh('2026-10-19T08:00:00'),
    ...dispatched('2026-10-20T09:00:00', '2026-10-21T09:00:00'),
  }),
  // F: reported this month, never dispatched.
  ev('F', { reportedAt: sh('2026-11-29T08:00:00') }),
  // G: from September, evaluated dissatisfied this month.
  ev('G', {
    reportedAt: sh('2026-09-10T08:00:00'),
    ...dispatched('2026-09-10T09:00:00', '2026-09-10T12:00:00', {
      status: 'closed',
      handledAt: sh('2026-09-10T10:00:00'),
      closedAt: sh('2026-09-10T11:00:00'),
      satisfaction: 'dissatisfied',
      evaluatedAt: sh('2026-11-05T10:00:00'),
    }),
  }),
]

const PERIOD = {
  from: sh('2026-11-01T00:00:00'),
  to: sh('2026-12-01T00:00:00'),
  now: sh('2026-11-30T10:00:00'),
}
const input = (events: GridEvent[], o: Partial<KpiInput> = {}): KpiInput => ({
  events,
  ...PERIOD,
  calendars: calendarSet(DEFAULT_CALENDAR),
  patrol: { grids: 10, gridsWithTwoRounds: 7, onlineWorkers: 8 },
  ...o,
})

describe('computeKpis', () => {
  it('computes every key by its DESIGN.md definition', () => {
    expect(computeKpis(input(EVENTS))).toEqual({
      reported: 5,
      dispatched: 4,
      disposalRate: 0.5,
      onTimeRate: 0.25,
      closeRate: 0.25,
      reworkRate: 0.25,
      extensionRate: 0.25,
      overdueRate: 0.25,
      overdueOpen: 2,
      satisfactionRate: 0.5,
      avgDisposalHours: 3,
      score: 30 * 0.5 + 20 * 0.25 + 20 * 0.75 + 20 * 0.75 + 10 * 0.75,
      patrolCoverage: 0.7,
      onlineWorkers: 8,
    })
  })

  it('gives null for every rate whose denominator is 0, and a null score without a cohort', () => {
    expect(computeKpis(input([], { patrol: { grids: 0, gridsWithTwoRounds: 0, onlineWorkers: 0 } }))).toEqual(
      {
        reported: 0,
        dispatched: 0,
        disposalRate: null,
        onTimeRate: null,
        closeRate: null,
        reworkRate: null,
        extensionRate: null,
        overdueRate: null,
        overdueOpen: 0,
        satisfactionRate: null,
        avgDisposalHours: null,
        score: null,
        patrolCoverage: null,
        onlineWorkers: 0,
      },
    )
  })

  it('gives a null average disposal time when no cohort event is handled yet', () => {
    const v = computeKpis(input([EVENTS[3]!]))
    expect(v.dispatched).toBe(1)
    expect(v.disposalRate).toBe(0)
    expect(v.avgDisposalHours).toBeNull()
  })

  it('applies configured score weights', () => {
    const weights = { disposal: 100, onTime: 0, rework: 0, overdue: 0, extension: 0 }
    expect(computeKpis(input(EVENTS, { weights })).score).toBe(50)
    const onlyOverdue = { disposal: 0, onTime: 0, rework: 0, overdue: 1, extension: 0 }
    expect(computeKpis(input(EVENTS, { weights: onlyOverdue })).score).toBe(0.75)
  })

  it('scores a perfect cohort 100 with the default weights', () => {
    const v = computeKpis(input([EVENTS[0]!]))
    expect(DEFAULT_WEIGHTS).toEqual({ disposal: 30, onTime: 20, rework: 20, overdue: 20, extension: 10 })
    expect(v.score).toBe(100)
  })

  it('counts the period start in and the period end out', () => {
    const atFrom = ev('x', {
      reportedAt: PERIOD.from,
      ...dispatched('2026-11-01T00:00:00', '2026-11-02T12:00:00'),
      satisfaction: null,
    })
    const atTo = ev('y', {
      reportedAt: PERIOD.to,
      firstDispatchedAt: PERIOD.to,
      status: 'closed',
      satisfaction: 'satisfied',
      evaluatedAt: PERIOD.to,
    })
    const v = computeKpis(input([atFrom, atTo], { now: PERIOD.from }))
    expect([v.reported, v.dispatched, v.satisfactionRate]).toEqual([1, 1, null])
  })

  it('counts a handle exactly at the deadline as on time, and one without a deadline as not', () => {
    const exact = ev(
      'x',
      dispatched('2026-11-02T09:00:00', '2026-11-02T10:00:00', {
        status: 'handled',
        handledAt: sh('2026-11-02T10:00:00'),
      }),
    )
    const noDeadline = ev('y', {
      ...dispatched('2026-11-02T09:00:00', '2026-11-02T10:00:00'),
      deadline: null,
      status: 'handled',
      handledAt: sh('2026-11-02T10:00:00'),
    })
    const v = computeKpis(input([exact, noDeadline]))
    expect(v.disposalRate).toBe(1)
    expect(v.onTimeRate).toBe(0.5)
  })

  it('treats very_satisfied as satisfied', () => {
    const e = ev('x', {
      status: 'closed',
      satisfaction: 'very_satisfied',
      evaluatedAt: sh('2026-11-03T10:00:00'),
    })
    expect(computeKpis(input([e])).satisfactionRate).toBe(1)
  })

  it('does not count an overdue event that was handled since', () => {
    const e = ev(
      'x',
      dispatched('2026-11-02T09:00:00', '2026-11-02T10:00:00', {
        status: 'handled',
        handledAt: sh('2026-11-03T10:00:00'),
      }),
    )
    const v = computeKpis(input([e]))
    expect([v.overdueRate, v.overdueOpen, v.onTimeRate]).toEqual([0, 0, 0])
  })

  it('measures disposal time in working hours from the first dispatch', () => {
    // Friday 17:00 → Monday 09:30 is 2 working hours.
    const e = ev(
      'x',
      dispatched('2026-11-27T17:00:00', '2026-11-30T09:30:00', {
        status: 'handled',
        dispatchedAt: sh('2026-11-30T08:30:00'),
        handledAt: sh('2026-11-30T09:30:00'),
      }),
    )
    expect(computeKpis(input([e])).avgDisposalHours).toBe(2)
  })

  it("counts each event's disposal hours on its category's calendar", () => {
    // Friday 17:00 → Monday 09:30: office 2 h (17–18, 08:30–09:30); the extended 7-day day
    // 07:00–21:00 (暴露垃圾) 4 + 14 + 14 + 2.5 h; natural time (路面塌陷) 64.5 h.
    const span = { status: 'handled' as const, handledAt: sh('2026-11-30T09:30:00') }
    const at = (category: string) =>
      computeKpis(
        input([ev('x', { ...dispatched('2026-11-27T17:00:00', '2026-11-30T09:30:00', span), category })]),
      ).avgDisposalHours
    expect(at('CG0601')).toBe(2)
    expect(at('CG0101')).toBe(34.5)
    expect(at('CG0501')).toBe(64.5)
  })

  it('accepts any iterable of events', () => {
    function* gen() {
      yield* EVENTS
    }
    expect(computeKpis(input([], { events: gen() }))).toEqual(computeKpis(input(EVENTS)))
  })
})

describe('the rules where the lifecycle bends (issue 10)', () => {
  it('a handling that was late stays late after a rework and an on-time re-handle', () => {
    // Handled late, verification failed (new deadline), handled again before the new deadline.
    const e = ev(
      'x',
      dispatched('2026-11-02T09:00:00', '2026-11-03T12:00:00', {
        status: 'closed',
        dispatchedAt: sh('2026-11-03T09:00:00'),
        handledAt: sh('2026-11-03T10:00:00'),
        closedAt: sh('2026-11-03T11:00:00'),
        lateHandled: true,
        reworkCount: 1,
      }),
    )
    const v = computeKpis(input([e]))
    expect([v.disposalRate, v.onTimeRate, v.reworkRate]).toEqual([1, 0, 1])
  })

  it('an event cancelled after its first dispatch leaves the cohort', () => {
    // dispatched → returned → cancelled, in the period; still reported within it.
    const cancelled = ev('x', {
      reportedAt: sh('2026-11-02T08:00:00'),
      status: 'cancelled',
      firstDispatchedAt: sh('2026-11-02T09:00:00'),
      cancelledAt: sh('2026-11-02T10:00:00'),
      department: '环卫处',
      returnCount: 1,
    })
    const kept = ev('y', dispatched('2026-11-02T09:00:00', '2026-11-02T12:00:00'))
    const v = computeKpis(input([cancelled, kept]))
    expect([v.reported, v.dispatched, v.disposalRate]).toEqual([2, 1, 0])
  })

  it('a cancellation retracts the event from the cohort of live counters', () => {
    const ctx: KpiContext = { ...PERIOD, calendars: calendarSet(DEFAULT_CALENDAR) }
    const filed = ev('x', {
      status: 'filed',
      firstDispatchedAt: sh('2026-11-02T09:00:00'),
      department: '环卫处',
      returnCount: 1,
    })
    const cancelled: GridEvent = { ...filed, status: 'cancelled', cancelledAt: sh('2026-11-02T10:00:00') }
    const c = emptyKpiCounters()
    for (const e of [...EVENTS, filed]) addEventToCounters(c, e, ctx)
    expect(c.dispatched).toBe(5)
    removeEventFromCounters(c, filed, ctx)
    addEventToCounters(c, cancelled, ctx)
    const patrol = { grids: 10, gridsWithTwoRounds: 7, onlineWorkers: 8 }
    expect(kpisFromCounters(c, patrol)).toEqual(computeKpis(input([...EVENTS, cancelled])))
    expect(c.dispatched).toBe(4)
  })
})

describe('counters', () => {
  const ctx: KpiContext = { ...PERIOD, calendars: calendarSet(DEFAULT_CALENDAR) }
  const patrol = { grids: 10, gridsWithTwoRounds: 7, onlineWorkers: 8 }

  it('computeKpis equals folding counters by hand', () => {
    const c = emptyKpiCounters()
    for (const e of EVENTS) addEventToCounters(c, e, ctx)
    expect(kpisFromCounters(c, patrol)).toEqual(computeKpis(input(EVENTS)))
  })

  it('retracting an old state and adding the new one equals a full recomputation', () => {
    const c = emptyKpiCounters()
    for (const e of EVENTS) addEventToCounters(c, e, ctx)
    const oldC = EVENTS[2]!
    const newC: GridEvent = { ...oldC, status: 'handled', handledAt: sh('2026-11-30T09:00:00') }
    removeEventFromCounters(c, oldC, ctx)
    addEventToCounters(c, newC, ctx)
    const next = EVENTS.map((e) => (e.id === 'C' ? newC : e))
    const expected = computeKpis(input(next))
    const got = kpisFromCounters(c, patrol)
    for (const k of KPI_KEYS) {
      if (expected[k] === null) expect(got[k]).toBeNull()
      else expect(got[k]).toBeCloseTo(expected[k], 9)
    }
  })

  it('removing every event brings the counters back to zero', () => {
    const c = emptyKpiCounters()
    for (const e of EVENTS) addEventToCounters(c, e, ctx)
    for (const e of EVENTS) removeEventFromCounters(c, e, ctx)
    for (const [k, v] of Object.entries(c)) expect(Math.abs(v), k).toBeLessThan(1e-9)
  })
})

describe('KPI_KEYS and KPI_LABELS', () => {
  it('list every value key once, in display order', () => {
    const values = computeKpis(input(EVENTS))
    expect([...KPI_KEYS].sort()).toEqual(Object.keys(values).sort())
    expect(new Set(KPI_KEYS).size).toBe(KPI_KEYS.length)
    expect(Object.keys(KPI_LABELS).sort()).toEqual([...KPI_KEYS].sort())
  })

  it('use the Chinese names of DESIGN.md', () => {
    expect(KPI_KEYS.map((k) => KPI_LABELS[k].zh)).toEqual([
      '上报数',
      '应处置数',
      '处置率',
      '按期处置率',
      '结案率',
      '返工率',
      '延期率',
      '超期待处置率',
      '超期待处置数',
      '满意率',
      '平均处置时长',
      '综合指标值',
      '双巡率',
      '在岗网格员',
    ])
  })

  it('give each key a unit matching its value', () => {
    expect(KPI_LABELS.disposalRate.unit).toBe('rate')
    expect(KPI_LABELS.overdueOpen.unit).toBe('count')
    expect(KPI_LABELS.avgDisposalHours.unit).toBe('hours')
    expect(KPI_LABELS.score.unit).toBe('score')
    expect(KPI_LABELS.patrolCoverage.unit).toBe('rate')
  })
})
