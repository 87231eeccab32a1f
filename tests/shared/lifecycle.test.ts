import { describe, it, expect } from 'vitest'
import { calendarSet } from '../../shared/calendars.ts'
import { applyChange, initialState, isOverdue, returnWindowEnd, transition } from '../../shared/lifecycle.ts'
import type { ActionContext, ReportPayload, StoredChangeData } from '../../shared/lifecycle.ts'
import { DEFAULT_CALENDAR } from '../../shared/working-time.ts'
import { EVENT_ACTIONS, EVENT_STATUSES } from '../../shared/types.ts'
import type { ActionData, Change, EventAction, EventStatus, GridEvent } from '../../shared/types.ts'

const payload: ReportPayload = {
  category: 'CG0101',
  description: '路边暴露垃圾',
  lat: 29.37,
  lng: 113.1,
  gridCode: '430602001001001',
  source: 'patrol',
  reporter: { name: '张三丰', phone: '13812341234' },
}

const HOUR = 3_600_000
/** Natural time (every hour counts), so instants are plain arithmetic. */
const NATURAL = calendarSet(DEFAULT_CALENDAR).natural
/** An action taken at `at` with the default 2-working-hour return window on natural time. */
const when = (at: number, o: Partial<ActionContext> = {}): ActionContext => ({
  at,
  returnWindowHours: 2,
  calendar: NATURAL,
  ...o,
})

function eventIn(status: EventStatus, extra: Partial<GridEvent> = {}): GridEvent {
  const base = initialState(
    {
      seq: 1,
      at: 1000,
      eventId: 'e1',
      gridCode: payload.gridCode,
      action: 'report',
      status: 'reported',
      actor: null,
    },
    payload,
    'e1',
  )
  return { ...base, status, ...extra }
}

/** The documented table (DESIGN.md §2), written independently of LIFECYCLE. */
const EXPECTED: Record<EventAction, Partial<Record<EventStatus, EventStatus>>> = {
  accept: { reported: 'accepted' },
  file: { accepted: 'filed' },
  cancel: { reported: 'cancelled', accepted: 'cancelled', filed: 'cancelled' },
  dispatch: { filed: 'dispatched' },
  return: { dispatched: 'filed' },
  extend: { dispatched: 'dispatched' },
  handle: { dispatched: 'handled' },
  verify: { handled: 'closed' },
  evaluate: { closed: 'closed' },
  self_handle: { reported: 'closed' },
}

/** Data that satisfies every action's field checks. */
const FULL_DATA: Record<EventAction, ActionData> = {
  accept: {},
  file: {},
  cancel: {},
  dispatch: { department: '环卫处' },
  return: { note: '派错部门' },
  extend: { until: 10_000_000 },
  handle: {},
  verify: { passed: true },
  evaluate: { satisfaction: 'satisfied' },
  self_handle: {},
}

describe('transition table', () => {
  for (const action of EVENT_ACTIONS) {
    for (const status of EVENT_STATUSES) {
      const expected = EXPECTED[action][status]
      it(`${action} on ${status} ${expected ? `leads to ${expected}` : 'is refused with invalid_transition'}`, () => {
        const e = eventIn(status, { deadline: 5000, dispatchedAt: 1000 })
        const t = transition(e, action, FULL_DATA[action], when(2000))
        if (expected) expect(t).toEqual({ ok: true, status: expected })
        else {
          expect(t.ok).toBe(false)
          if (!t.ok) {
            expect(t.code).toBe('invalid_transition')
            expect(t.message.zh.length).toBeGreaterThan(0)
            expect(t.message.en).toContain(status)
          }
        }
      })
    }
  }

  it('verify with passed false sends a handled event back to dispatched (rework)', () => {
    expect(transition(eventIn('handled'), 'verify', { passed: false }, when(2000))).toEqual({
      ok: true,
      status: 'dispatched',
    })
  })

  it('refuses a dispatch without a department as missing_field', () => {
    const t = transition(eventIn('filed'), 'dispatch', {}, when(2000))
    expect(t.ok === false && t.code).toBe('missing_field')
  })

  it('refuses a verify without passed as missing_field', () => {
    const t = transition(eventIn('handled'), 'verify', {}, when(2000))
    expect(t.ok === false && t.code).toBe('missing_field')
  })

  it('refuses an evaluate without satisfaction as missing_field', () => {
    const t = transition(eventIn('closed'), 'evaluate', {}, when(2000))
    expect(t.ok === false && t.code).toBe('missing_field')
  })

  it('refuses a second evaluation of the same event', () => {
    const t = transition(
      eventIn('closed', { satisfaction: 'satisfied' }),
      'evaluate',
      { satisfaction: 'dissatisfied' },
      when(2000),
    )
    expect(t.ok === false && t.code).toBe('invalid_transition')
  })

  it('refuses an extension whose until is not later than the current deadline', () => {
    const t = transition(eventIn('dispatched', { deadline: 5000 }), 'extend', { until: 5000 }, when(2000))
    expect(t.ok === false && t.code).toBe('invalid_field')
  })

  it('accepts an extension without until (the server computes the new deadline)', () => {
    expect(transition(eventIn('dispatched', { deadline: 5000 }), 'extend', {}, when(2000)).ok).toBe(true)
  })
})

/** Fold a sequence of actions, checking each is a valid transition first. */
function fold(reportedAt: number, steps: Array<[EventAction, number, StoredChangeData?]>): GridEvent {
  const first: Change = {
    seq: 1,
    at: reportedAt,
    eventId: 'e1',
    gridCode: payload.gridCode,
    action: 'report',
    status: 'reported',
    actor: null,
  }
  let e = initialState(first, payload, 'e1')
  steps.forEach(([action, at, data = {}], i) => {
    const t = transition(e, action, data, when(at))
    if (!t.ok) throw new Error(`${action} refused: ${t.message.en}`)
    e = applyChange(e, {
      seq: i + 2,
      at,
      eventId: 'e1',
      gridCode: e.gridCode,
      action,
      status: t.status,
      actor: null,
      data,
    })
  })
  return e
}

describe('applyChange', () => {
  it('folds a full closed loop with return, extension, rework and evaluation', () => {
    const e = fold(100, [
      ['accept', 200],
      ['file', 300],
      ['dispatch', 400, { department: '城管执法局', deadline: 1400 }],
      ['return', 500, { note: '派错部门' }],
      ['dispatch', 600, { department: '环卫处', deadline: 1600 }],
      ['extend', 700, { until: 2600, deadline: 2600 }],
      ['handle', 800],
      ['verify', 900, { passed: false, deadline: 3000 }],
      ['handle', 1000],
      ['verify', 1100, { passed: true }],
      ['evaluate', 1200, { satisfaction: 'very_satisfied' }],
    ])
    expect(e).toMatchObject({
      seq: 12,
      status: 'closed',
      reportedAt: 100,
      updatedAt: 1200,
      firstDispatchedAt: 400,
      dispatchedAt: 900,
      deadline: 3000,
      handledAt: 1000,
      closedAt: 1100,
      cancelledAt: null,
      lateHandled: false,
      department: '环卫处',
      reworkCount: 1,
      extensionCount: 1,
      returnCount: 1,
      satisfaction: 'very_satisfied',
      evaluatedAt: 1200,
    })
  })

  it('clears handledAt on a failed verification and sets it again on the next handle', () => {
    const reworked = fold(100, [
      ['accept', 200],
      ['file', 300],
      ['dispatch', 400, { department: '环卫处', deadline: 1400 }],
      ['handle', 500],
      ['verify', 600, { passed: false }],
    ])
    expect(reworked).toMatchObject({ status: 'dispatched', handledAt: null, reworkCount: 1, deadline: 1400 })
  })

  it('a return clears the deadline and keeps the first dispatch time', () => {
    const e = fold(100, [
      ['accept', 200],
      ['file', 300],
      ['dispatch', 400, { department: '环卫处', deadline: 1400 }],
      ['return', 500],
    ])
    expect(e).toMatchObject({
      status: 'filed',
      deadline: null,
      dispatchedAt: null,
      firstDispatchedAt: 400,
      returnCount: 1,
    })
  })

  it('self_handle closes a reported event at once, never entering the dispatch cohort', () => {
    const e = fold(100, [['self_handle', 150]])
    expect(e).toMatchObject({ status: 'closed', handledAt: 150, closedAt: 150, firstDispatchedAt: null })
  })

  it('cancel records the cancellation time', () => {
    const e = fold(100, [
      ['accept', 200],
      ['cancel', 250],
    ])
    expect(e).toMatchObject({ status: 'cancelled', cancelledAt: 250 })
  })
})

describe('lateness across rework (issue 10 #1)', () => {
  const DISPATCH: Array<[EventAction, number, StoredChangeData?]> = [
    ['accept', 200],
    ['file', 300],
    ['dispatch', 400, { department: '环卫处', deadline: 1400 }],
  ]

  it('a report starts not late, and self_handle is never late', () => {
    expect(fold(100, []).lateHandled).toBe(false)
    expect(fold(100, [['self_handle', 10 * HOUR]]).lateHandled).toBe(false)
  })

  it('a handle at the deadline is on time, one after it is late', () => {
    expect(fold(100, [...DISPATCH, ['handle', 1400]]).lateHandled).toBe(false)
    expect(fold(100, [...DISPATCH, ['handle', 1401]]).lateHandled).toBe(true)
  })

  it('a late handle stays late after a failed verification and an on-time re-handle', () => {
    const e = fold(100, [
      ...DISPATCH,
      ['handle', 2000],
      ['verify', 2100, { passed: false, deadline: 5000 }],
      ['handle', 2200],
      ['verify', 2300, { passed: true }],
    ])
    expect(e).toMatchObject({ status: 'closed', handledAt: 2200, deadline: 5000, lateHandled: true })
  })

  it('a rework after an on-time handle judges the new handle against the new deadline', () => {
    const onTime = fold(100, [
      ...DISPATCH,
      ['handle', 1000],
      ['verify', 1100, { passed: false, deadline: 3000 }],
      ['handle', 2900],
    ])
    expect(onTime.lateHandled).toBe(false)
    const late = fold(100, [
      ...DISPATCH,
      ['handle', 1000],
      ['verify', 1100, { passed: false, deadline: 3000 }],
      ['handle', 3001],
    ])
    expect(late.lateHandled).toBe(true)
  })

  it('an extension moves the deadline a handle is judged against', () => {
    const e = fold(100, [...DISPATCH, ['extend', 1300, { until: 9000, deadline: 9000 }], ['handle', 8000]])
    expect(e.lateHandled).toBe(false)
  })
})

describe('time-bound actions (issue 10 #2)', () => {
  const dispatchedAt = 10 * HOUR
  const open = eventIn('dispatched', { dispatchedAt, deadline: dispatchedAt + 4 * HOUR })

  it('extend is allowed up to the deadline in force and refused after it with invalid_transition', () => {
    expect(transition(open, 'extend', {}, when(open.deadline!)).ok).toBe(true)
    const t = transition(open, 'extend', {}, when(open.deadline! + 1))
    expect(t.ok).toBe(false)
    if (!t.ok) {
      expect(t.code).toBe('invalid_transition')
      expect(t.message.zh).toContain('期限')
      expect(t.message.en).toContain('deadline')
    }
  })

  it('return is allowed within the window after the latest dispatch and refused after it', () => {
    expect(transition(open, 'return', {}, when(dispatchedAt + 2 * HOUR)).ok).toBe(true)
    const t = transition(open, 'return', {}, when(dispatchedAt + 2 * HOUR + 1))
    expect(t.ok).toBe(false)
    if (!t.ok) {
      expect(t.code).toBe('invalid_transition')
      expect(t.message.zh).toContain('2 个工作小时')
      expect(t.message.en).toContain('2 working hours')
    }
  })

  it('the return window is configurable', () => {
    expect(transition(open, 'return', {}, when(dispatchedAt + 3 * HOUR, { returnWindowHours: 3 })).ok).toBe(
      true,
    )
    expect(transition(open, 'return', {}, when(dispatchedAt + HOUR, { returnWindowHours: 0.5 })).ok).toBe(
      false,
    )
  })

  it('return is refused after the deadline even inside the window', () => {
    const short = { ...open, deadline: dispatchedAt + HOUR }
    expect(transition(short, 'return', {}, when(dispatchedAt + HOUR)).ok).toBe(true)
    const t = transition(short, 'return', {}, when(dispatchedAt + HOUR + 1))
    expect(t.ok === false && t.code).toBe('invalid_transition')
  })

  it('the window counts working hours on the calendar given (Friday 17:00 → Monday 09:30)', () => {
    const friday = Date.parse('2026-11-27T17:00:00+08:00')
    const e = eventIn('dispatched', { dispatchedAt: friday, deadline: friday + 7 * 24 * HOUR })
    const office = { calendar: DEFAULT_CALENDAR }
    expect(returnWindowEnd(e, 2, DEFAULT_CALENDAR)).toBe(Date.parse('2026-11-30T09:30:00+08:00'))
    const saturday = Date.parse('2026-11-28T20:00:00+08:00')
    expect(transition(e, 'return', {}, when(saturday, office)).ok).toBe(true)
    const monday = Date.parse('2026-11-30T09:31:00+08:00')
    expect(transition(e, 'return', {}, when(monday, office)).ok).toBe(false)
  })

  it('the window runs from the latest dispatch (a rework re-dispatch opens it again)', () => {
    const reworked = eventIn('dispatched', {
      firstDispatchedAt: dispatchedAt,
      dispatchedAt: dispatchedAt + 10 * HOUR,
      deadline: dispatchedAt + 20 * HOUR,
    })
    expect(transition(reworked, 'return', {}, when(dispatchedAt + 11 * HOUR)).ok).toBe(true)
  })
})

describe('isOverdue', () => {
  it('is true only for a dispatched event strictly past its deadline', () => {
    expect(isOverdue({ status: 'dispatched', deadline: 1000 }, 1001)).toBe(true)
    expect(isOverdue({ status: 'dispatched', deadline: 1000 }, 1000)).toBe(false)
    expect(isOverdue({ status: 'handled', deadline: 1000 }, 5000)).toBe(false)
    expect(isOverdue({ status: 'dispatched', deadline: null }, 5000)).toBe(false)
  })
})
