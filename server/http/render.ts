/** Domain records → JSON for clients: ISO times with the city's offset; PII masked for roles that must not see it. */
import type { ChangeView, EventView } from '../../shared/api.ts'
import { maskReporter } from '../../shared/pii.ts'
import type { Change, GridEvent, Role } from '../../shared/types.ts'
import { formatIsoWithOffset } from '../../shared/working-time.ts'

const iso = (ms: number | null, tz: string): string | null =>
  ms === null ? null : formatIsoWithOffset(ms, tz)

/** Roles that see reporters' contact details in full. */
const FULL_PII: readonly Role[] = ['admin', 'officer']

/**
 * Roles that read an event's free-text description. An `ingest` source is told neither the
 * description nor the reporter in full on any answer, its own report's included: one rule without
 * exceptions, and a source already holds what it sent.
 */
const READS_DESCRIPTION: readonly Role[] = ['admin', 'officer', 'leader']

export function renderEvent(e: GridEvent, role: Role, tz: string, now: number): EventView {
  const reporter = e.reporter && (FULL_PII.includes(role) ? e.reporter : maskReporter(e.reporter))
  return {
    id: e.id,
    seq: e.seq,
    status: e.status,
    category: e.category,
    ...(READS_DESCRIPTION.includes(role) ? { description: e.description } : {}),
    lat: e.lat,
    lng: e.lng,
    gridCode: e.gridCode,
    source: e.source,
    ...(reporter ? { reporter } : {}),
    reportedAt: formatIsoWithOffset(e.reportedAt, tz),
    updatedAt: formatIsoWithOffset(e.updatedAt, tz),
    firstDispatchedAt: iso(e.firstDispatchedAt, tz),
    dispatchedAt: iso(e.dispatchedAt, tz),
    deadline: iso(e.deadline, tz),
    handledAt: iso(e.handledAt, tz),
    closedAt: iso(e.closedAt, tz),
    cancelledAt: iso(e.cancelledAt, tz),
    department: e.department,
    reworkCount: e.reworkCount,
    extensionCount: e.extensionCount,
    returnCount: e.returnCount,
    satisfaction: e.satisfaction,
    evaluatedAt: iso(e.evaluatedAt, tz),
    overdue: e.status === 'dispatched' && e.deadline !== null && now > e.deadline,
  }
}

export function renderChange(c: Change, tz: string): Omit<ChangeView, 'actor'> {
  const { deadline, until, ...rest } = (c.data ?? {}) as NonNullable<Change['data']> & { deadline?: number }
  const data = {
    ...rest,
    ...(until !== undefined ? { until: formatIsoWithOffset(until, tz) } : {}),
    ...(deadline !== undefined ? { deadline: formatIsoWithOffset(deadline, tz) } : {}),
  }
  return {
    seq: c.seq,
    at: formatIsoWithOffset(c.at, tz),
    eventId: c.eventId,
    gridCode: c.gridCode,
    action: c.action,
    status: c.status,
    ...(Object.keys(data).length ? { data } : {}),
  }
}
