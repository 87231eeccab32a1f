/** Building live frames from domain records: one place decides what each audience may see. */
import { maskReporter } from '../../shared/pii.ts'
import type { ChangeFrame, LiveEvent, PositionsFrame } from '../../shared/live.ts'
import type { Change, GridEvent, Position } from '../../shared/types.ts'
import { formatIsoWithOffset } from '../../shared/working-time.ts'

/** `full`: officers and admins; `masked`: leaders (contact details masked). Public gets no events. */
export type Audience = 'full' | 'masked'

/** The event as a frame carries it: immutable fields, plus the status and data of `change`. */
export function liveEvent(e: GridEvent, audience: Audience, tz: string, change?: Change): LiveEvent {
  const reporter = e.reporter && (audience === 'full' ? e.reporter : maskReporter(e.reporter))
  const { until, deadline, ...rest } = (change?.data ?? {}) as NonNullable<Change['data']> & {
    deadline?: number
  }
  return {
    id: e.id,
    gridCode: e.gridCode,
    category: e.category,
    source: e.source,
    lat: e.lat,
    lng: e.lng,
    status: change ? change.status : e.status,
    ...(change ? { action: change.action } : {}),
    reportedAt: formatIsoWithOffset(e.reportedAt, tz),
    description: e.description,
    ...(reporter ? { reporter } : {}),
    ...(change?.data
      ? {
          data: {
            ...rest,
            ...(until !== undefined ? { until: formatIsoWithOffset(until, tz) } : {}),
            ...(deadline !== undefined ? { deadline: formatIsoWithOffset(deadline, tz) } : {}),
          },
        }
      : {}),
  }
}

export function changeFrame(change: Change, e: GridEvent, audience: Audience, tz: string): ChangeFrame {
  return {
    seq: change.seq,
    at: formatIsoWithOffset(change.at, tz),
    event: liveEvent(e, audience, tz, change),
  }
}

/** Flat [index, lng×1e5, lat×1e5, …] over the worker index. */
export function encodePositions(
  positions: Iterable<Position>,
  indexOf: Map<string, number>,
  at: number,
  tz: string,
): PositionsFrame {
  const workers: number[] = []
  for (const p of positions) {
    const i = indexOf.get(p.workerId)
    if (i !== undefined) workers.push(i, Math.round(p.lng * 1e5), Math.round(p.lat * 1e5))
  }
  return { at: formatIsoWithOffset(at, tz), workers }
}
