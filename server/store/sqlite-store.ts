/**
 * SQLite implementation of the store (better-sqlite3 12, WAL, synchronous=FULL: a write returns
 * only after its transaction is durable).
 */
import Database from 'better-sqlite3'
import { AsyncLocalStorage } from 'node:async_hooks'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Change, GridEvent, PatrolRound, Position, Worker } from '../../shared/types.ts'
import { applyChange, initialState, type ReportPayload } from '../../shared/lifecycle.ts'
import {
  IdempotencyConflict,
  type ActivitySnapshot,
  type CommitListener,
  type Decision,
  type EventQuery,
  type KpiSnapshot,
  type MutateResult,
  type Store,
} from './store.ts'
import { SQLITE_MIGRATIONS } from './sqlite-migrations.ts'
import { changeFromRow, eventFromRow, eventToRow, type ChangeRow, type EventRow } from './rows.ts'

/** A patrol run counts as a round once it has lasted this long (DESIGN.md §2). */
const MIN_ROUND_MS = 15 * 60_000

const countByGrid = (rows: { g: string }[]): Map<string, number> => {
  const m = new Map<string, number>()
  for (const r of rows) m.set(r.g, (m.get(r.g) ?? 0) + 1)
  return m
}

const EVENT_COLUMNS = [
  'id',
  'seq',
  'status',
  'category',
  'description',
  'lat',
  'lng',
  'grid_code',
  'source',
  'reporter',
  'reported_at',
  'updated_at',
  'first_dispatched_at',
  'dispatched_at',
  'deadline',
  'handled_at',
  'closed_at',
  'cancelled_at',
  'department',
  'rework_count',
  'extension_count',
  'return_count',
  'satisfaction',
  'evaluated_at',
] as const

/** Open (creating if needed) the SQLite store at `file` (":memory:" for tests). */
export function createSqliteStore(file: string): Store {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.pragma('busy_timeout = 5000')
  db.pragma('foreign_keys = ON')
  // A batch holds one write transaction across awaits. Calls made inside it (tracked by
  // AsyncLocalStorage) join it; any other caller waits until it commits, so nothing is
  // acknowledged before it is durable and nobody reads uncommitted rows.
  const batchScope = new AsyncLocalStorage<object>()
  let openToken: object | null = null
  const inOpenBatch = (): boolean => openToken !== null && batchScope.getStore() === openToken
  let openBatch: Promise<unknown> | null = null
  // Changes written by the open transaction, announced to listeners right after COMMIT.
  let uncommitted: Parameters<CommitListener>[] = []
  let deferred: (() => void)[] = []
  const listeners = new Set<CommitListener>()
  const announce = (): void => {
    const done = uncommitted
    const fns = deferred
    uncommitted = []
    deferred = []
    for (const args of done) for (const l of listeners) l(...args)
    for (const fn of fns) fn()
  }

  /** Run `fn` in its own transaction, or inside the caller's batch. */
  const run = async <T>(fn: () => T): Promise<T> => {
    if (inOpenBatch()) return fn()
    while (openBatch) await openBatch.catch(() => undefined)
    try {
      const result = db.transaction(fn).immediate()
      announce()
      return result
    } finally {
      uncommitted = []
    }
  }

  const prepared = new Map<string, Database.Statement>()
  const st = (sql: string): Database.Statement => {
    let s = prepared.get(sql)
    if (!s) prepared.set(sql, (s = db.prepare(sql)))
    return s
  }

  const insertEvent = (e: GridEvent): void => {
    st(
      `INSERT INTO events (${EVENT_COLUMNS.join(',')}) VALUES (${EVENT_COLUMNS.map((c) => '@' + c).join(',')})`,
    ).run(eventToRow(e))
  }
  const updateEvent = (e: GridEvent): void => {
    st(
      `UPDATE events SET ${EVENT_COLUMNS.filter((c) => c !== 'id')
        .map((c) => `${c} = @${c}`)
        .join(',')} WHERE id = @id`,
    ).run(eventToRow(e))
  }
  const lastSeq = (): number =>
    (st('SELECT COALESCE(MAX(seq), 0) AS s FROM changes').get() as { s: number }).s
  const appendChange = (c: Change, payload?: ReportPayload): void => {
    st(
      'INSERT INTO changes (seq, at, event_id, grid_code, action, status, data, payload) VALUES (?,?,?,?,?,?,?,?)',
    ).run(
      c.seq,
      c.at,
      c.eventId,
      c.gridCode,
      c.action,
      c.status,
      c.data ? JSON.stringify(c.data) : null,
      payload ? JSON.stringify(payload) : null,
    )
  }
  const getEvent = (id: string): GridEvent | null => {
    const row = st('SELECT * FROM events WHERE id = ?').get(id) as EventRow | undefined
    return row ? eventFromRow(row) : null
  }
  const nextEventId = (): string => {
    const n = (st('SELECT COALESCE(MAX(rowid), 0) AS n FROM events').get() as { n: number }).n + 1
    return 'E' + String(n).padStart(8, '0')
  }

  /** The region's events any KPI of [from, to) can count, as they stand now (see `Store.kpiSnapshot`). */
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

  const snapshotNow = (
    region: string,
    from: number,
    to: number,
    day: { start: number; end: number },
    onlineSince: number,
  ): KpiSnapshot => {
    const lo = region
    const hi = region + ':'
    const roundRows = st(
      `SELECT grid_code AS g, worker_id AS w, started_at AS s FROM patrol_rounds
       WHERE grid_code >= ? AND grid_code < ? AND ended_at >= ? AND ended_at < ?`,
    ).all(lo, hi, day.start, day.end) as { g: string; w: string; s: number }[]
    const online = st(
      `SELECT grid_code AS g, COUNT(*) AS n FROM workers
       WHERE grid_code >= ? AND grid_code < ? AND last_ping_at >= ? GROUP BY grid_code`,
    ).all(lo, hi, onlineSince) as { g: string; n: number }[]
    return {
      seq: lastSeq(),
      events: relevantEvents(lo, hi, from, to),
      roundsByGrid: countByGrid(roundRows),
      roundKeys: roundRows.map((r) => `${r.w}|${r.s}`),
      onlineByGrid: new Map(online.map((r) => [r.g, r.n])),
      positions: (
        st(
          `SELECT id, last_lat AS lat, last_lng AS lng, last_ping_at AS at FROM workers
           WHERE grid_code >= ? AND grid_code < ? AND last_ping_at >= ? ORDER BY id`,
        ).all(lo, hi, onlineSince) as { id: string; lat: number; lng: number; at: number }[]
      ).map((r) => ({ workerId: r.id, lat: r.lat, lng: r.lng, at: r.at })),
    }
  }

  /**
   * The snapshot as the log stood at `at`. An event untouched since `at` is read as it is; one
   * changed later is folded again from its changes at or before `at` (a change's `at` never goes
   * back within one event, so these are a prefix of its log).
   */
  const snapshotAt = (
    region: string,
    from: number,
    to: number,
    day: { start: number; end: number },
    onlineSince: number,
    at: number,
  ): KpiSnapshot => {
    const lo = region
    const hi = region + ':'
    const events = relevantEvents(lo, hi, from, to, 'AND updated_at <= ?', at)
    const rows = st(
      `SELECT c.* FROM changes c JOIN events e ON e.id = c.event_id
       WHERE e.updated_at > ? AND e.reported_at <= ? AND e.grid_code >= ? AND e.grid_code < ? AND c.at <= ?
       ORDER BY c.event_id, c.seq`,
    ).all(at, at, lo, hi, at) as (ChangeRow & { payload: string | null })[]
    // Folded events are kept whether or not a KPI of [from, to) counts them: each KPI tests its own
    // period, so an extra event counts nowhere (and these are few: the ones changed since `at`).
    let state: GridEvent | null = null
    for (const row of rows) {
      const change = changeFromRow(row)
      if (change.action === 'report') {
        if (state) events.push(state)
        state = initialState(change, JSON.parse(row.payload!) as ReportPayload, change.eventId)
      } else if (state) state = applyChange(state, change)
    }
    if (state) events.push(state)
    // A round counts once it has lasted 15 minutes, on the day of its end. One still going on at
    // `at` counts on `day` (which holds `at`) if, by `at`, its pings already spanned 15 minutes.
    const roundRows = st(
      `SELECT r.grid_code AS g, r.worker_id AS w, r.started_at AS s FROM patrol_rounds r
       WHERE r.grid_code >= ? AND r.grid_code < ? AND r.ended_at >= ? AND (r.ended_at <= ? OR
         EXISTS (SELECT 1 FROM positions p WHERE p.worker_id = r.worker_id
                   AND p.at >= r.started_at + ? AND p.at <= ?))`,
    ).all(lo, hi, day.start, at, MIN_ROUND_MS, at) as { g: string; w: string; s: number }[]
    // Each worker's last raw ping in [onlineSince, at] (raw pings are kept for the retention only).
    const pings = st(
      `SELECT p.worker_id AS id, w.grid_code AS g, p.lat AS lat, p.lng AS lng, MAX(p.at) AS at
       FROM positions p JOIN workers w ON w.id = p.worker_id
       WHERE p.at >= ? AND p.at <= ? AND w.grid_code >= ? AND w.grid_code < ?
       GROUP BY p.worker_id ORDER BY p.worker_id`,
    ).all(onlineSince, at, lo, hi) as { id: string; g: string; lat: number; lng: number; at: number }[]
    return {
      seq: lastSeq(),
      events,
      roundsByGrid: countByGrid(roundRows),
      roundKeys: roundRows.map((r) => `${r.w}|${r.s}`),
      onlineByGrid: countByGrid(pings),
      positions: pings.map((r) => ({ workerId: r.id, lat: r.lat, lng: r.lng, at: r.at })),
    }
  }

  const store: Store = {
    kind: 'sqlite',
    async migrate() {
      db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)')
      const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined
      const current = row?.version ?? 0
      db.transaction(() => {
        for (let v = current; v < SQLITE_MIGRATIONS.length; v++) db.exec(SQLITE_MIGRATIONS[v]!)
        db.prepare('DELETE FROM schema_version').run()
        db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(SQLITE_MIGRATIONS.length)
      }).immediate()
      return SQLITE_MIGRATIONS.length
    },
    async close() {
      if (db.open) db.close()
    },
    async batch(fn) {
      if (inOpenBatch()) return fn()
      while (openBatch) await openBatch.catch(() => undefined)
      const token = {}
      const work = (async () => {
        db.exec('BEGIN IMMEDIATE')
        openToken = token
        try {
          const result = await batchScope.run(token, fn)
          db.exec('COMMIT')
          announce()
          return result
        } catch (err) {
          uncommitted = []
          deferred = []
          if (db.inTransaction) db.exec('ROLLBACK')
          throw err
        }
      })()
      openBatch = work
      try {
        return await work
      } finally {
        openBatch = null
        openToken = null
      }
    },

    afterCommit(fn) {
      if (inOpenBatch()) deferred.push(fn)
      else fn()
    },
    onCommitted(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },

    async createEvent(payload: ReportPayload, at: number, idempotencyKey?: string) {
      return run(() => {
        const fingerprint = JSON.stringify(payload)
        if (idempotencyKey) {
          const hit = st('SELECT event_id, fingerprint FROM idempotency WHERE key = ?').get(
            idempotencyKey,
          ) as { event_id: string; fingerprint: string | null } | undefined
          if (hit) {
            if (hit.fingerprint !== null && hit.fingerprint !== fingerprint)
              throw new IdempotencyConflict(idempotencyKey)
            const event = getEvent(hit.event_id)!
            const first = st('SELECT * FROM changes WHERE event_id = ? ORDER BY seq LIMIT 1').get(
              hit.event_id,
            ) as ChangeRow
            return { event, change: changeFromRow(first), created: false }
          }
        }
        const id = nextEventId()
        const change: Change = {
          seq: lastSeq() + 1,
          at,
          eventId: id,
          gridCode: payload.gridCode,
          action: 'report',
          status: 'reported',
        }
        const event = initialState(change, payload, id)
        insertEvent(event)
        appendChange(change, payload)
        if (idempotencyKey)
          st('INSERT INTO idempotency (key, event_id, fingerprint) VALUES (?, ?, ?)').run(
            idempotencyKey,
            id,
            fingerprint,
          )
        uncommitted.push([change, event, null])
        return { event, change, created: true }
      })
    },

    async mutateEvent<R>(
      id: string,
      requestedAt: number,
      decide: (current: GridEvent, at: number) => Decision<R>,
    ) {
      return run((): MutateResult<R> => {
        const current = getEvent(id)
        if (!current) return { ok: false, notFound: true }
        // A step is never dated before the event's previous change (a source's clock may run ahead).
        const at = Math.max(requestedAt, current.updatedAt)
        const d = decide(current, at)
        if (!d.ok) return { ok: false, refusal: d.refusal }
        const change: Change = {
          seq: lastSeq() + 1,
          at,
          eventId: id,
          gridCode: current.gridCode,
          action: d.action,
          status: d.status,
          ...(d.data && Object.keys(d.data).length > 0 ? { data: d.data } : {}),
        }
        const event = applyChange(current, change)
        updateEvent(event)
        appendChange(change)
        uncommitted.push([change, event, current])
        return { ok: true, event, previous: current, change }
      })
    },
    async getEvent(id) {
      return run(() => getEvent(id))
    },
    async eventsByIds(ids) {
      return run(() => {
        const out = new Map<string, GridEvent>()
        const unique = [...new Set(ids)]
        for (let i = 0; i < unique.length; i += 500) {
          const part = unique.slice(i, i + 500)
          const rows = db
            .prepare(`SELECT * FROM events WHERE id IN (${part.map(() => '?').join(',')})`)
            .all(...part) as EventRow[]
          for (const r of rows) out.set(r.id, eventFromRow(r))
        }
        return out
      })
    },
    async reportPayload(id) {
      return run(() => {
        const row = st(`SELECT payload FROM changes WHERE event_id = ? AND action = 'report'`).get(id) as
          { payload: string | null } | undefined
        return row?.payload ? (JSON.parse(row.payload) as ReportPayload) : null
      })
    },
    async timeline(id) {
      return run(() => {
        return (st('SELECT * FROM changes WHERE event_id = ? ORDER BY seq').all(id) as ChangeRow[]).map(
          changeFromRow,
        )
      })
    },
    async listEvents(q: EventQuery) {
      return run(() => {
        const where: string[] = []
        const args: unknown[] = []
        if (q.region) {
          where.push('grid_code >= ? AND grid_code < ?')
          args.push(q.region, q.region + ':')
        }
        if (q.statuses?.length) {
          where.push(`status IN (${q.statuses.map(() => '?').join(',')})`)
          args.push(...q.statuses)
        }
        if (q.categories?.length) {
          where.push(`category IN (${q.categories.map(() => '?').join(',')})`)
          args.push(...q.categories)
        }
        if (q.from !== undefined) {
          where.push('reported_at >= ?')
          args.push(q.from)
        }
        if (q.to !== undefined) {
          where.push('reported_at < ?')
          args.push(q.to)
        }
        if (q.before) {
          where.push('(reported_at < ? OR (reported_at = ? AND id < ?))')
          args.push(q.before.reportedAt, q.before.reportedAt, q.before.id)
        }
        const sql = `SELECT * FROM events ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
        ORDER BY reported_at DESC, id DESC LIMIT ?`
        return (db.prepare(sql).all(...args, q.limit) as EventRow[]).map(eventFromRow)
      })
    },
    async openEvents(closedSince) {
      return run(() => {
        return (
          st(
            `SELECT * FROM events WHERE status NOT IN ('closed','cancelled')
             OR (status = 'closed' AND evaluated_at IS NULL AND closed_at >= ?) ORDER BY id`,
          ).all(closedSince) as EventRow[]
        ).map(eventFromRow)
      })
    },
    async listChanges(after, limit) {
      return run(() => {
        return (
          st('SELECT * FROM changes WHERE seq > ? ORDER BY seq LIMIT ?').all(after, limit) as ChangeRow[]
        ).map(changeFromRow)
      })
    },
    async lastSeq() {
      return run(lastSeq)
    },
    async countEvents() {
      return run(() => {
        return (st('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n
      })
    },
    async kpiSnapshot(region, from, to, day, onlineSince, at?): Promise<KpiSnapshot> {
      // One read transaction: the events, rounds and seq are mutually consistent.
      return run((): KpiSnapshot =>
        (at === undefined ? snapshotNow : snapshotAt)(region, from, to, day, onlineSince, at!),
      )
    },

    async reportCountsSince(since) {
      return run(() => {
        const rows = st(
          'SELECT grid_code AS g, COUNT(*) AS n FROM events WHERE reported_at >= ? GROUP BY grid_code',
        ).all(since) as { g: string; n: number }[]
        return new Map(rows.map((r) => [r.g, r.n]))
      })
    },
    async upsertWorkers(workers: Worker[]) {
      return run(() => {
        const s = st(
          `INSERT INTO workers (id, name, phone, grid_code) VALUES (?,?,?,?)
           ON CONFLICT(id) DO UPDATE SET name = excluded.name, phone = excluded.phone, grid_code = excluded.grid_code`,
        )
        for (const w of workers) s.run(w.id, w.name, w.phone, w.gridCode)
      })
    },
    async insertPositions(positions: Position[], keepRawAfter: number) {
      return run(() => {
        const ins = st('INSERT INTO positions (worker_id, at, lat, lng) VALUES (?,?,?,?)')
        const bump = st(
          `UPDATE workers SET last_ping_at = ?, last_lat = ?, last_lng = ?
           WHERE id = ? AND (last_ping_at IS NULL OR last_ping_at <= ?)`,
        )
        const latest = new Map<string, Position>()
        for (const p of positions) {
          if (p.at >= keepRawAfter) ins.run(p.workerId, p.at, p.lat, p.lng)
          const seen = latest.get(p.workerId)
          if (!seen || p.at >= seen.at) latest.set(p.workerId, p)
        }
        for (const p of latest.values()) bump.run(p.at, p.lat, p.lng, p.workerId, p.at)
      })
    },
    async insertRounds(rounds: PatrolRound[]) {
      return run(() => {
        const s = st(
          `INSERT OR REPLACE INTO patrol_rounds (worker_id, grid_code, started_at, ended_at, pings) VALUES (?,?,?,?,?)`,
        )
        for (const r of rounds) s.run(r.workerId, r.gridCode, r.startedAt, r.endedAt, r.pings)
      })
    },
    async prunePositions(before) {
      return run(() => st('DELETE FROM positions WHERE at < ?').run(before).changes)
    },

    async revokeToken(jti, expiresAt) {
      await run(() => {
        st('INSERT OR IGNORE INTO revoked_tokens (jti, expires_at) VALUES (?, ?)').run(jti, expiresAt)
      })
    },
    async revokedTokens(now) {
      return run(() =>
        (st('SELECT jti FROM revoked_tokens WHERE expires_at > ?').all(now) as { jti: string }[]).map(
          (r) => r.jti,
        ),
      )
    },
    async getMeta(key) {
      return run(() => {
        const row = st('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined
        return row?.value ?? null
      })
    },
    async setMeta(key, value) {
      await run(() => {
        st(
          'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
        ).run(key, value)
      })
    },

    async activitySnapshot(region, day, window): Promise<ActivitySnapshot> {
      // One read transaction, so the counts and the seq agree. Each query is a range scan of a
      // time index that also holds grid_code (INDEXED BY: a region prefix on grid_code would match
      // every event of a district, the time range is what is selective).
      return run((): ActivitySnapshot => {
        const lo = region
        const hi = region + ':'
        const times = (column: 'reported_at' | 'handled_at' | 'closed_at', index: string): number[] =>
          (
            st(
              `SELECT ${column} AS t FROM events INDEXED BY ${index}
               WHERE ${column} >= ? AND ${column} < ? AND grid_code >= ? AND grid_code < ?`,
            ).all(window.start, window.end, lo, hi) as { t: number }[]
          ).map((r) => Number(r.t))
        const today = st(
          `SELECT category, COUNT(*) AS n FROM events INDEXED BY events_reported_grid_category
           WHERE reported_at >= ? AND reported_at < ? AND grid_code >= ? AND grid_code < ?
           GROUP BY category`,
        ).all(day.start, day.end, lo, hi) as { category: string; n: number }[]
        return {
          seq: lastSeq(),
          reportedToday: today.map((r) => ({ category: r.category, count: r.n })),
          reportedAt: times('reported_at', 'events_reported_grid_category'),
          handledAt: times('handled_at', 'events_handled_grid'),
          closedAt: times('closed_at', 'events_closed_grid'),
        }
      })
    },
  }
  return store
}
