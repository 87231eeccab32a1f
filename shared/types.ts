/**
 * Core domain types shared by server and web. Pure data, no runtime imports.
 * Times are epoch milliseconds inside the domain; the HTTP layer renders ISO 8601 with an offset.
 */

/** Lifecycle states (DESIGN.md §2). */
export const EVENT_STATUSES = [
  'reported',
  'accepted',
  'filed',
  'dispatched',
  'handled',
  'closed',
  'cancelled',
] as const
export type EventStatus = (typeof EVENT_STATUSES)[number]

/** Lifecycle actions a client may request. `report` is the creation change, never requested as an action. */
export const EVENT_ACTIONS = [
  'accept',
  'file',
  'cancel',
  'dispatch',
  'return',
  'extend',
  'handle',
  'verify',
  'evaluate',
  'self_handle',
] as const
export type EventAction = (typeof EVENT_ACTIONS)[number]
export type ChangeAction = 'report' | EventAction

export const SATISFACTIONS = ['very_satisfied', 'satisfied', 'dissatisfied'] as const
export type Satisfaction = (typeof SATISFACTIONS)[number]

export const EVENT_SOURCES = ['patrol', 'hotline', 'open311', 'video', 'referral', 'simulator'] as const
export type EventSource = (typeof EVENT_SOURCES)[number]

export interface Reporter {
  name?: string
  phone?: string
}

/** The fields an action may carry; stored as the change's `data`. */
export interface ActionData {
  department?: string
  passed?: boolean
  satisfaction?: Satisfaction
  /** Epoch ms: the new deadline of an extension. */
  until?: number
  note?: string
}

/**
 * The state of one event, always a fold of its changes (see `applyChange`).
 * Derived timestamps exist so every KPI can be computed from this record alone.
 */
export interface GridEvent {
  id: string
  /** seq of the last change applied to this event. */
  seq: number
  status: EventStatus
  category: string
  description: string
  lat: number
  lng: number
  gridCode: string
  source: EventSource
  reporter?: Reporter
  reportedAt: number
  updatedAt: number
  /** First dispatch: the event joins the cohort of the period containing it. */
  firstDispatchedAt: number | null
  /** Latest dispatch (a return or rework re-dispatches). */
  dispatchedAt: number | null
  deadline: number | null
  /** Set while status is handled or closed: the time of the handle that stands. */
  handledAt: number | null
  /**
   * Some handling of this event came after the deadline in force when it was made. It stays true
   * across a rework (返工): an event is handled on time only if every handling was on time.
   */
  lateHandled: boolean
  closedAt: number | null
  cancelledAt: number | null
  department: string | null
  reworkCount: number
  extensionCount: number
  returnCount: number
  satisfaction: Satisfaction | null
  evaluatedAt: number | null
}

/**
 * Who made a change (DESIGN.md §2: every change records its actor): a token (its id and role; the
 * fixed admin token's id is `admin`), or a system source such as the simulator (`id: 'simulator'`,
 * with the source it played, e.g. `hotline`).
 */
export type Actor =
  { kind: 'token'; id: string; role: Role } | { kind: 'system'; id: string; source?: EventSource }

/** One entry of the durable change log. */
export interface Change {
  seq: number
  at: number
  eventId: string
  gridCode: string
  action: ChangeAction
  status: EventStatus
  /** Who made it; null for changes logged before actors were recorded. */
  actor: Actor | null
  data?: ActionData
}

/** A grid worker's position report. */
export interface Position {
  workerId: string
  lat: number
  lng: number
  at: number
}

/** A completed patrol round: ≥ 15 min of pings inside the worker's own grid with gaps < 5 min. */
export interface PatrolRound {
  workerId: string
  gridCode: string
  startedAt: number
  endedAt: number
  pings: number
}

export interface Worker {
  id: string
  name: string
  phone: string
  gridCode: string
}

export type Role = 'admin' | 'officer' | 'leader' | 'ingest' | 'public'
export const ROLES: readonly Role[] = ['admin', 'officer', 'leader', 'ingest', 'public']

export interface Clock {
  now(): number
}
