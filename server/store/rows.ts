/** Row ⇄ domain mapping shared by the SQL stores. */
import type { Change, GridEvent } from '../../shared/types.ts'

export interface EventRow {
  id: string
  seq: number
  status: GridEvent['status']
  category: string
  description: string
  lat: number
  lng: number
  grid_code: string
  source: GridEvent['source']
  reporter: string | null
  reported_at: number
  updated_at: number
  first_dispatched_at: number | null
  dispatched_at: number | null
  deadline: number | null
  handled_at: number | null
  late_handled: number
  closed_at: number | null
  cancelled_at: number | null
  department: string | null
  rework_count: number
  extension_count: number
  return_count: number
  satisfaction: GridEvent['satisfaction']
  evaluated_at: number | null
}

export interface ChangeRow {
  seq: number
  at: number
  event_id: string
  grid_code: string
  action: Change['action']
  status: Change['status']
  /** JSON of an `Actor`; null for changes logged before actors were recorded. */
  actor: string | null
  data: string | null
}

export function eventToRow(e: GridEvent): EventRow {
  return {
    id: e.id,
    seq: e.seq,
    status: e.status,
    category: e.category,
    description: e.description,
    lat: e.lat,
    lng: e.lng,
    grid_code: e.gridCode,
    source: e.source,
    reporter: e.reporter ? JSON.stringify(e.reporter) : null,
    reported_at: e.reportedAt,
    updated_at: e.updatedAt,
    first_dispatched_at: e.firstDispatchedAt,
    dispatched_at: e.dispatchedAt,
    deadline: e.deadline,
    handled_at: e.handledAt,
    late_handled: e.lateHandled ? 1 : 0,
    closed_at: e.closedAt,
    cancelled_at: e.cancelledAt,
    department: e.department,
    rework_count: e.reworkCount,
    extension_count: e.extensionCount,
    return_count: e.returnCount,
    satisfaction: e.satisfaction,
    evaluated_at: e.evaluatedAt,
  }
}

export function eventFromRow(r: EventRow): GridEvent {
  return {
    id: r.id,
    seq: Number(r.seq),
    status: r.status,
    category: r.category,
    description: r.description,
    lat: r.lat,
    lng: r.lng,
    gridCode: r.grid_code,
    source: r.source,
    ...(r.reporter ? { reporter: JSON.parse(r.reporter) as GridEvent['reporter'] } : {}),
    reportedAt: Number(r.reported_at),
    updatedAt: Number(r.updated_at),
    firstDispatchedAt: r.first_dispatched_at === null ? null : Number(r.first_dispatched_at),
    dispatchedAt: r.dispatched_at === null ? null : Number(r.dispatched_at),
    deadline: r.deadline === null ? null : Number(r.deadline),
    handledAt: r.handled_at === null ? null : Number(r.handled_at),
    lateHandled: Number(r.late_handled) === 1,
    closedAt: r.closed_at === null ? null : Number(r.closed_at),
    cancelledAt: r.cancelled_at === null ? null : Number(r.cancelled_at),
    department: r.department,
    reworkCount: r.rework_count,
    extensionCount: r.extension_count,
    returnCount: r.return_count,
    satisfaction: r.satisfaction,
    evaluatedAt: r.evaluated_at === null ? null : Number(r.evaluated_at),
  }
}

export function changeFromRow(r: ChangeRow): Change {
  return {
    seq: Number(r.seq),
    at: Number(r.at),
    eventId: r.event_id,
    gridCode: r.grid_code,
    action: r.action,
    status: r.status,
    actor: r.actor ? (JSON.parse(r.actor) as Change['actor']) : null,
    ...(r.data ? { data: JSON.parse(r.data) as Change['data'] } : {}),
  }
}
