/**
 * Subscribe snapshots and the aggregate frames, as each role may see them. A snapshot is built once
 * per role, scope, region and seq, and shared by every socket that asks within a tick, so that a
 * repeated `subscribe` costs an encode, not a build. Person figures go through `shared/privacy.ts`.
 */
import type { AlertFrame, ChangeFrame, GridAggregate, KpiFrame, Snapshot } from '../../shared/live.ts'
import { gridForRole, valuesForRole } from '../../shared/privacy.ts'
import { levelOf } from '../../shared/regions.ts'
import type { Change, Clock, GridEvent, Role } from '../../shared/types.ts'
import { formatIsoWithOffset } from '../../shared/working-time.ts'
import type { CityIndex } from '../city/city-index.ts'
import { changeFrame, encodePositions, liveEvent, type Audience } from './frames.ts'
import { ONLINE_WINDOW_MS, type LiveState } from './live-state.ts'

/** Overdue alerts in a subscribe snapshot, at most (the wall lists 30). */
const ALERTS_CAP = 30
/** A cached snapshot is shared for at most this much product time (a tick, by default). */
const SNAPSHOT_MAX_AGE_MS = 1000
/** Recent changes in a subscribe snapshot, at most (the wall's ticker holds 40). */
const RECENT_CAP = 40
/** District-wide changes kept for those lists (a region's last 40 are usually among them). */
export const RECENT_KEEP = 500

/** `full`: officers and admins; `masked`: leaders; null: the public (aggregates only). */
export const audienceOf = (role: Role): Audience | null =>
  role === 'admin' || role === 'officer' ? 'full' : role === 'leader' ? 'masked' : null

/** The alert an event raised when it fell overdue at `at`. */
export const overdueAlert = (e: GridEvent, at: number, tz: string): AlertFrame => ({
  kind: 'overdue',
  at: formatIsoWithOffset(at, tz),
  seq: e.seq,
  eventId: e.id,
  gridCode: e.gridCode,
  category: e.category,
  deadline: formatIsoWithOffset(e.deadline!, tz),
})

/** A region's KPI frame as `role` may see it. */
export function kpisForRole(frame: KpiFrame, role: Role): KpiFrame {
  const level = levelOf(frame.region)
  return level ? { ...frame, values: valuesForRole(frame.values, level, role) } : frame
}

export const gridsForRole = (grids: GridAggregate[], role: Role): GridAggregate[] =>
  grids.map((g) => gridForRole(g, role))

export function createSnapshots(d: {
  state: LiveState
  city: CityIndex
  clock: Clock
  timeZone: string
  openEventsCap: number
}) {
  const tz = d.timeZone
  const workerIds = d.city
    .workers()
    .map((w) => w.id)
    .sort()
  const workerIndex = new Map(workerIds.map((id, i) => [id, i]))
  const gridOfWorker = new Map(d.city.workers().map((w) => [w.id, w.gridCode]))
  const cache = new Map<string, { seq: number; at: number; snapshot: Snapshot }>()
  /** The last changes with their events, oldest first; bounded (trimmed to RECENT_KEEP). */
  let recent: Array<[Change, GridEvent]> = []

  /** The region's figures as they hold at `now` (the live state's deadline clock already run to it). */
  const kpiFrame = (region: string, now: number): KpiFrame => ({
    seq: d.state.seq,
    region,
    from: formatIsoWithOffset(d.state.day.start, tz),
    to: formatIsoWithOffset(d.state.day.end, tz),
    at: formatIsoWithOffset(now, tz),
    values: d.state.kpis(region, now),
  })

  /** The region's last changes up to `seq`, newest first, at most RECENT_CAP. */
  function recentFrames(region: string, seq: number, audience: Audience): ChangeFrame[] {
    const out: ChangeFrame[] = []
    for (let i = recent.length - 1; i >= 0 && out.length < RECENT_CAP; i--) {
      const [c, e] = recent[i]!
      if (c.seq <= seq && c.gridCode.startsWith(region)) out.push(changeFrame(c, e, audience, tz))
    }
    return out
  }

  function build(role: Role, scope: string, region: string, now: number): Snapshot {
    // As the tick does: what fell overdue since the last tick is overdue in the snapshot too.
    d.state.advance(now)
    const audience = audienceOf(role)
    const grids = gridsForRole(
      d.city.gridsOf(region).map((g) => d.state.grid(g.code)),
      role,
    )
    const base: Snapshot = { seq: d.state.seq, region, kpis: kpisForRole(kpiFrame(region, now), role), grids }
    if (!audience) return base
    const lastPings = [...d.state.lastPings().values()].filter(
      (p) => p.at >= now - ONLINE_WINDOW_MS && (gridOfWorker.get(p.workerId) ?? '').startsWith(scope),
    )
    return {
      ...base,
      openEvents: d.state.openEvents(region, d.openEventsCap).map((e) => liveEvent(e, audience, tz)),
      workerIds,
      positions: encodePositions(lastPings, workerIndex, now, tz),
      alerts: d.state.overdueEvents(region, now, ALERTS_CAP).map((e) => overdueAlert(e, e.deadline!, tz)),
      recent: recentFrames(region, base.seq, audience),
    }
  }

  return {
    workerIndex,
    gridOfWorker,
    kpiFrame,
    /**
     * The snapshot of `region` for a socket of `role` and `scope`: shared while the seq and the tick
     * hold, and at most SNAPSHOT_MAX_AGE_MS of product time (its figures hold for its `kpis.at`).
     */
    get(role: Role, scope: string, region: string): Snapshot {
      const key = `${role}|${scope}|${region}`
      const hit = cache.get(key)
      const now = d.clock.now()
      if (hit && hit.seq === d.state.seq && now >= hit.at && now - hit.at < SNAPSHOT_MAX_AGE_MS)
        return hit.snapshot
      const snapshot = build(role, scope, region, now)
      cache.set(key, { seq: snapshot.seq, at: now, snapshot })
      return snapshot
    },
    /** A new tick: time moved, so every cached snapshot is stale (this also bounds the cache). */
    expire(): void {
      cache.clear()
    },
    remember(change: Change, event: GridEvent): void {
      recent.push([change, event])
      if (recent.length >= 2 * RECENT_KEEP) recent = recent.slice(-RECENT_KEEP)
    },
    /** Changes from before this start, older than any heard since. */
    seed(before: Array<[Change, GridEvent]>): void {
      const firstHeard = recent[0]?.[0].seq ?? Infinity
      recent = [...before.filter(([c]) => c.seq < firstHeard), ...recent]
    },
    firstHeard: (): number => recent[0]?.[0].seq ?? Infinity,
  }
}

export type Snapshots = ReturnType<typeof createSnapshots>
