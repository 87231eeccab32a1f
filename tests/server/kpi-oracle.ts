/**
 * An independent recomputation of every event-based KPI of DESIGN.md §2 from the change log alone
 * (`GET /api/v1/changes`), for the property test `kpi-property.test.ts`.
 *
 * Written from DESIGN.md's text, not from `shared/kpis.ts` or `shared/lifecycle.ts` (neither is
 * imported): each event's state as of an instant is folded here from its changes made at or before
 * that instant, with this file's own lifecycle table. Deadlines are not recomputed: they are the
 * ones the server logged on dispatch, extend and failed-verify changes. Working-hours arithmetic
 * (avgDisposalHours on the category's calendar) uses `shared/working-time.ts` and
 * `shared/calendars.ts`, which only do calendar arithmetic.
 */
import { calendarOf, type CalendarSet } from '../../shared/calendars.ts'
import { workingMillisBetween } from '../../shared/working-time.ts'

/** One change as `/api/v1/changes` renders it (the fields this file reads). */
export interface RawChange {
  seq: number
  at: string
  eventId: string
  gridCode: string
  action: string
  status: string
  data?: Record<string, unknown>
}

/** One change with its instants parsed to epoch ms. */
export interface LogChange {
  seq: number
  at: number
  eventId: string
  gridCode: string
  action: string
  status: string
  passed?: boolean
  satisfaction?: string
  /** The deadline the server computed (dispatch, extend, failed verification). */
  deadline?: number
  /** The category, where the report change carries it. */
  category?: string
}

/** The event-based KPIs (patrolCoverage and onlineWorkers cannot come from the change log). */
export interface OracleValues {
  reported: number
  dispatched: number
  disposalRate: number | null
  onTimeRate: number | null
  closeRate: number | null
  reworkRate: number | null
  extensionRate: number | null
  overdueRate: number | null
  overdueOpen: number
  satisfactionRate: number | null
  avgDisposalHours: number | null
  score: number | null
}

export const ORACLE_KEYS = [
  'reported',
  'dispatched',
  'disposalRate',
  'onTimeRate',
  'closeRate',
  'reworkRate',
  'extensionRate',
  'overdueRate',
  'overdueOpen',
  'satisfactionRate',
  'avgDisposalHours',
  'score',
] as const satisfies readonly (keyof OracleValues)[]

const instant = (v: unknown): number | undefined => {
  if (typeof v === 'number') return v
  if (typeof v === 'string') {
    const t = Date.parse(v)
    if (Number.isNaN(t)) throw new Error(`unparseable instant ${v}`)
    return t
  }
  return undefined
}

/** Parse a rendered change (ISO instants, or ms) into a LogChange. */
export function parseChange(c: RawChange): LogChange {
  const d = c.data ?? {}
  const out: LogChange = {
    seq: c.seq,
    at: instant(c.at)!,
    eventId: c.eventId,
    gridCode: c.gridCode,
    action: c.action,
    status: c.status,
  }
  if (typeof d.passed === 'boolean') out.passed = d.passed
  if (typeof d.satisfaction === 'string') out.satisfaction = d.satisfaction
  const deadline = instant(d.deadline)
  if (deadline !== undefined) out.deadline = deadline
  if (typeof d.category === 'string') out.category = d.category
  return out
}

/** DESIGN.md §2's lifecycle: the state an action leads to from a state, or undefined (refused). */
export function nextStatus(status: string, action: string, passed?: boolean): string | undefined {
  const table: Record<string, Record<string, string>> = {
    accept: { reported: 'accepted' },
    file: { accepted: 'filed' },
    cancel: { reported: 'cancelled', accepted: 'cancelled', filed: 'cancelled' },
    dispatch: { filed: 'dispatched' },
    return: { dispatched: 'filed' },
    extend: { dispatched: 'dispatched' },
    handle: { dispatched: 'handled' },
    verify: { handled: passed ? 'closed' : 'dispatched' },
    evaluate: { closed: 'closed' },
    self_handle: { reported: 'closed' },
  }
  return table[action]?.[status]
}

/** One event as it stood at an instant, folded from its changes made at or before it. */
export interface OracleEvent {
  id: string
  gridCode: string
  status: string
  reportedAt: number
  firstDispatchedAt: number | null
  /** Cancelled after its first dispatch: out of every period's cohort. */
  cancelledAfterDispatch: boolean
  /** The deadline in force (null when not dispatched since a return). */
  deadline: number | null
  /** Some handling came after the deadline in force when it was made. */
  lateHandling: boolean
  /** The last handling (the one that stands while handled or closed). */
  lastHandleAt: number | null
  reworks: number
  extensions: number
  evaluations: { at: number; satisfaction: string }[]
}

/** A change that does not follow DESIGN.md's lifecycle from the folded state (the log is wrong). */
export interface LogAnomaly {
  seq: number
  eventId: string
  problem: string
}

/** Fold one event's changes (in seq order) made at or before `at`. */
export function foldEvent(
  log: readonly LogChange[],
  at: number,
  anomalies?: LogAnomaly[],
): OracleEvent | null {
  let e: OracleEvent | null = null
  for (const c of log) {
    if (c.at > at) continue
    if (c.action === 'report') {
      e = {
        id: c.eventId,
        gridCode: c.gridCode,
        status: 'reported',
        reportedAt: c.at,
        firstDispatchedAt: null,
        cancelledAfterDispatch: false,
        deadline: null,
        lateHandling: false,
        lastHandleAt: null,
        reworks: 0,
        extensions: 0,
        evaluations: [],
      }
      if (c.status !== 'reported')
        anomalies?.push({ seq: c.seq, eventId: c.eventId, problem: 'report not reported' })
      continue
    }
    if (!e) {
      anomalies?.push({ seq: c.seq, eventId: c.eventId, problem: `${c.action} before the report` })
      continue
    }
    const next = nextStatus(e.status, c.action, c.passed)
    if (next === undefined || next !== c.status)
      anomalies?.push({
        seq: c.seq,
        eventId: c.eventId,
        problem: `${c.action} from ${e.status} logged as ${c.status} (rules: ${next ?? 'refused'})`,
      })
    switch (c.action) {
      case 'dispatch':
        e.firstDispatchedAt ??= c.at
        e.deadline = c.deadline ?? null
        if (c.deadline === undefined)
          anomalies?.push({ seq: c.seq, eventId: c.eventId, problem: 'dispatch without a deadline' })
        break
      case 'return':
        e.deadline = null
        break
      case 'extend':
        e.extensions++
        if (c.deadline !== undefined) e.deadline = c.deadline
        break
      case 'handle':
        // On time only if no later than the deadline in force when it was made.
        if (e.deadline === null || c.at > e.deadline) e.lateHandling = true
        e.lastHandleAt = c.at
        break
      case 'verify':
        if (c.passed === false) {
          e.reworks++
          // A rework's new deadline applies to the new handling.
          if (c.deadline !== undefined) e.deadline = c.deadline
        }
        break
      case 'cancel':
        if (e.firstDispatchedAt !== null) e.cancelledAfterDispatch = true
        break
      case 'self_handle':
        e.lastHandleAt = c.at
        break
      case 'evaluate':
        e.evaluations.push({ at: c.at, satisfaction: c.satisfaction ?? '' })
        break
    }
    e.status = next ?? c.status
  }
  return e
}

/** The change log grouped by event, each in seq order. */
export function groupByEvent(changes: readonly LogChange[]): Map<string, LogChange[]> {
  const m = new Map<string, LogChange[]>()
  for (const c of [...changes].sort((a, b) => a.seq - b.seq)) {
    const list = m.get(c.eventId)
    if (list) list.push(c)
    else m.set(c.eventId, [c])
  }
  return m
}

export interface OracleQuery {
  region: string
  /** Period [from, to), epoch ms. */
  from: number
  to: number
  /** The instant the figures hold for: changes made at or before it, overdue at it. */
  at: number
  calendars: CalendarSet
  /** The category of an event (the report change carries none in `/changes`). */
  categoryOf: (eventId: string) => string
}

const rate = (n: number, d: number): number | null => (d === 0 ? null : n / d)
const within = (t: number | null, q: OracleQuery): boolean => t !== null && t >= q.from && t < q.to
const HOUR = 3_600_000

/** Every event-based KPI of DESIGN.md §2 for a region, period and instant. */
export function oracleKpis(byEvent: ReadonlyMap<string, readonly LogChange[]>, q: OracleQuery): OracleValues {
  let reported = 0
  let cohort = 0
  let handled = 0
  let onTime = 0
  let closed = 0
  let reworked = 0
  let extended = 0
  let overdueCohort = 0
  let overdueOpen = 0
  let evaluations = 0
  let satisfied = 0
  let disposalMillis = 0
  for (const log of byEvent.values()) {
    if (!log[0]!.gridCode.startsWith(q.region)) continue
    const e = foldEvent(log, q.at)
    if (!e) continue
    if (within(e.reportedAt, q)) reported++
    const overdue = e.status === 'dispatched' && e.deadline !== null && q.at > e.deadline
    if (overdue) overdueOpen++
    for (const v of e.evaluations) {
      if (!within(v.at, q)) continue
      evaluations++
      if (v.satisfaction === 'satisfied' || v.satisfaction === 'very_satisfied') satisfied++
    }
    if (!within(e.firstDispatchedAt, q) || e.cancelledAfterDispatch) continue
    cohort++
    const isHandled = e.status === 'handled' || e.status === 'closed'
    if (isHandled) {
      handled++
      if (!e.lateHandling) onTime++
      const cal = calendarOf(q.calendars, q.categoryOf(e.id))
      disposalMillis += workingMillisBetween(e.firstDispatchedAt!, e.lastHandleAt!, cal)
    }
    if (e.status === 'closed') closed++
    if (e.reworks > 0) reworked++
    if (e.extensions > 0) extended++
    if (overdue) overdueCohort++
  }
  const disposalRate = rate(handled, cohort)
  const onTimeRate = rate(onTime, cohort)
  const reworkRate = rate(reworked, cohort)
  const extensionRate = rate(extended, cohort)
  const overdueRate = rate(overdueCohort, cohort)
  return {
    reported,
    dispatched: cohort,
    disposalRate,
    onTimeRate,
    closeRate: rate(closed, cohort),
    reworkRate,
    extensionRate,
    overdueRate,
    overdueOpen,
    satisfactionRate: rate(satisfied, evaluations),
    avgDisposalHours: handled === 0 ? null : disposalMillis / handled / HOUR,
    score:
      cohort === 0
        ? null
        : 30 * disposalRate! +
          20 * onTimeRate! +
          20 * (1 - reworkRate!) +
          20 * (1 - overdueRate!) +
          10 * (1 - extensionRate!),
  }
}

/** The last change made at or before `at` (DESIGN.md: an as-of answer's seq), 0 if none. */
export function seqAt(changes: readonly LogChange[], at: number): number {
  let seq = 0
  for (const c of changes) if (c.at <= at && c.seq > seq) seq = c.seq
  return seq
}
