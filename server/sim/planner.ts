/**
 * The simulator's model of how an event moves: given an event's current state, the next step and
 * when it happens. Deterministic: the random stream is seeded by (seed, event id, seq), so a
 * restarted simulator plans exactly what it would have planned.
 */
import { CATEGORY_BY_CODE } from '../../shared/categories.ts'
import type { ActionData, EventAction, GridEvent, Satisfaction } from '../../shared/types.ts'
import { addWorkingTime, dailyWorkingMinutes, type WorkCalendar } from '../../shared/working-time.ts'
import { mulberry32, seedFrom, type Rng } from '../../shared/random.ts'

export interface PlannedStep {
  at: number
  action: EventAction
  data: ActionData
}

const MIN = 60_000
const HOUR = 60 * MIN

/** Behaviour rates; the defaults give the mix DESIGN.md describes. */
export interface SimRates {
  selfHandle: number
  cancel: number
  returnRate: number
  extend: number
  late: number
  rework: number
  evaluate: number
  dissatisfied: number
}

export const DEFAULT_RATES: SimRates = {
  selfHandle: 0.3, // of patrol-found events
  cancel: 0.03,
  returnRate: 0.02,
  extend: 0.03,
  late: 0.09,
  rework: 0.035,
  evaluate: 0.7,
  dissatisfied: 0.025,
}

/** Working hours of a category's limit. */
const limitHours = (category: string, cal: WorkCalendar): number => {
  const l = CATEGORY_BY_CODE.get(category)!.limit
  return l.unit === 'hours' ? l.value : (l.value * dailyWorkingMinutes(cal)) / 60
}

const after = (rng: Rng, from: number, loMin: number, hiMin: number): number =>
  from + Math.round(rng.range(loMin, hiMin) * MIN)

function pickSatisfaction(rng: Rng, rates: SimRates): Satisfaction {
  const r = rng.next()
  if (r < rates.dissatisfied) return 'dissatisfied'
  return r < 0.62 ? 'very_satisfied' : 'satisfied'
}

/** The next step of `e`, or null when its lifecycle is over. */
export function planNext(
  e: GridEvent,
  seed: number,
  cal: WorkCalendar,
  rates = DEFAULT_RATES,
): PlannedStep | null {
  const rng = mulberry32(seedFrom(seed, e.id, e.seq))
  const t = e.updatedAt
  switch (e.status) {
    case 'reported':
      if (e.source === 'patrol' && rng.next() < rates.selfHandle)
        return { at: after(rng, t, 3, 25), action: 'self_handle', data: { note: '网格员当即办理' } }
      if (rng.next() < rates.cancel)
        return { at: after(rng, t, 10, 90), action: 'cancel', data: { note: '重复上报或无效信息' } }
      return { at: after(rng, t, 2, 25), action: 'accept', data: {} }
    case 'accepted':
      return { at: after(rng, t, 3, 30), action: 'file', data: {} }
    case 'filed':
      return {
        at: after(rng, t, 5, 45),
        action: 'dispatch',
        data: { department: CATEGORY_BY_CODE.get(e.category)!.department.zh },
      }
    case 'dispatched': {
      if (e.returnCount === 0 && e.reworkCount === 0 && rng.next() < rates.returnRate)
        return { at: after(rng, t, 30, 180), action: 'return', data: { note: '非本部门职责，申请回退' } }
      const hours = limitHours(e.category, cal)
      if (e.extensionCount === 0 && rng.next() < rates.extend && e.deadline !== null)
        return {
          at: Math.max(t + MIN, e.deadline - Math.round(rng.range(0.5, 3) * HOUR)),
          action: 'extend',
          data: { note: '处置难度大，申请延期' },
        }
      const late = rng.next() < rates.late
      const fraction = late ? rng.range(1.05, 1.8) : rng.range(0.08, 0.92)
      const at = addWorkingTime(t, { unit: 'hours', value: hours * fraction }, cal)
      return { at: Math.max(at, t + 5 * MIN), action: 'handle', data: {} }
    }
    case 'handled':
      return { at: after(rng, t, 20, 240), action: 'verify', data: { passed: rng.next() >= rates.rework } }
    case 'closed':
      if (e.evaluatedAt !== null || rng.next() >= rates.evaluate) return null
      return {
        at: after(rng, t, 60, 36 * 60),
        action: 'evaluate',
        data: { satisfaction: pickSatisfaction(rng, rates) },
      }
    case 'cancelled':
      return null
  }
}
