/**
 * The simulator's model of how an event moves: given an event's current state, the next step and
 * when it happens. Deterministic: the random stream is seeded by (seed, event id, seq), so a
 * restarted simulator plans exactly what it would have planned.
 *
 * Every step spends the staff time of the team that takes it (rosters.ts): the centre's desk
 * accepts, files and dispatches 7×24; the department, on its category family's roster, extends,
 * returns and handles; on-site checks and callbacks happen by day. A plan never asks for a move the
 * lifecycle refuses: an extension comes before the deadline in force, a return (回退) within two hours
 * of its dispatch and before the deadline, a callback only to an event with a reporter.
 */
import { calendarKindOf } from '../../shared/calendars.ts'
import { CATEGORY_BY_CODE } from '../../shared/categories.ts'
import type { ActionData, EventAction, GridEvent, Satisfaction } from '../../shared/types.ts'
import { mulberry32, seedFrom, type Rng } from '../../shared/random.ts'
import { CALLBACK_ROSTER, CENTRE_ROSTER, DEPARTMENT_ROSTERS, VERIFY_ROSTER, type Duty } from './rosters.ts'

export interface PlannedStep {
  at: number
  action: EventAction
  data: ActionData
}

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR

/** What a plan must know of the district: its rosters and the return window (回退时限). */
export interface PlanContext {
  duty: Duty
  /** Working hours after a dispatch a return is allowed (RETURN_WINDOW_HOURS, default 2). */
  returnWindowHours: number
}

/** Behaviour rates; the defaults land the month's figures where the seeds' are (README). */
export interface SimRates {
  /** Of patrol finds that are no emergency: fixed on the spot (当即办理). */
  selfHandle: number
  cancel: number
  returnRate: number
  extend: number
  /** Of first dispatches: parked for weeks (挂账/缓办). */
  park: number
  late: number
  rework: number
  /** Of closed events with a reporter: called back (回访). */
  evaluate: number
  dissatisfied: number
  /** After a late handling or a rework. */
  dissatisfiedAfterTrouble: number
}

export const DEFAULT_RATES: SimRates = {
  selfHandle: 0.96,
  cancel: 0.03,
  returnRate: 0.02,
  extend: 0.03,
  park: 0.017,
  late: 0.11,
  rework: 0.035,
  evaluate: 0.96,
  dissatisfied: 0.015,
  dissatisfiedAfterTrouble: 0.08,
}

const step = (at: number, action: EventAction, data: ActionData = {}): PlannedStep => ({ at, action, data })

/** `loMin`–`hiMin` minutes of a full team's time of `roster` after `from`. */
const staffTime =
  (duty: Duty, roster = CENTRE_ROSTER) =>
  (rng: Rng, from: number, loMin: number, hiMin: number) =>
    duty.add(roster, from, rng.range(loMin, hiMin) * MIN)

/** Whether the case is parked (挂账): a property of the event, the same at every step. */
const isParked = (e: GridEvent, seed: number, rates: SimRates): boolean =>
  mulberry32(seedFrom(seed, e.id, 'park')).next() < rates.park

function pickSatisfaction(rng: Rng, e: GridEvent, rates: SimRates): Satisfaction {
  const trouble = e.lateHandled === true || e.reworkCount > 0
  const r = rng.next()
  if (r < (trouble ? rates.dissatisfiedAfterTrouble : rates.dissatisfied)) return 'dissatisfied'
  return r < 0.62 ? 'very_satisfied' : 'satisfied'
}

/** The next step of a dispatched event: return, extend or handle, on its department's roster. */
function planDispatched(
  e: GridEvent,
  seed: number,
  ctx: PlanContext,
  rng: Rng,
  rates: SimRates,
): PlannedStep {
  const { duty } = ctx
  const t = e.updatedAt
  const dept = DEPARTMENT_ROSTERS[calendarKindOf(e.category)]
  const work = staffTime(duty, dept)
  const deadline = e.deadline
  if (deadline === null) return step(work(rng, t, 30, 480), 'handle')
  const parked = e.reworkCount === 0 && isParked(e, seed, rates)
  const firstDispatch = e.returnCount === 0 && e.reworkCount === 0 && e.extensionCount === 0

  if (firstDispatch && !parked && rng.next() < rates.returnRate) {
    const at = work(rng, t, 10, 80)
    // Natural time elapsed bounds working time elapsed on every calendar: inside the window on any.
    const windowEnd = (e.dispatchedAt ?? t) + ctx.returnWindowHours * HOUR - 5 * MIN
    if (at <= Math.min(windowEnd, deadline - 5 * MIN))
      return step(at, 'return', { note: '非本部门职责，申请回退' })
  }
  const toDeadline = duty.between(dept, t, deadline)
  if (e.extensionCount === 0 && rng.next() < (parked ? 0.5 : rates.extend) && toDeadline > 20 * MIN) {
    const at = duty.add(dept, t, toDeadline * rng.range(0.5, 0.9))
    if (at > t && at < deadline - MIN)
      return step(at, 'extend', { note: parked ? '涉及多部门协调，挂账缓办' : '处置难度大，申请延期' })
  }
  // Parked: left open for weeks, then done in a working moment of its team.
  if (parked) return step(work(rng, t + Math.round(rng.range(21, 50) * DAY), 10, 120), 'handle')
  const late = rng.next() < (e.extensionCount > 0 ? rates.late / 3 : rates.late)
  if (late || toDeadline < 20 * MIN) {
    const over = Math.max(10 * MIN, toDeadline * rng.range(0.05, 0.8))
    return step(duty.add(dept, Math.max(deadline, t) + 1000, over), 'handle')
  }
  // Most cases are done early in their limit, a few near its end (a mean of about a third of it).
  const at = duty.add(dept, t, toDeadline * (0.05 + 0.9 * rng.next() ** 2))
  return step(Math.min(Math.max(at, t + MIN), deadline - MIN), 'handle')
}

/** The next step of `e`, or null when its lifecycle is over. */
export function planNext(
  e: GridEvent,
  seed: number,
  ctx: PlanContext,
  rates = DEFAULT_RATES,
): PlannedStep | null {
  const { duty } = ctx
  const rng = mulberry32(seedFrom(seed, e.id, e.seq))
  const t = e.updatedAt
  const desk = staffTime(duty)
  switch (e.status) {
    case 'reported':
      // The worker who found it is on duty and on the spot: minutes of natural time.
      if (e.source === 'patrol' && calendarKindOf(e.category) !== 'natural' && rng.next() < rates.selfHandle)
        return step(t + Math.round(rng.range(3, 25) * MIN), 'self_handle', { note: '网格员当即办理' })
      if (rng.next() < rates.cancel)
        return step(desk(rng, t, 10, 90), 'cancel', { note: '重复上报或无效信息' })
      return step(desk(rng, t, 2, 25), 'accept')
    case 'accepted':
      return step(desk(rng, t, 3, 30), 'file')
    case 'filed':
      return step(desk(rng, t, 5, 45), 'dispatch', {
        department: CATEGORY_BY_CODE.get(e.category)!.department.zh,
      })
    case 'dispatched':
      return planDispatched(e, seed, ctx, rng, rates)
    case 'handled':
      return step(staffTime(duty, VERIFY_ROSTER)(rng, t, 20, 240), 'verify', {
        passed: rng.next() >= rates.rework,
      })
    case 'closed':
      // 回访 needs someone to call: none for a patrol find or a camera's.
      if (!e.reporter || e.evaluatedAt !== null || rng.next() >= rates.evaluate) return null
      return step(staffTime(duty, CALLBACK_ROSTER)(rng, t, 30, 540), 'evaluate', {
        satisfaction: pickSatisfaction(rng, e, rates),
      })
    case 'cancelled':
      return null
  }
}
