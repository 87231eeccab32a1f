/**
 * The event lifecycle (DESIGN.md §2) as a table, and the reducer that folds changes into state.
 * Pure: no clock, no I/O. Deadlines are computed by the caller and carried in the change's data,
 * so a fold of the log never depends on the calendar in force when it is replayed. Whether a
 * time-bound action (延期, 回退) may still be taken is judged here, at the instant the caller gives.
 */
import type { ActionData, Change, EventAction, EventStatus, GridEvent } from './types.ts'
import { addWorkingTime, type WorkCalendar } from './working-time.ts'

/** Bilingual reason for a refusal. */
export interface Refusal {
  ok: false
  code: 'invalid_transition' | 'missing_field' | 'invalid_field'
  message: { zh: string; en: string }
}
export type Transition = { ok: true; status: EventStatus } | Refusal

type Rule = EventStatus | ((data: ActionData) => EventStatus)

/** When an action is taken, and what its time-bound rules count on. */
export interface ActionContext {
  /** The instant of the change. */
  at: number
  /** 回退 is allowed this many working hours after the latest dispatch (RETURN_WINDOW_HOURS, default 2). */
  returnWindowHours: number
  /** The calendar of the event's category (`calendarOf`): its limit and return window count on it. */
  calendar: WorkCalendar
}

/**
 * The end of the return window (回退) of the event's latest dispatch (a rework re-dispatch included):
 * `hours` working hours on `calendar` after it; null when the event is not dispatched.
 */
export function returnWindowEnd(
  e: Pick<GridEvent, 'dispatchedAt'>,
  hours: number,
  calendar: WorkCalendar,
): number | null {
  return e.dispatchedAt === null
    ? null
    : addWorkingTime(e.dispatchedAt, { unit: 'hours', value: hours }, calendar)
}

/** action × state → next state. A missing cell is a refusal. */
export const LIFECYCLE: Readonly<Record<EventAction, Partial<Record<EventStatus, Rule>>>> = {
  accept: { reported: 'accepted' },
  file: { accepted: 'filed' },
  cancel: { reported: 'cancelled', accepted: 'cancelled', filed: 'cancelled' },
  dispatch: { filed: 'dispatched' },
  return: { dispatched: 'filed' },
  extend: { dispatched: 'dispatched' },
  handle: { dispatched: 'handled' },
  verify: { handled: (d) => (d.passed ? 'closed' : 'dispatched') },
  evaluate: { closed: 'closed' },
  self_handle: { reported: 'closed' },
}

const STATUS_ZH: Record<EventStatus, string> = {
  reported: '上报',
  accepted: '受理',
  filed: '立案',
  dispatched: '派遣',
  handled: '处置反馈',
  closed: '结案',
  cancelled: '作废',
}
const ACTION_ZH: Record<EventAction, string> = {
  accept: '受理',
  file: '立案',
  cancel: '作废',
  dispatch: '派遣',
  return: '回退',
  extend: '延期',
  handle: '处置',
  verify: '核查',
  evaluate: '回访评价',
  self_handle: '当即办理',
}

const refuse = (code: Refusal['code'], zh: string, en: string): Refusal => ({
  ok: false,
  code,
  message: { zh, en },
})

/** Fields an action cannot do without. */
function checkFields(action: EventAction, data: ActionData, event: GridEvent): Refusal | null {
  switch (action) {
    case 'dispatch':
      return data.department
        ? null
        : refuse('missing_field', '派遣须指定处置部门', 'dispatch needs a department')
    case 'verify':
      return typeof data.passed === 'boolean'
        ? null
        : refuse('missing_field', '核查须给出是否通过 (passed)', 'verify needs passed: true or false')
    case 'evaluate':
      if (!data.satisfaction)
        return refuse('missing_field', '回访评价须给出满意度', 'evaluate needs a satisfaction')
      return event.satisfaction
        ? refuse('invalid_transition', '该事件已回访评价', 'the event has already been evaluated')
        : null
    case 'extend':
      if (data.until === undefined) return null
      return event.deadline !== null && data.until <= event.deadline
        ? refuse('invalid_field', '延期后的期限须晚于原期限', 'until must be later than the current deadline')
        : null
    case 'accept':
    case 'file':
    case 'cancel':
    case 'return':
    case 'handle':
    case 'self_handle':
      return null
  }
}

/**
 * The time-bound rules: 延期 only up to the deadline in force; 回退 only within the return window
 * of the latest dispatch and up to the deadline (either after it would clear an overdue event).
 */
function checkTime(action: EventAction, event: GridEvent, ctx: ActionContext): Refusal | null {
  if (action !== 'extend' && action !== 'return') return null
  if (isOverdue(event, ctx.at))
    return action === 'extend'
      ? refuse(
          'invalid_transition',
          '处置期限已过（已超期），不能再延期：延期须在期限之前申请',
          'the deadline in force has passed (the event is overdue): an extension must come before the deadline',
        )
      : refuse(
          'invalid_transition',
          '处置期限已过（已超期），不能再回退',
          'the deadline in force has passed (the event is overdue): it can no longer be returned',
        )
  if (action === 'extend') return null
  const end = returnWindowEnd(event, ctx.returnWindowHours, ctx.calendar)
  return end !== null && ctx.at > end
    ? refuse(
        'invalid_transition',
        `回退须在派遣后 ${ctx.returnWindowHours} 个工作小时内申请，已超出回退时限`,
        `a return must come within ${ctx.returnWindowHours} working hours of the dispatch: the return window has closed`,
      )
    : null
}

/** Where `action`, taken at `ctx.at`, takes `event`, or why it may not. */
export function transition(
  event: GridEvent,
  action: EventAction,
  data: ActionData,
  ctx: ActionContext,
): Transition {
  const rule = LIFECYCLE[action][event.status]
  if (rule === undefined) {
    return refuse(
      'invalid_transition',
      `状态为「${STATUS_ZH[event.status]}」的事件不能「${ACTION_ZH[action]}」`,
      `an event in state ${event.status} cannot be ${action === 'self_handle' ? 'self-handled' : `given ${action}`}`,
    )
  }
  const bad = checkFields(action, data, event) ?? checkTime(action, event, ctx)
  if (bad) return bad
  return { ok: true, status: typeof rule === 'function' ? rule(data) : rule }
}

/** Fields of the creation change (`report`), kept with the log so the state is a fold of it. */
export type ReportPayload = Pick<
  GridEvent,
  'category' | 'description' | 'lat' | 'lng' | 'gridCode' | 'source' | 'reporter'
>

/** Data of a change as stored: the action's fields plus what the server computed (deadline). */
export interface StoredChangeData extends ActionData {
  /** Deadline set by a dispatch, a rework re-dispatch or an extension (epoch ms). */
  deadline?: number
}

/** Build the initial state from a `report` change. */
export function initialState(change: Change, payload: ReportPayload, id: string): GridEvent {
  return {
    id,
    seq: change.seq,
    status: 'reported',
    ...payload,
    reportedAt: change.at,
    updatedAt: change.at,
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
  }
}

/** Fold one lifecycle change into an event's state. The change must be a valid transition. */
export function applyChange(event: GridEvent, change: Change & { data?: StoredChangeData }): GridEvent {
  const d = change.data ?? {}
  const next: GridEvent = { ...event, seq: change.seq, status: change.status, updatedAt: change.at }
  switch (change.action) {
    case 'report':
      return next
    case 'accept':
    case 'file':
      return next
    case 'cancel':
      return { ...next, cancelledAt: change.at }
    case 'dispatch':
      return {
        ...next,
        department: d.department ?? event.department,
        dispatchedAt: change.at,
        firstDispatchedAt: event.firstDispatchedAt ?? change.at,
        deadline: d.deadline ?? null,
      }
    case 'return':
      return { ...next, returnCount: event.returnCount + 1, deadline: null, dispatchedAt: null }
    case 'extend':
      return { ...next, extensionCount: event.extensionCount + 1, deadline: d.deadline ?? event.deadline }
    case 'handle':
      // Judged against the deadline in force now; a late handling stays late across a rework.
      return {
        ...next,
        handledAt: change.at,
        lateHandled: event.lateHandled || (event.deadline !== null && change.at > event.deadline),
      }
    case 'verify':
      return d.passed
        ? { ...next, closedAt: change.at }
        : {
            ...next,
            handledAt: null,
            reworkCount: event.reworkCount + 1,
            dispatchedAt: change.at,
            deadline: d.deadline ?? event.deadline,
          }
    case 'evaluate':
      return { ...next, satisfaction: d.satisfaction ?? null, evaluatedAt: change.at }
    case 'self_handle':
      return { ...next, handledAt: change.at, closedAt: change.at }
  }
}

/** Overdue (超期): dispatched and past its deadline. */
export const isOverdue = (e: Pick<GridEvent, 'status' | 'deadline'>, now: number): boolean =>
  e.status === 'dispatched' && e.deadline !== null && now > e.deadline
