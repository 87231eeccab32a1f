/**
 * `Store.kpiSnapshot` over a second, read-only connection to the same SQLite file, for the KPI
 * worker thread (`server/domain/kpi-worker.ts`): the heavy KPI reads run there and never hold the
 * main thread's event loop. A deferred read transaction sees one committed state (WAL), so the
 * events, rounds and seq agree, and it takes no lock a writer waits for.
 *
 * The store (`sqlite-store.ts`) builds its own snapshots with the same `kpiSnapshotOf(db)`, so the
 * queries exist once.
 */
import Database from 'better-sqlite3'
import { applyChange, initialState, type ReportPayload } from '../../shared/lifecycle.ts'
import { DEFAULT_ROUND_OPTIONS } from '../../shared/patrol.ts'
import type { GridEvent } from '../../shared/types.ts'
import { changeFromRow, eventFromRow, type ChangeRow, type EventRow } from './rows.ts'
import type { KpiSnapshot, SnapshotRound, Store } from './store.ts'

/** A patrol run counts as a round once it has lasted this long (DESIGN.md §2, shared/patrol.ts). */
const MIN_ROUND_MS = DEFAULT_ROUND_OPTIONS.minMinutes * 60_000

type RoundRow = { g: string; w: string; s: number; e: number }
const roundsByGrid = (rows: RoundRow[]): Map<string, SnapshotRound[]> => {
  const m = new Map<string, SnapshotRound[]>()
  for (const r of rows) {
    const round = { workerId: r.w, startedAt: r.s, endedAt: r.e }
    const list = m.get(r.g)
    if (list) list.push(round)
    else m.set(r.g, [round])
  }
  return m
}

const countByGrid = (rows: { g: string }[]): Map<string, number> => {
  const m = new Map<string, number>()
  for (const r of rows) m.set(r.g, (m.get(r.g) ?? 0) + 1)
  return m
}

type Day = { start: number; end: number }

/** The KPI snapshot reads of `db` (synchronous; call them inside one read transaction). */
export function kpiSnapshotOf(db: Database.Database) {
  const prepared = new Map<string, Database.Statement>()
  const st = (sql: string): Database.Statement => {
    let s = prepared.get(sql)
    if (!s) prepared.set(sql, (s = db.prepare(sql)))
    return s
  }
  const lastSeq = (): number =>
    (st('SELECT COALESCE(MAX(seq), 0) AS s FROM changes').get() as { s: number }).s
  /**
   * The last change made at or before `at` (0 when none): the seq an as-of answer stands at. Walks
   * the log back from its end, which stops soon for the recent instants asked about.
   */
  const seqAt = (at: number): number =>
    (
      st('SELECT seq FROM changes WHERE at <= ? ORDER BY seq DESC LIMIT 1').get(at) as
        { seq: number } | undefined
    )?.seq ?? 0
  const relevantEvents = (lo: string, hi: string, from: number, to: number, extra = '', ...args: number[]) =>
    (
      st(
        `SELECT * FROM events WHERE grid_code >= ? AND grid_code < ? ${extra} AND (
           (reported_at >= ? AND reported_at < ?) OR
           (first_dispatched_at >= ? AND first_dispatched_at < ?) OR
           (evaluated_at >= ? AND evaluated_at < ?) OR
           status NOT IN ('closed', 'cancelled'))`,
      ).all(lo, hi, ...args, from, to, from, to, from, to) as EventRow[]
    ).map(eventFromRow)

  const now = (region: string, from: number, to: number, day: Day, onlineSince: number): KpiSnapshot => {
    const [lo, hi] = [region, region + ':']
    // The day's rounds are those started on it (ended_at >= started_at keeps the index's range).
    const roundRows = st(
      `SELECT grid_code AS g, worker_id AS w, started_at AS s, ended_at AS e FROM patrol_rounds
       WHERE grid_code >= ? AND grid_code < ? AND ended_at >= ? AND started_at >= ? AND started_at < ?`,
    ).all(lo, hi, day.start, day.start, day.end) as RoundRow[]
    const online = st(
      `SELECT grid_code AS g, COUNT(*) AS n FROM workers
       WHERE grid_code >= ? AND grid_code < ? AND last_ping_at >= ? GROUP BY grid_code`,
    ).all(lo, hi, onlineSince) as { g: string; n: number }[]
    const positions = st(
      `SELECT id, last_lat AS lat, last_lng AS lng, last_ping_at AS at FROM workers
       WHERE grid_code >= ? AND grid_code < ? AND last_ping_at >= ? ORDER BY id`,
    ).all(lo, hi, onlineSince) as { id: string; lat: number; lng: number; at: number }[]
    return {
      seq: lastSeq(),
      events: relevantEvents(lo, hi, from, to),
      roundsByGrid: roundsByGrid(roundRows),
      onlineByGrid: new Map(online.map((r) => [r.g, r.n])),
      positions: positions.map((r) => ({ workerId: r.id, lat: r.lat, lng: r.lng, at: r.at })),
    }
  }

  /** Events changed since `at` folded again from their changes at or before it (see `Store.kpiSnapshot`). */
  const foldedAt = (lo: string, hi: string, at: number, events: GridEvent[]): void => {
    const rows = st(
      `SELECT c.* FROM changes c JOIN events e ON e.id = c.event_id
       WHERE e.updated_at > ? AND e.reported_at <= ? AND e.grid_code >= ? AND e.grid_code < ? AND c.at <= ?
       ORDER BY c.event_id, c.seq`,
    ).all(at, at, lo, hi, at) as (ChangeRow & { payload: string | null })[]
    let state: GridEvent | null = null
    for (const row of rows) {
      const change = changeFromRow(row)
      if (change.action === 'report') {
        if (state) events.push(state)
        state = initialState(change, JSON.parse(row.payload!) as ReportPayload, change.eventId)
      } else if (state) state = applyChange(state, change)
    }
    if (state) events.push(state)
  }

  const asOf = (region: string, from: number, to: number, day: Day, onlineSince: number, at: number) => {
    const [lo, hi] = [region, region + ':']
    const events = relevantEvents(lo, hi, from, to, 'AND updated_at <= ?', at)
    foldedAt(lo, hi, at, events)
    // Rounds as they stood at `at`: ended by then, or going on with a ping ≥ 15 min after their
    // start by then; their extent up to `at` (its last ping by then decides no overlap differently:
    // any other round counted by then started ≥ 15 min before `at`).
    const roundRows = st(
      `SELECT r.grid_code AS g, r.worker_id AS w, r.started_at AS s, MIN(r.ended_at, ?) AS e FROM patrol_rounds r
       WHERE r.grid_code >= ? AND r.grid_code < ? AND r.ended_at >= ? AND r.started_at >= ? AND r.started_at < ?
         AND (r.ended_at <= ? OR EXISTS (SELECT 1 FROM positions p WHERE p.worker_id = r.worker_id
                   AND p.at >= r.started_at + ? AND p.at <= ?))`,
    ).all(at, lo, hi, day.start, day.start, day.end, at, MIN_ROUND_MS, at) as RoundRow[]
    const pings = st(
      `SELECT p.worker_id AS id, w.grid_code AS g, p.lat AS lat, p.lng AS lng, MAX(p.at) AS at
       FROM positions p JOIN workers w ON w.id = p.worker_id
       WHERE p.at >= ? AND p.at <= ? AND w.grid_code >= ? AND w.grid_code < ?
       GROUP BY p.worker_id ORDER BY p.worker_id`,
    ).all(onlineSince, at, lo, hi) as { id: string; g: string; lat: number; lng: number; at: number }[]
    const snap: KpiSnapshot = {
      seq: seqAt(at),
      events,
      roundsByGrid: roundsByGrid(roundRows),
      onlineByGrid: countByGrid(pings),
      positions: pings.map((r) => ({ workerId: r.id, lat: r.lat, lng: r.lng, at: r.at })),
    }
    return snap
  }

  return (region: string, from: number, to: number, day: Day, onlineSince: number, at?: number) =>
    at === undefined ? now(region, from, to, day, onlineSince) : asOf(region, from, to, day, onlineSince, at)
}

/** A read-only connection to the store at `file` answering `kpiSnapshot`; `close()` ends it. */
export function openKpiSnapshotReader(file: string): Pick<Store, 'kpiSnapshot'> & { close(): void } {
  const db = new Database(file, { readonly: true, fileMustExist: true })
  db.pragma('busy_timeout = 5000')
  const read = kpiSnapshotOf(db)
  return {
    async kpiSnapshot(region, from, to, day, onlineSince, at) {
      // Deferred: a read lock on one WAL snapshot, never the write lock.
      return db.transaction(() => read(region, from, to, day, onlineSince, at))()
    },
    close: () => db.close(),
  }
}
