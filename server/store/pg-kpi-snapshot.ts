/**
 * `Store.kpiSnapshot` for the PostgreSQL store: the same reads as sqlite-kpi-snapshot.ts, in SQL
 * PostgreSQL speaks. The caller runs them on one connection inside one REPEATABLE READ transaction
 * (or the caller's batch), so the events, rounds and seq agree.
 */
import { applyChange, initialState, type ReportPayload } from '../../shared/lifecycle.ts'
import { DEFAULT_ROUND_OPTIONS } from '../../shared/patrol.ts'
import type { GridEvent } from '../../shared/types.ts'
import { changeFromRow, eventFromRow, type ChangeRow, type EventRow } from './rows.ts'
import type { KpiSnapshot, SnapshotRound } from './store.ts'

/** A patrol run counts as a round once it has lasted this long (DESIGN.md §2, shared/patrol.ts). */
const MIN_ROUND_MS = DEFAULT_ROUND_OPTIONS.minMinutes * 60_000

/** Runs one statement on the snapshot's connection and returns its rows. */
export type PgRows = <T>(sql: string, params: unknown[]) => Promise<T[]>

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

/** Placeholders $1, $2, … for the values pushed, in order. */
function params(): { args: unknown[]; p: (v: unknown) => string } {
  const args: unknown[] = []
  return { args, p: (v) => (args.push(v), `$${args.length}`) }
}

const lastSeq = async (rows: PgRows): Promise<number> =>
  (await rows<{ seq: number }>('SELECT seq FROM log_head', []))[0]?.seq ?? 0

/** The last change made at or before `at` (0 when none): the seq an as-of answer stands at. */
const seqAt = async (rows: PgRows, at: number): Promise<number> =>
  (await rows<{ seq: number }>('SELECT seq FROM changes WHERE at <= $1 ORDER BY seq DESC LIMIT 1', [at]))[0]
    ?.seq ?? 0

async function relevantEvents(
  rows: PgRows,
  lo: string,
  hi: string,
  from: number,
  to: number,
  updatedBy?: number,
): Promise<GridEvent[]> {
  const { args, p } = params()
  const sql = `SELECT * FROM events WHERE grid_code >= ${p(lo)} AND grid_code < ${p(hi)}
     ${updatedBy === undefined ? '' : `AND updated_at <= ${p(updatedBy)}`} AND (
       (reported_at >= ${p(from)} AND reported_at < ${p(to)}) OR
       (first_dispatched_at >= ${p(from)} AND first_dispatched_at < ${p(to)}) OR
       (evaluated_at >= ${p(from)} AND evaluated_at < ${p(to)}) OR
       status NOT IN ('closed', 'cancelled'))
     ORDER BY id`
  return (await rows<EventRow>(sql, args)).map(eventFromRow)
}

async function now(
  rows: PgRows,
  region: string,
  from: number,
  to: number,
  day: Day,
  onlineSince: number,
): Promise<KpiSnapshot> {
  const [lo, hi] = [region, region + ':']
  // The day's rounds are those started on it (ended_at >= started_at keeps the index's range).
  const roundRows = await rows<RoundRow>(
    `SELECT grid_code AS g, worker_id AS w, started_at AS s, ended_at AS e FROM patrol_rounds
     WHERE grid_code >= $1 AND grid_code < $2 AND ended_at >= $3 AND started_at >= $3 AND started_at < $4
     ORDER BY grid_code, ended_at, worker_id`,
    [lo, hi, day.start, day.end],
  )
  const online = await rows<{ g: string; n: number }>(
    `SELECT grid_code AS g, COUNT(*) AS n FROM workers
     WHERE grid_code >= $1 AND grid_code < $2 AND last_ping_at >= $3 GROUP BY grid_code`,
    [lo, hi, onlineSince],
  )
  const positions = await rows<{ id: string; lat: number; lng: number; at: number }>(
    `SELECT id, last_lat AS lat, last_lng AS lng, last_ping_at AS at FROM workers
     WHERE grid_code >= $1 AND grid_code < $2 AND last_ping_at >= $3 ORDER BY id`,
    [lo, hi, onlineSince],
  )
  return {
    seq: await lastSeq(rows),
    events: await relevantEvents(rows, lo, hi, from, to),
    roundsByGrid: roundsByGrid(roundRows),
    onlineByGrid: new Map(online.map((r) => [r.g, r.n])),
    positions: positions.map((r) => ({ workerId: r.id, lat: r.lat, lng: r.lng, at: r.at })),
  }
}

/** Events changed since `at` folded again from their changes at or before it (see `Store.kpiSnapshot`). */
async function foldedAt(
  rows: PgRows,
  lo: string,
  hi: string,
  at: number,
  events: GridEvent[],
): Promise<void> {
  const changes = await rows<ChangeRow & { payload: string | null }>(
    `SELECT c.* FROM changes c JOIN events e ON e.id = c.event_id
     WHERE e.updated_at > $1 AND e.reported_at <= $1 AND e.grid_code >= $2 AND e.grid_code < $3 AND c.at <= $1
     ORDER BY c.event_id, c.seq`,
    [at, lo, hi],
  )
  let state: GridEvent | null = null
  for (const row of changes) {
    const change = changeFromRow(row)
    if (change.action === 'report') {
      if (state) events.push(state)
      state = initialState(change, JSON.parse(row.payload!) as ReportPayload, change.eventId)
    } else if (state) state = applyChange(state, change)
  }
  if (state) events.push(state)
}

async function asOf(
  rows: PgRows,
  region: string,
  from: number,
  to: number,
  day: Day,
  onlineSince: number,
  at: number,
): Promise<KpiSnapshot> {
  const [lo, hi] = [region, region + ':']
  const events = await relevantEvents(rows, lo, hi, from, to, at)
  await foldedAt(rows, lo, hi, at, events)
  // Rounds as they stood at `at`: ended by then, or going on with a ping ≥ 15 min after their
  // start by then; their extent up to `at`.
  const roundRows = await rows<RoundRow>(
    `SELECT r.grid_code AS g, r.worker_id AS w, r.started_at AS s, LEAST(r.ended_at, $1) AS e
     FROM patrol_rounds r
     WHERE r.grid_code >= $2 AND r.grid_code < $3 AND r.ended_at >= $4 AND r.started_at >= $4 AND r.started_at < $5
       AND (r.ended_at <= $1 OR EXISTS (SELECT 1 FROM positions p WHERE p.worker_id = r.worker_id
                 AND p.at >= r.started_at + $6 AND p.at <= $1))
     ORDER BY r.grid_code, r.ended_at, r.worker_id`,
    [at, lo, hi, day.start, day.end, MIN_ROUND_MS],
  )
  // Each worker's last raw ping in [onlineSince, at] (SQLite: the bare columns of MAX(at)).
  const pings = await rows<{ id: string; g: string; lat: number; lng: number; at: number }>(
    `SELECT DISTINCT ON (p.worker_id) p.worker_id AS id, w.grid_code AS g, p.lat AS lat, p.lng AS lng, p.at AS at
     FROM positions p JOIN workers w ON w.id = p.worker_id
     WHERE p.at >= $1 AND p.at <= $2 AND w.grid_code >= $3 AND w.grid_code < $4
     ORDER BY p.worker_id, p.at DESC`,
    [onlineSince, at, lo, hi],
  )
  return {
    seq: await seqAt(rows, at),
    events,
    roundsByGrid: roundsByGrid(roundRows),
    onlineByGrid: countByGrid(pings),
    positions: pings.map((r) => ({ workerId: r.id, lat: r.lat, lng: r.lng, at: r.at })),
  }
}

/** The KPI snapshot of a region, read through `rows` (one connection, one snapshot). */
export function pgKpiSnapshot(
  rows: PgRows,
  region: string,
  from: number,
  to: number,
  day: Day,
  onlineSince: number,
  at?: number,
): Promise<KpiSnapshot> {
  return at === undefined
    ? now(rows, region, from, to, day, onlineSince)
    : asOf(rows, region, from, to, day, onlineSince, at)
}
