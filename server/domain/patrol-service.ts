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
  /** Close runs whose worker has been silent ≥ 5 min; store the rounds among them. */
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

  const finish = (workerId: string, run: Run, out: PatrolRound[]): void => {
    if (run.last - run.start >= MIN_ROUND_MS) {
      out.push({
        workerId,
        gridCode: gridOfWorker.get(workerId)!,
        startedAt: run.start,
        endedAt: run.last,
        pings: run.pings,
      })
    }
  }

  return {
    async ingest(positions) {
      const unknown = new Set<string>()
      const known: Position[] = []
      for (const p of positions) {
        if (gridOfWorker.has(p.workerId)) known.push(p)
        else unknown.add(p.workerId)
      }
      known.sort((a, b) => a.at - b.at)
      const rounds: PatrolRound[] = []
      for (const p of known) {
        const grid = gridOfWorker.get(p.workerId)!
        const inside = city.inGrid(grid, p.lng, p.lat)
        const run = runs.get(p.workerId)
        if (run && p.at < run.last) continue // late ping inside a run already counted
        if (run && inside && p.at - run.last < MAX_GAP_MS) {
          run.last = p.at
          run.pings++
          continue
        }
        if (run) finish(p.workerId, run, rounds)
        if (inside) runs.set(p.workerId, { start: p.at, last: p.at, pings: 1 })
        else runs.delete(p.workerId)
      }
      await store.batch(async () => {
        if (known.length) await store.insertPositions(known, clock.now() - retentionMs)
        if (rounds.length) await store.insertRounds(rounds)
        announce(known, rounds)
      })
      return { accepted: known.length, unknownWorkers: [...unknown] }
    },
    async sweep() {
      const now = clock.now()
      const rounds: PatrolRound[] = []
      for (const [workerId, run] of runs) {
        if (now - run.last >= MAX_GAP_MS) {
          finish(workerId, run, rounds)
          runs.delete(workerId)
        }
      }
      if (rounds.length) {
        await store.insertRounds(rounds)
        announce([], rounds)
      }
      return rounds.length
    },
    prune: () => store.prunePositions(clock.now() - retentionMs),
    onIngest(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}
