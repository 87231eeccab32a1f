/**
 * Patrol positions: raw pings are kept for `retentionDays`; rounds (≥ 15 min of pings inside the
 * worker's own grid, gaps < 5 min) are detected as pings arrive and stored when they end.
 */
import type { Clock, PatrolRound, Position } from '../../shared/types.ts'
import type { CityIndex } from '../city/city-index.ts'
import type { Store } from '../store/store.ts'

const MIN_ROUND_MS = 15 * 60_000
const MAX_GAP_MS = 5 * 60_000

export interface PatrolService {
  /** Store pings; returns the ids of unknown workers (their pings are not stored). */
  ingest(positions: Position[]): Promise<{ accepted: number; unknownWorkers: string[] }>
  /** Forget runs whose worker has been silent ≥ 5 min (their rounds are stored already). */
  sweep(): Promise<number>
  /** Delete raw pings past retention. */
  prune(): Promise<number>
  /** Hear committed pings and rounds (the live stream's positions and patrol figures). */
  onIngest(listener: IngestListener): () => void
}

export type IngestListener = (positions: Position[], rounds: PatrolRound[]) => void

interface Run {
  start: number
  last: number
  pings: number
}

export function createPatrolService(deps: {
  store: Store
  clock: Clock
  city: CityIndex
  retentionDays: number
}): PatrolService {
  const { store, clock, city } = deps
  const retentionMs = deps.retentionDays * 86_400_000
  const gridOfWorker = new Map(city.workers().map((w) => [w.id, w.gridCode]))
  const runs = new Map<string, Run>()
  const listeners = new Set<IngestListener>()
  const announce = (positions: Position[], rounds: PatrolRound[]): void =>
    store.afterCommit(() => {
      for (const l of listeners) l(positions, rounds)
    })

  /** A run counts as a round as soon as it lasts 15 min; it is stored then and updated as it grows. */
  const asRound = (workerId: string, run: Run): PatrolRound | null =>
    run.last - run.start >= MIN_ROUND_MS
      ? {
          workerId,
          gridCode: gridOfWorker.get(workerId)!,
          startedAt: run.start,
          endedAt: run.last,
          pings: run.pings,
        }
      : null

  return {
    async ingest(positions) {
      const unknown = new Set<string>()
      const known: Position[] = []
      for (const p of positions) {
        if (gridOfWorker.has(p.workerId)) known.push(p)
        else unknown.add(p.workerId)
      }
      known.sort((a, b) => a.at - b.at)
      // One upsert per round per call, with its latest end.
      const rounds = new Map<string, PatrolRound>()
      const note = (workerId: string, run: Run): void => {
        const r = asRound(workerId, run)
        if (r) rounds.set(`${workerId}|${run.start}`, r)
      }
      // What these pings did to the runs is undone if their batch rolls back (a full disk, a held
      // lock), so that its retry counts the same pings again.
      const before = new Map<string, Run | undefined>()
      const touch = (id: string): void => {
        if (!before.has(id)) before.set(id, runs.has(id) ? { ...runs.get(id)! } : undefined)
      }
      for (const p of known) {
        const grid = gridOfWorker.get(p.workerId)!
        const inside = city.inGrid(grid, p.lng, p.lat)
        const run = runs.get(p.workerId)
        if (run && p.at < run.last) continue // late ping inside a run already counted
        touch(p.workerId)
        if (run && inside && p.at - run.last < MAX_GAP_MS) {
          run.last = p.at
          run.pings++
          note(p.workerId, run)
          continue
        }
        if (inside) runs.set(p.workerId, { start: p.at, last: p.at, pings: 1 })
        else runs.delete(p.workerId)
      }
      const list = [...rounds.values()]
      const restore = (): void => {
        for (const [id, run] of before) {
          if (run) runs.set(id, run)
          else runs.delete(id)
        }
      }
      try {
        await store.batch(async () => {
          // Inside a caller's batch (a simulator slice), undone when that batch rolls back.
          store.afterRollback(restore)
          if (known.length) await store.insertPositions(known, clock.now() - retentionMs)
          if (list.length) await store.insertRounds(list)
          announce(known, list)
        })
      } catch (err) {
        restore() // this batch never began, or rolled back
        throw err
      }
      return { accepted: known.length, unknownWorkers: [...unknown] }
    },
    async sweep() {
      const now = clock.now()
      let ended = 0
      for (const [workerId, run] of runs) {
        if (now - run.last >= MAX_GAP_MS) {
          if (asRound(workerId, run)) ended++
          runs.delete(workerId)
        }
      }
      return ended
    },
    prune: () => store.prunePositions(clock.now() - retentionMs),
    onIngest(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}
