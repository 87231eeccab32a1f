/**
 * The live aggregates, maintained incrementally from committed changes (never recomputed from the
 * whole store per change): KPI counters for every region of the city for today, per-grid figures,
 * open events, overdue deadlines, workers' last positions and today's patrol rounds.
 */
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
  dayOf: (at: number) => { start: number; end: number }
}) {
  const { store, clock, calendar, city } = deps
  const gridOfWorker = new Map(city.workers().map((w) => [w.id, w.gridCode]))
  let seq = 0
  let day = deps.dayOf(clock.now())
  let counters = new Map<string, KpiCounters>()
  let tracked = new Map<string, Tracked>()
  let open = new Map<string, GridEvent>()
  let openByGrid = new Map<string, number>()
  let roundsByGrid = new Map<string, number>()
  /** Rounds counted today (worker|start): a round is upserted as it grows but counts once. */
  let roundKeys = new Set<string>()
  let deadlines = new MinHeap<{ deadline: number; id: string; seq: number }>(
    (a, b) => a.deadline - b.deadline,
  )
  const lastPing = new Map<string, Position>()
  const recentReports = new Map<string, number[]>()
  let baselinePerHour = new Map<string, number>()
  const lastSurge = new Map<string, number>()
  const dirtyRegions = new Set<string>()
  const dirtyGrids = new Set<string>()
  let buffered: Parameters<typeof applyChange>[] | null = null

  const ctxAt = (now: number) => ({ from: day.start, to: day.end, now, calendar })
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

  function applyChange(change: Change, event: GridEvent, previous: GridEvent | null): void {
    if (buffered) {
      buffered.push([change, event, previous])
      return
    }
    if (change.seq <= seq) return
    seq = change.seq
    track(event, clock.now())
    if (previous && isOpen(previous)) bump(openByGrid, previous.gridCode, -1)
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
    roundsByGrid = new Map(snap.roundsByGrid)
    roundKeys = new Set(snap.roundKeys)
    for (const p of snap.positions) lastPing.set(p.workerId, p)
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
     * (Re)build from one store snapshot; changes committed meanwhile are applied after it. If the
     * store fails, nothing changes (the day included, so `tick` still reports a new day to retry).
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
        for (const args of pending) applyChange(...args)
      }
    },
    applyIngest(positions: Position[], rounds: PatrolRound[]): void {
      for (const p of positions) {
        const seen = lastPing.get(p.workerId)
        if (!seen || p.at >= seen.at) lastPing.set(p.workerId, p)
      }
      for (const r of rounds) {
        const key = `${r.workerId}|${r.startedAt}`
        if (r.endedAt >= day.start && r.endedAt < day.end && !roundKeys.has(key)) {
          roundKeys.add(key)
          bump(roundsByGrid, r.gridCode, 1)
          dirtyGrids.add(r.gridCode)
          for (const a of ancestors(r.gridCode)) dirtyRegions.add(a)
        }
      }
    },
    /** Advance time: recount events whose deadline passed; returns the alerts to send. */
    tick(now: number): { overdue: OverdueAlert[]; surges: SurgeAlert[]; newDay: boolean } {
      if (now >= day.end) return { overdue: [], surges: [], newDay: true }
      const overdue: OverdueAlert[] = []
      while (deadlines.size > 0 && deadlines.peek()!.deadline < now) {
        const d = deadlines.pop()!
        const t = tracked.get(d.id)
        if (!t || t.event.seq !== d.seq || !isOverdue(t.event, now)) continue
        track(t.event, now)
        overdue.push({ event: t.event, at: now })
      }
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
      for (const g of grids) if ((roundsByGrid.get(g.code) ?? 0) >= 2) twoRounds++
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
      return [code, openByGrid.get(code) ?? 0, c.overdueOpen, c.reported, roundsByGrid.get(code) ?? 0]
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
