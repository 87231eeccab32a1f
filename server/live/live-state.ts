/**
 * The live aggregates, maintained incrementally from committed changes (never recomputed from the
 * whole store per change): KPI counters for every region of the city for today, per-grid figures,
 * open events, overdue deadlines, workers' last positions and today's patrol rounds.
 */
import { calendarSet } from '../../shared/calendars.ts'
import {
  addEventToCounters,
  emptyKpiCounters,
  kpisFromCounters,
  type KpiCounters,
  type KpiValues,
  type ScoreWeights,
} from '../../shared/kpis.ts'
import { isOverdue } from '../../shared/lifecycle.ts'
import type { GridAggregate } from '../../shared/live.ts'
import { hasTwoRounds, type PatrolDay, type RoundSpan } from '../../shared/patrol.ts'
import type { Change, Clock, GridEvent, PatrolRound, Position } from '../../shared/types.ts'
import type { WorkCalendar } from '../../shared/working-time.ts'
import type { CityIndex } from '../city/city-index.ts'
import { MinHeap } from '../sim/heap.ts'
import type { KpiSnapshot, Store } from '../store/store.ts'

/** A worker pinged within this window is on duty (online). */
export const ONLINE_WINDOW_MS = 5 * 60_000
const HOUR = 3_600_000

export interface OverdueAlert {
  event: GridEvent
  at: number
}

export interface SurgeAlert {
  gridCode: string
  lastHour: number
  baseline: number
  at: number
}

interface Tracked {
  event: GridEvent
  /** The `now` its counter contribution was computed at (to retract it exactly). */
  now: number
}

const isOpen = (e: GridEvent): boolean => e.status !== 'closed' && e.status !== 'cancelled'
/** The region codes containing a grid: district, street, community, grid. */
export const ancestors = (grid: string): string[] => [
  grid.slice(0, 6),
  grid.slice(0, 9),
  grid.slice(0, 12),
  grid,
]

export function createLiveState(deps: {
  store: Store
  clock: Clock
  calendar: WorkCalendar
  city: CityIndex
  weights: ScoreWeights
  dayOf: (at: number) => PatrolDay
}) {
  const { store, clock, calendar, city } = deps
  const calendars = calendarSet(calendar)
  const gridOfWorker = new Map(city.workers().map((w) => [w.id, w.gridCode]))
  let seq = 0
  let day = deps.dayOf(clock.now())
  let counters = new Map<string, KpiCounters>()
  let tracked = new Map<string, Tracked>()
  let open = new Map<string, GridEvent>()
  let openByGrid = new Map<string, number>()
  /** Today's rounds per grid, by `${workerId}|${startedAt}`: a round is upserted as it grows. */
  let roundsByGrid = new Map<string, Map<string, RoundSpan>>()
  let deadlines = new MinHeap<{ deadline: number; id: string; seq: number }>(
    (a, b) => a.deadline - b.deadline,
  )
  const lastPing = new Map<string, Position>()
  const recentReports = new Map<string, number[]>()
  let baselinePerHour = new Map<string, number>()
  const lastSurge = new Map<string, number>()
  const dirtyRegions = new Set<string>()
  const dirtyGrids = new Set<string>()
  /** While a rebuild runs: the changes and ingests heard meanwhile, in order, applied after it. */
  let buffered: Array<() => void> | null = null
  /** Overdue alerts of deadlines passed by `advance` and not yet sent (the next tick sends them). */
  let unsent: OverdueAlert[] = []
  /**
   * Recount the events whose deadline passed by `now`: afterwards every counter holds for `now`
   * (the deadline clock is the only thing in them that moves with time).
   */
  const advance = (now: number): void => {
    while (deadlines.size > 0 && deadlines.peek()!.deadline < now) {
      const d = deadlines.pop()!
      const t = tracked.get(d.id)
      if (!t || t.event.seq !== d.seq || !isOverdue(t.event, now)) continue
      track(t.event, now)
      unsent.push({ event: t.event, at: now })
    }
  }

  const ctxAt = (now: number) => ({ from: day.start, to: day.end, now, calendars })
  const countersOf = (region: string): KpiCounters => {
    let c = counters.get(region)
    if (!c) counters.set(region, (c = emptyKpiCounters()))
    return c
  }
  const contribute = (e: GridEvent, now: number, sign: 1 | -1): void => {
    const ctx = ctxAt(now)
    for (const r of ancestors(e.gridCode)) addEventToCounters(countersOf(r), e, ctx, sign)
  }
  const track = (e: GridEvent, now: number): void => {
    const t = tracked.get(e.id)
    if (t) contribute(t.event, t.now, -1)
    contribute(e, now, 1)
    tracked.set(e.id, { event: e, now })
    if (e.status === 'dispatched' && e.deadline !== null && e.deadline >= now)
      deadlines.push({ deadline: e.deadline, id: e.id, seq: e.seq })
    for (const r of ancestors(e.gridCode)) dirtyRegions.add(r)
    dirtyGrids.add(e.gridCode)
  }
  const bump = (m: Map<string, number>, k: string, d: number): void => {
    m.set(k, (m.get(k) ?? 0) + d)
  }

  /** A change from the feed, in seq order; the event's previous state is the one held here. */
  function applyChange(change: Change, event: GridEvent): void {
    if (buffered) {
      buffered.push(() => applyChange(change, event))
      return
    }
    if (change.seq <= seq) return
    seq = change.seq
    track(event, clock.now())
    const previous = open.get(event.id)
    if (previous) bump(openByGrid, previous.gridCode, -1)
    if (isOpen(event)) {
      bump(openByGrid, event.gridCode, 1)
      open.set(event.id, event)
    } else open.delete(event.id)
    if (change.action === 'report') {
      const times = recentReports.get(event.gridCode) ?? []
      times.push(event.reportedAt)
      recentReports.set(event.gridCode, times)
    }
  }

  function applySnapshot(snap: KpiSnapshot, now: number): void {
    seq = snap.seq
    counters = new Map()
    tracked = new Map()
    open = new Map()
    openByGrid = new Map()
    deadlines = new MinHeap((a, b) => a.deadline - b.deadline)
    for (const e of snap.events) {
      track(e, now)
      if (isOpen(e)) {
        open.set(e.id, e)
        bump(openByGrid, e.gridCode, 1)
      }
    }
    roundsByGrid = new Map()
    for (const [grid, rounds] of snap.roundsByGrid)
      roundsByGrid.set(grid, new Map(rounds.map((r) => [`${r.workerId}|${r.startedAt}`, r])))
    // The newest ping wins: one heard live may be newer than the store's read.
    for (const p of snap.positions) {
      const seen = lastPing.get(p.workerId)
      if (!seen || p.at >= seen.at) lastPing.set(p.workerId, p)
    }
    for (const g of city.gridsOf(city.district.code)) dirtyGrids.add(g.code)
  }

  return {
    get seq() {
      return seq
    },
    get day() {
      return day
    },
    applyChange,
    /**
     * (Re)build from one store snapshot; changes and ingests heard meanwhile are applied after it,
     * against the day it holds. The day switches only when the new figures are in (in the same
     * synchronous step). If the store fails, nothing changes (the day included, so `tick` still
     * reports a new day to retry). The caller sends no frame while it runs.
     */
    async rebuild(): Promise<void> {
      buffered = []
      try {
        const now = clock.now()
        const next = deps.dayOf(now)
        const snap = await store.kpiSnapshot(
          city.district.code,
          next.start,
          next.end,
          next,
          now - ONLINE_WINDOW_MS,
        )
        const counts = await store.reportCountsSince(now - 30 * 24 * HOUR)
        baselinePerHour = new Map([...counts].map(([g, n]) => [g, n / (30 * 24)]))
        day = next
        applySnapshot(snap, now)
      } finally {
        const pending = buffered ?? []
        buffered = null
        for (const apply of pending) apply()
      }
    },
    applyIngest(positions: Position[], rounds: PatrolRound[]): void {
      // During a rebuild: after it, so that the rounds are judged against the new day and the pings
      // are not overwritten by the store's older read.
      if (buffered) return void buffered.push(() => this.applyIngest(positions, rounds))
      for (const p of positions) {
        const seen = lastPing.get(p.workerId)
        if (!seen || p.at >= seen.at) lastPing.set(p.workerId, p)
      }
      for (const r of rounds) {
        // The day's rounds are those started on it (as `hasTwoRounds` counts them).
        if (r.startedAt < day.start || r.startedAt >= day.end) continue
        let m = roundsByGrid.get(r.gridCode)
        if (!m) roundsByGrid.set(r.gridCode, (m = new Map()))
        // A round upserted as it grows changes a figure only when it is new or its end moves 双巡.
        const [size, two] = [m.size, hasTwoRounds(m.values(), day)]
        m.set(`${r.workerId}|${r.startedAt}`, { startedAt: r.startedAt, endedAt: r.endedAt })
        if (m.size === size && hasTwoRounds(m.values(), day) === two) continue
        dirtyGrids.add(r.gridCode)
        for (const a of ancestors(r.gridCode)) dirtyRegions.add(a)
      }
    },
    /**
     * Run the deadline clock to `now` (a subscribe snapshot does, for its own instant); the overdue
     * alerts this raises go out with the next tick. Past the end of the day, nothing (a rebuild is due).
     */
    advance(now: number): void {
      if (now < day.end) advance(now)
    },
    /** Advance time: recount events whose deadline passed; returns the alerts to send. */
    tick(now: number): { overdue: OverdueAlert[]; surges: SurgeAlert[]; newDay: boolean } {
      if (now >= day.end) return { overdue: [], surges: [], newDay: true }
      advance(now)
      const overdue = unsent
      unsent = []
      const surges: SurgeAlert[] = []
      for (const [grid, times] of recentReports) {
        while (times.length && times[0]! < now - HOUR) times.shift()
        if (times.length === 0) recentReports.delete(grid)
        const baseline = baselinePerHour.get(grid) ?? 0
        if (
          times.length >= Math.max(3, Math.ceil(5 * baseline)) &&
          now - (lastSurge.get(grid) ?? 0) >= HOUR
        ) {
          lastSurge.set(grid, now)
          surges.push({ gridCode: grid, lastHour: times.length, baseline, at: now })
        }
      }
      return { overdue, surges, newDay: false }
    },
    kpis(region: string, now: number): KpiValues {
      const grids = city.gridsOf(region)
      let twoRounds = 0
      for (const g of grids) if (hasTwoRounds(roundsByGrid.get(g.code)?.values() ?? [], day)) twoRounds++
      let online = 0
      for (const p of lastPing.values())
        if (p.at >= now - ONLINE_WINDOW_MS && workerIn(p.workerId, region)) online++
      return kpisFromCounters(
        countersOf(region),
        { grids: grids.length, gridsWithTwoRounds: twoRounds, onlineWorkers: online },
        deps.weights,
      )
    },
    grid(code: string): GridAggregate {
      const c = countersOf(code)
      return [code, openByGrid.get(code) ?? 0, c.overdueOpen, c.reported, roundsByGrid.get(code)?.size ?? 0]
    },
    openEvents(region: string, cap: number): GridEvent[] {
      const list = [...open.values()].filter((e) => e.gridCode.startsWith(region))
      list.sort((a, b) => b.reportedAt - a.reportedAt || (a.id < b.id ? 1 : -1))
      return list.slice(0, cap)
    },
    /** Open events in the region past their deadline at `now`, latest deadline first. */
    overdueEvents(region: string, now: number, cap: number): GridEvent[] {
      const list = [...open.values()].filter((e) => e.gridCode.startsWith(region) && isOverdue(e, now))
      list.sort((a, b) => b.deadline! - a.deadline! || (a.id < b.id ? 1 : -1))
      return list.slice(0, cap)
    },
    lastPings: () => lastPing,
    /** Regions and grids touched since the last call. */
    takeDirty(): { regions: Set<string>; grids: Set<string> } {
      const out = { regions: new Set(dirtyRegions), grids: new Set(dirtyGrids) }
      dirtyRegions.clear()
      dirtyGrids.clear()
      return out
    },
  }

  function workerIn(workerId: string, region: string): boolean {
    return (gridOfWorker.get(workerId) ?? '').startsWith(region)
  }
}

export type LiveState = ReturnType<typeof createLiveState>
