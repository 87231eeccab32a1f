/**
 * Patrol positions: raw pings are kept for `retentionDays`; rounds are detected as pings arrive by
 * `stepRound` (shared/patrol.ts), the one detector, judged by the pings' own times. Each worker's
 * open run lives in the store and is read and written in the same transaction as the pings that move
 * it, so a restart mid-walk, a rolled-back batch or a phone delivering its pings late counts the walk
 * exactly once, as one round. A round is stored as soon as it lasts 15 min and updated as it grows.
 */
import { MAX_PING_AHEAD_MS, isFuturePing, stepRound } from '../../shared/patrol.ts'
import type { Clock, PatrolRound, Position } from '../../shared/types.ts'
import type { CityIndex } from '../city/city-index.ts'
import type { Store, StoredRun } from '../store/store.ts'

/** A ping of a batch that was not taken, with why. */
export interface PingRefusal {
  /** Its index in the batch given to `ingest`. */
  index: number
  workerId: string
  /** `future`: dated more than MAX_PING_AHEAD_MS ahead of the server clock. */
  code: 'future'
  message: { zh: string; en: string }
}

export interface IngestResult {
  accepted: number
  /** Ids of unknown workers (their pings are not stored). */
  unknownWorkers: string[]
  /** Pings of known workers refused one by one. */
  refused: PingRefusal[]
}

export interface IngestOptions {
  /**
   * Share a commit with the other callers of the moment (group commit): for independent requests,
   * such as one HTTP request per ping, never inside a caller's own `store.batch` (that one
   * commits the pings with the rest of its work). The answer still comes only once this call's
   * pings have committed; if that transaction fails, every call in it fails and none is stored.
   */
  group?: boolean
}

export interface PatrolService {
  /** Store pings and move their workers' runs; unknown workers' and future pings are not stored. */
  ingest(positions: Position[], opts?: IngestOptions): Promise<IngestResult>
  /**
   * Housekeeping: forget open runs whose last ping is older than the retention. A run ends by ping
   * time only (a later ping ≥ 5 min after, or outside the grid), never by this sweep, so a late
   * delivery still extends its walk; returns how many runs were forgotten.
   */
  sweep(): Promise<number>
  /** Delete raw pings past retention. */
  prune(): Promise<number>
  /** Hear committed pings and the rounds they made or extended (the live positions and patrol figures). */
  onIngest(listener: IngestListener): () => void
}

export type IngestListener = (positions: Position[], rounds: PatrolRound[]) => void

const aheadMinutes = MAX_PING_AHEAD_MS / 60_000
const futureMessage = {
  zh: `定位时间超前服务器时钟 ${aheadMinutes} 分钟以上，已拒收`,
  en: `the ping is dated more than ${aheadMinutes} minutes ahead of the server clock and was refused`,
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
  const listeners = new Set<IngestListener>()
  const announce = (positions: Position[], rounds: PatrolRound[]): void =>
    store.afterCommit(() => {
      for (const l of listeners) l(positions, rounds)
    })

  /** Step each worker's run through its pings (sorted by time); the runs to save and the rounds. */
  const detect = (known: Position[], runs: Map<string, StoredRun>) => {
    const moved = new Set<string>()
    // One upsert per round per call, with its latest end.
    const rounds = new Map<string, PatrolRound>()
    for (const p of known) {
      const gridCode = gridOfWorker.get(p.workerId)!
      const stored = runs.get(p.workerId)
      // A worker moved to another grid starts afresh there.
      const run = stored && stored.gridCode === gridCode ? stored : null
      const s = stepRound(run, { ...p, inside: city.inGrid(gridCode, p.lng, p.lat) })
      if (s.run === run && run === (stored ?? null)) continue
      moved.add(p.workerId)
      if (s.run) runs.set(p.workerId, { workerId: p.workerId, gridCode, ...s.run })
      else runs.delete(p.workerId)
      if (s.round)
        rounds.set(`${p.workerId}|${s.round.startedAt}`, { workerId: p.workerId, gridCode, ...s.round })
    }
    const upserts: StoredRun[] = []
    const deletes: string[] = []
    for (const id of moved) {
      const r = runs.get(id)
      if (r) upserts.push(r)
      else deletes.push(id)
    }
    return { upserts, deletes, rounds: [...rounds.values()] }
  }

  /** Store pings known and in time (sorted by time) and move their workers' runs, in one batch. */
  const write = (known: Position[]): Promise<void> =>
    // Inside a caller's batch (a simulator slice), the runs read are that batch's, and what
    // these pings did is undone with it if it rolls back.
    store.batch(async () => {
      const runs = await store.openRuns([...new Set(known.map((p) => p.workerId))])
      const { upserts, deletes, rounds } = detect(known, runs)
      await store.insertPositions(known, clock.now() - retentionMs)
      await store.saveRuns(upserts, deletes)
      if (rounds.length) await store.insertRounds(rounds)
      announce(known, rounds)
    })

  // Group commit. A durable commit costs far more than the rows it writes (an fsync on SQLite, a WAL
  // flush and round trips on PostgreSQL), and the workers' app posts each ping on its own, so a
  // commit per request would cap the process at a few hundred pings a second. Calls arriving while
  // a commit is under way queue here; the next transaction takes all of them (up to GROUP_MAX
  // pings), after waiting GROUP_WINDOW_MS for more to come. The callers of one transaction share its fate: all answered after its COMMIT, or all
  // given its error with none of their pings stored.
  const GROUP_MAX = 5_000
  const GROUP_WINDOW_MS = 10
  const queued: { pings: Position[]; done: (err?: unknown) => void }[] = []
  let draining = false
  const drain = async (): Promise<void> => {
    draining = true
    try {
      while (queued.length) {
        // A short window, so that requests of the next few milliseconds join this commit: at 606
        // pings/s about six share each fsync, at 10,000 pings/s about a hundred.
        await new Promise<void>((r) => setTimeout(r, GROUP_WINDOW_MS))
        const group: typeof queued = []
        let n = 0
        while (queued.length && (n === 0 || n + queued[0]!.pings.length <= GROUP_MAX)) {
          const q = queued.shift()!
          n += q.pings.length
          group.push(q)
        }
        try {
          await write(group.flatMap((g) => g.pings).sort((a, b) => a.at - b.at))
          for (const g of group) g.done()
        } catch (err) {
          for (const g of group) g.done(err)
        }
      }
    } finally {
      draining = false
    }
  }
  const writeGrouped = (pings: Position[]): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      queued.push({ pings, done: (err) => (err === undefined ? resolve() : reject(err)) })
      if (!draining) void drain()
    })

  return {
    async ingest(positions, opts = {}) {
      const now = clock.now()
      const unknown = new Set<string>()
      const known: Position[] = []
      const refused: PingRefusal[] = []
      positions.forEach((p, index) => {
        if (!gridOfWorker.has(p.workerId)) unknown.add(p.workerId)
        else if (isFuturePing(p.at, now))
          refused.push({ index, workerId: p.workerId, code: 'future', message: futureMessage })
        else known.push(p)
      })
      if (known.length) {
        if (opts.group) await writeGrouped(known)
        else await write(known.sort((a, b) => a.at - b.at))
      }
      return { accepted: known.length, unknownWorkers: [...unknown], refused }
    },
    sweep: () => store.pruneRuns(clock.now() - retentionMs),
    prune: () => store.prunePositions(clock.now() - retentionMs),
    onIngest(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}
