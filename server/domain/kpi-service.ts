/**
 * KPIs and rankings for a region and period, computed by the shared definitions over one
 * consistent store snapshot (so the values and the `seq` they belong to always match).
 */
import { calendarSet } from '../../shared/calendars.ts'
import { computeKpis, type KpiValues, type ScoreWeights } from '../../shared/kpis.ts'
import { DEFAULT_PATROL_MIDDAY, hasTwoRounds, middayOf, type PatrolDay } from '../../shared/patrol.ts'
import type { Clock, GridEvent } from '../../shared/types.ts'
import { startOfLocalDay, type WorkCalendar } from '../../shared/working-time.ts'
import type { CityIndex, RegionNode } from '../city/city-index.ts'
import type { KpiSnapshot, Store } from '../store/store.ts'
import type { KpiOffload } from './kpi-offload.ts'

export interface KpiReport {
  region: string
  from: number
  to: number
  /** The instant the figures were read at: now, or the past instant asked for. */
  at: number
  seq: number
  values: KpiValues
}

export interface RankingRow {
  rank: number
  code: string
  name: string
  values: KpiValues
}

export interface KpiService {
  /**
   * Every KPI of the region over [from, to), as the figures stand now; or, with `at` in the past,
   * as they stood at `at` (events in their state then, overdue then, on duty then, rounds by then):
   * the figures a wall showed at that instant, which is what "vs yesterday" compares with.
   */
  kpis(region: string, from: number, to: number, at?: number): Promise<KpiReport>
  /** The district's streets or communities ranked over [from, to), now or as they stood at `at`. */
  rankings(
    level: 'street' | 'community',
    from: number,
    to: number,
    at?: number,
  ): Promise<{ seq: number; rows: RankingRow[] }>
  /**
   * The figures of each span of `buckets` (a sparkline), from one read of the whole range, now or
   * as they stood at `at`. The patrol figures (二巡 coverage, workers on duty) belong to a day and an
   * instant, not to a bucket: null in every point.
   */
  series(region: string, buckets: { from: number; to: number }[], at?: number): Promise<KpiSeries>
  /** The local day [start, end) containing `at`, and its midday for 一日双巡 (PATROL_MIDDAY). */
  dayOf(at: number): PatrolDay
  /** Stop the worker thread, if the service has one. */
  close(): Promise<void>
}

export interface KpiSeries {
  region: string
  /** The instant the figures were read at. */
  at: number
  seq: number
  points: { from: number; to: number; values: KpiValues }[]
}

const ONLINE_WINDOW_MS = 5 * 60_000

/**
 * With `offload`, kpis and rankings are computed in its worker thread (the same code over a
 * read-only connection), given this service's `now`: a heavy read never blocks the event loop.
 */
export function createKpiService(deps: {
  store: Pick<Store, 'kpiSnapshot'>
  clock: Clock
  calendar: WorkCalendar
  city: CityIndex
  weights: ScoreWeights
  offload?: KpiOffload
  /** 一日双巡's local midday, minutes after local midnight (default 12:00). */
  patrolMidday?: number
  /**
   * Days raw pings are kept (POSITION_RETENTION_DAYS): 在岗网格员 as of an instant whose five
   * minutes before lie past it is unknown (null), not 0. Without it every past instant is answered.
   */
  positionRetentionDays?: number
}): KpiService {
  const { store, clock, calendar, city, weights, offload } = deps
  const calendars = calendarSet(calendar)
  const tz = calendar.timeZone
  const dayOf = (at: number) => {
    const start = startOfLocalDay(at, tz)
    const midday = middayOf(start, tz, deps.patrolMidday ?? DEFAULT_PATROL_MIDDAY)
    return { start, midday, end: startOfLocalDay(start + 36 * 3_600_000, tz) }
  }

  /** `events` are the snapshot's events of `node` (the whole snapshot when it is the region asked). */
  const valuesFor = (
    node: RegionNode,
    snap: KpiSnapshot,
    events: GridEvent[],
    from: number,
    to: number,
    now: number,
  ): KpiValues => {
    const grids = city.gridsOf(node.code)
    // The rounds of the local day of `now` (the snapshot's day, read at `now` or as of it).
    const day = dayOf(now)
    let twoRounds = 0
    let online = 0
    for (const g of grids) {
      if (hasTwoRounds(snap.roundsByGrid.get(g.code) ?? [], day)) twoRounds++
      online += snap.onlineByGrid.get(g.code) ?? 0
    }
    return computeKpis({
      events,
      from,
      to,
      now,
      calendars,
      weights,
      patrol: { grids: grids.length, gridsWithTwoRounds: twoRounds, onlineWorkers: online },
    })
  }

  /** The store's snapshot read at `now`, or as it stood at `asOf` (which is then `now`, in the past). */
  const snapshot = (region: string, from: number, to: number, now: number, asOf?: number) =>
    store.kpiSnapshot(region, from, to, dayOf(now), now - ONLINE_WINDOW_MS, asOf)

  /** The figures of `region` computed here, now or as they stood at `at`. */
  const compute = async (region: string, from: number, to: number, now: number, at?: number) => {
    const node = city.region(region)!
    const t = at !== undefined && at < now ? at : now
    const snap = await snapshot(region, from, to, t, t < now ? t : undefined)
    return { region, from, to, at: t, seq: snap.seq, values: valuesFor(node, snap, snap.events, from, to, t) }
  }

  const computeSeries = async (
    region: string,
    buckets: { from: number; to: number }[],
    now: number,
    at?: number,
  ): Promise<KpiSeries> => {
    const t = at !== undefined && at < now ? at : now
    if (buckets.length === 0) return { region, at: t, seq: 0, points: [] }
    const from = Math.min(...buckets.map((b) => b.from))
    const to = Math.max(...buckets.map((b) => b.to))
    const snap = await snapshot(region, from, to, t, t < now ? t : undefined)
    const none = { grids: 0, gridsWithTwoRounds: 0, onlineWorkers: 0 }
    return {
      region,
      at: t,
      seq: snap.seq,
      points: buckets.map((b) => ({
        from: b.from,
        to: b.to,
        values: {
          ...computeKpis({
            events: snap.events,
            from: b.from,
            to: b.to,
            now: t,
            calendars,
            weights,
            patrol: none,
          }),
          patrolCoverage: null,
          onlineWorkers: null,
        },
      })),
    }
  }

  return {
    dayOf,
    close: async () => offload?.close(),
    async series(region, buckets, at) {
      const now = clock.now()
      return offload ? offload.series(now, region, buckets, at) : computeSeries(region, buckets, now, at)
    },
    async kpis(region, from, to, at) {
      const now = clock.now()
      const r = offload
        ? await offload.kpis(now, region, from, to, at)
        : await compute(region, from, to, now, at)
      const kept = deps.positionRetentionDays
      // The pings that made the figure then have been pruned since: it can no longer be told.
      if (kept !== undefined && r.at < now && r.at - ONLINE_WINDOW_MS < now - kept * 86_400_000)
        return { ...r, values: { ...r.values, onlineWorkers: null } }
      return r
    },
    async rankings(level, from, to, at) {
      if (offload) return offload.rankings(clock.now(), level, from, to, at)
      const clockNow = clock.now()
      // As it stood at `at` (read as of then, the deadline clock run to then), or now.
      const now = at !== undefined && at < clockNow ? at : clockNow
      const snap = await snapshot(city.district.code, from, to, now, now < clockNow ? now : undefined)
      const nodes =
        level === 'street'
          ? city.children(city.district.code)
          : city.district.childCodes.flatMap((c) => city.children(c))
      // One pass to group the district's events by unit, not one scan of them per unit.
      const codeLength = level === 'street' ? 9 : 12
      const byUnit = new Map<string, GridEvent[]>()
      for (const e of snap.events) {
        const unit = e.gridCode.slice(0, codeLength)
        const list = byUnit.get(unit)
        if (list) list.push(e)
        else byUnit.set(unit, [e])
      }
      const rows = nodes.map((n) => ({
        code: n.code,
        name: n.name,
        values: valuesFor(n, snap, byUnit.get(n.code) ?? [], from, to, now),
      }))
      rows.sort((a, b) => (b.values.score ?? -1) - (a.values.score ?? -1) || a.code.localeCompare(b.code))
      return { seq: snap.seq, rows: rows.map((r, i) => ({ rank: i + 1, ...r })) }
    },
  }
}
