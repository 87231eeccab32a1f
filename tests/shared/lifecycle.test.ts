import { describe, it, expect } from 'vitest'
import { applyChange, initialState, isOverdue, transition } from '../../shared/lifecycle.ts'
import type { ReportPayload, StoredChangeData } from '../../shared/lifecycle.ts'
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

function eventIn(status: EventStatus, extra: Partial<GridEvent> = {}): GridEvent {
  const base = initialState(
    { seq: 1, at: 1000, eventId: 'e1', gridCode: payload.gridCode, action: 'report', status: 'reported' },
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
        const t = transition(eventIn(status, { deadline: 5000 }), action, FULL_DATA[action])
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
    expect(transition(eventIn('handled'), 'verify', { passed: false })).toEqual({
      ok: true,
      status: 'dispatched',
    })
  })

  it('refuses a dispatch without a department as missing_field', () => {
    const t = transition(eventIn('filed'), 'dispatch', {})
    expect(t.ok === false && t.code).toBe('missing_field')
  })

  it('refuses a verify without passed as missing_field', () => {
    const t = transition(eventIn('handled'), 'verify', {})
    expect(t.ok === false && t.code).toBe('missing_field')
  })

  it('refuses an evaluate without satisfaction as missing_field', () => {
    const t = transition(eventIn('closed'), 'evaluate', {})
    expect(t.ok === false && t.code).toBe('missing_field')
  })

  it('refuses a second evaluation of the same event', () => {
    const t = transition(eventIn('closed', { satisfaction: 'satisfied' }), 'evaluate', {
      satisfaction: 'dissatisfied',
    })
    expect(t.ok === false && t.code).toBe('invalid_transition')
  })

  it('refuses an extension whose until is not later than the current deadline', () => {
    const t = transition(eventIn('dispatched', { deadline: 5000 }), 'extend', { until: 5000 })
    expect(t.ok === false && t.code).toBe('invalid_field')
  })

  it('accepts an extension without until (the server computes the new deadline)', () => {
    expect(transition(eventIn('dispatched', { deadline: 5000 }), 'extend', {}).ok).toBe(true)
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
  }
  let e = initialState(first, payload, 'e1')
  steps.forEach(([action, at, data = {}], i) => {
    const t = transition(e, action, data)
    if (!t.ok) throw new Error(`${action} refused: ${t.message.en}`)
    e = applyChange(e, {
      seq: i + 2,
      at,
      eventId: 'e1',
      gridCode: e.gridCode,
      action,
      status: t.status,
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

describe('isOverdue', () => {
  it('is true only for a dispatched event strictly past its deadline', () => {
    expect(isOverdue({ status: 'dispatched', deadline: 1000 }, 1001)).toBe(true)
    expect(isOverdue({ status: 'dispatched', deadline: 1000 }, 1000)).toBe(false)
    expect(isOverdue({ status: 'handled', deadline: 1000 }, 5000)).toBe(false)
    expect(isOverdue({ status: 'dispatched', deadline: null }, 5000)).toBe(false)
  })
})
