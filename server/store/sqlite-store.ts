/**
 * SQLite implementation of the store (better-sqlite3 12, WAL, synchronous=FULL: a write returns
 * only after its transaction is durable). The files are the owner's only (0600).
 */
import Database from 'better-sqlite3'
import { AsyncLocalStorage } from 'node:async_hooks'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type { EmbedClaims } from '../../shared/embed.ts'
import type { Actor, Change, GridEvent, PatrolRound, Position, Worker } from '../../shared/types.ts'
import { applyChange, initialState, type ReportPayload } from '../../shared/lifecycle.ts'
import {
  IDEMPOTENCY_TTL_MS,
  IdempotencyConflict,
  StoreUnavailable,
  type ActivitySnapshot,
  type CommitListener,
  type Decision,
  type EventQuery,
  type IssuedTokenState,
  type KpiSnapshot,
  type MutateResult,
  type Store,
  type StoreHealth,
  type StoredRun,
} from './store.ts'
import { SQLITE_MIGRATIONS } from './sqlite-migrations.ts'
import { ownerOnlyFile } from './data-dir.ts'
import { guardStore, isBusy } from './sqlite-faults.ts'
import { kpiSnapshotOf } from './sqlite-kpi-snapshot.ts'
import { changeFromRow, eventFromRow, eventToRow, type ChangeRow, type EventRow } from './rows.ts'

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
  'late_handled',
  'closed_at',
  'cancelled_at',
  'department',
  'rework_count',
  'extension_count',
  'return_count',
  'satisfaction',
  'evaluated_at',
] as const

export interface SqliteStoreOptions {
  /**
   * How long a transaction waits for another connection's write lock before failing with
   * StoreUnavailable (default 5000 ms). The wait is between turns of the event loop: SQLite's own
   * busy handler would sleep inside this synchronous driver and freeze the whole process.
   */
  busyTimeoutMs?: number
  /** Real time, for the idempotency keys' expiry (default Date.now). */
  now?: () => number
  /** Hears each failure of a method (op: its name) and each listener that throws after COMMIT. */
  onError?: (op: string, err: unknown) => void
}

/** SQLite's own busy handler only rides out a moment's contention; longer waits are `whenFree`'s. */
const ENGINE_BUSY_MS = 10

/**
 * The SQLite store, with what only one process on one file can promise: `onCommitted` hears every
 * change synchronously right after its COMMIT (its own tests use it; the system follows the log).
 */
export interface SqliteStore extends Store {
  onCommitted(listener: CommitListener): () => void
}

/** Open (creating if needed) the SQLite store at `file` (":memory:" for tests). */
export function createSqliteStore(file: string, opts: SqliteStoreOptions = {}): SqliteStore {
  const busyTimeoutMs = opts.busyTimeoutMs ?? 5000
  const now = opts.now ?? Date.now
  const onError = opts.onError ?? ((op: string, err: unknown) => console.error(`store: ${op} failed:`, err))
  if (file !== ':memory:') {
    mkdirSync(dirname(file), { recursive: true })
    // SQLite gives the WAL and shm the database file's mode.
    ownerOnlyFile(file)
  }
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.pragma(`busy_timeout = ${ENGINE_BUSY_MS}`)
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
  let undo: (() => void)[] = []
  const listeners = new Set<CommitListener>()
  const appended = new Set<() => void>()
  const report = (op: string, err: unknown): void => {
    try {
      onError(op, err)
    } catch {
      // A failing reporter must not turn a committed write into a failed one.
    }
  }
  // The write is committed: whatever a listener does, the writer gets its success.
  const announce = (): void => {
    const done = uncommitted
    const fns = deferred
    uncommitted = []
    deferred = []
    if (done.length)
      for (const l of appended) {
        try {
          l()
        } catch (err) {
          report('listener', err)
        }
      }
    for (const args of done)
      for (const l of listeners) {
        try {
          l(...args)
        } catch (err) {
          report('listener', err)
        }
      }
    for (const fn of fns) {
      try {
        fn()
      } catch (err) {
        report('afterCommit', err)
      }
    }
  }

  // Failing since the first failure of a run, until a transaction commits a change.
  let failing: StoreHealth = { ok: true }
  const totalChanges = (): number => (db.prepare('SELECT total_changes() AS n').get() as { n: number }).n

  /**
   * Run `begin` (which starts a transaction synchronously) once this store has no batch open and no
   * other connection holds the write lock; a lock held past busyTimeoutMs fails with SQLITE_BUSY.
   */
  const whenFree = async <T>(begin: () => T): Promise<T> => {
    let deadline = 0
    for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
      while (openBatch) await openBatch.catch(() => undefined)
      try {
        return begin()
      } catch (err) {
        if (!isBusy(err)) throw err
        deadline ||= performance.now() + busyTimeoutMs
        if (performance.now() >= deadline) throw err
      }
      await new Promise((r) => setTimeout(r, pause))
    }
  }

  /** Run `fn` in its own transaction (a write, or a read that waits for no lock), or inside the caller's batch. */
  const run = async <T>(fn: () => T, mode: 'immediate' | 'deferred' = 'immediate'): Promise<T> => {
    if (inOpenBatch()) return fn()
    return whenFree(() => {
      try {
        const before = totalChanges()
        const result = db.transaction(fn)[mode]()
        if (totalChanges() > before) failing = { ok: true }
        announce()
        return result
      } finally {
        uncommitted = []
      }
    })
  }
  const read = <T>(fn: () => T): Promise<T> => run(fn, 'deferred')

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
      'INSERT INTO changes (seq, at, event_id, grid_code, action, status, actor, data, payload) VALUES (?,?,?,?,?,?,?,?,?)',
    ).run(
      c.seq,
      c.at,
      c.eventId,
      c.gridCode,
      c.action,
      c.status,
      c.actor ? JSON.stringify(c.actor) : null,
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

  // The KPI snapshot reads exist once, shared with the KPI worker's read-only connection.
  const snapshotOf = kpiSnapshotOf(db)

  const store: SqliteStore = {
    kind: 'sqlite',
    async migrate() {
      const latest = SQLITE_MIGRATIONS.length
      return whenFree(() => {
        db.transaction(() => {
          db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)')
          const row = db.prepare('SELECT version FROM schema_version').get() as
            { version: number } | undefined
          const current = row?.version ?? 0
          // Steps this build does not know may have changed the data in ways it cannot read or keep.
          if (current > latest)
            throw new Error(
              `存储 ${file} 的结构版本为 ${current}，比本程序支持的版本 ${latest} 新：请运行更新的程序版本 / ` +
                `the store ${file} has schema version ${current}, newer than this build supports (${latest}): run a newer build`,
            )
          for (let v = current; v < latest; v++) db.exec(SQLITE_MIGRATIONS[v]!)
          db.prepare('DELETE FROM schema_version').run()
          db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(latest)
        }).immediate()
        return latest
      })
    },
    async close() {
      if (db.open) db.close()
    },
    async batch(fn) {
      if (inOpenBatch()) return fn()
      const token = {}
      // BEGIN and registering the batch happen in one synchronous step: nothing can slip in between.
      const { work } = await whenFree(() => {
        const before = totalChanges()
        db.exec('BEGIN IMMEDIATE')
        openToken = token
        const work = (async () => {
          try {
            const result = await batchScope.run(token, fn)
            db.exec('COMMIT')
            undo = []
            if (totalChanges() > before) failing = { ok: true }
            announce()
            return result
          } catch (err) {
            uncommitted = []
            deferred = []
            if (db.inTransaction) db.exec('ROLLBACK')
            const undone = undo.reverse()
            undo = []
            for (const u of undone) {
              try {
                u()
              } catch (e) {
                report('afterRollback', e)
              }
            }
            throw err
          }
        })()
        openBatch = work
        return { work }
      })
      try {
        return await work
      } finally {
        openBatch = null
        openToken = null
      }
    },
    health: () => failing,

    afterCommit(fn) {
      if (inOpenBatch()) deferred.push(fn)
      else fn()
    },
    afterRollback(fn) {
      if (inOpenBatch()) undo.push(fn)
    },
    onCommitted(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    onAppended(listener) {
      appended.add(listener)
      return () => appended.delete(listener)
    },

    async createEvent(payload: ReportPayload, at: number, idempotencyKey?: string, actor?: Actor) {
      return run(() => {
        const fingerprint = JSON.stringify(payload)
        const usedAt = now()
        if (idempotencyKey) {
          const hit = st('SELECT event_id, fingerprint, created_at FROM idempotency WHERE key = ?').get(
            idempotencyKey,
          ) as { event_id: string; fingerprint: string | null; created_at: number | null } | undefined
          // An expired key is forgotten: this use is a first use again.
          if (hit && hit.created_at !== null && usedAt - hit.created_at >= IDEMPOTENCY_TTL_MS)
            st('DELETE FROM idempotency WHERE key = ?').run(idempotencyKey)
          else if (hit) {
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
          actor: actor ?? null,
        }
        const event = initialState(change, payload, id)
        insertEvent(event)
        appendChange(change, payload)
        if (idempotencyKey)
          st('INSERT INTO idempotency (key, event_id, fingerprint, created_at) VALUES (?, ?, ?, ?)').run(
            idempotencyKey,
            id,
            fingerprint,
            usedAt,
          )
        uncommitted.push([change, event, null])
        return { event, change, created: true }
      })
    },

    async mutateEvent<R>(
      id: string,
      requestedAt: number,
      decide: (current: GridEvent, at: number) => Decision<R>,
      actor?: Actor,
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
          actor: actor ?? null,
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
      return read(() => getEvent(id))
    },
    async eventsByIds(ids) {
      return read(() => {
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
      return read(() => {
        const row = st(`SELECT payload FROM changes WHERE event_id = ? AND action = 'report'`).get(id) as
          { payload: string | null } | undefined
        return row?.payload ? (JSON.parse(row.payload) as ReportPayload) : null
      })
    },
    async timeline(id) {
      return read(() => {
        return (st('SELECT * FROM changes WHERE event_id = ? ORDER BY seq').all(id) as ChangeRow[]).map(
          changeFromRow,
        )
      })
    },
    async listEvents(q: EventQuery) {
      return read(() => {
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
        if (q.sources?.length) {
          where.push(`source IN (${q.sources.map(() => '?').join(',')})`)
          args.push(...q.sources)
        }
        if (q.overdueAt !== undefined) {
          where.push(`status = 'dispatched' AND deadline IS NOT NULL AND deadline < ?`)
          args.push(q.overdueAt)
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
      return read(() => {
        return (
          st(
            `SELECT * FROM events WHERE status NOT IN ('closed','cancelled')
             OR (status = 'closed' AND evaluated_at IS NULL AND closed_at >= ?) ORDER BY id`,
          ).all(closedSince) as EventRow[]
        ).map(eventFromRow)
      })
    },
    async listChanges(after, limit) {
      return read(() => {
        return (
          st('SELECT * FROM changes WHERE seq > ? ORDER BY seq LIMIT ?').all(after, limit) as ChangeRow[]
        ).map(changeFromRow)
      })
    },
    async lastSeq() {
      return read(lastSeq)
    },
    async firstReportedAt() {
      return read(() => {
        return (st('SELECT MIN(reported_at) AS t FROM events').get() as { t: number | null }).t
      })
    },
    async countEvents() {
      return read(() => {
        return (st('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n
      })
    },
    async kpiSnapshot(region, from, to, day, onlineSince, at?): Promise<KpiSnapshot> {
      // One read transaction: the events, rounds and seq are mutually consistent.
      return read((): KpiSnapshot => snapshotOf(region, from, to, day, onlineSince, at))
    },

    async reportCountsSince(since) {
      return read(() => {
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
    async openRuns(workerIds) {
      return read(() => {
        const rows = st(
          `SELECT worker_id AS workerId, grid_code AS gridCode, started_at AS startedAt, last_at AS lastAt, pings
           FROM patrol_runs WHERE worker_id IN (SELECT value FROM json_each(?))`,
        ).all(JSON.stringify(workerIds)) as StoredRun[]
        return new Map(rows.map((r) => [r.workerId, r]))
      })
    },
    async saveRuns(upserts, deletes) {
      if (upserts.length === 0 && deletes.length === 0) return
      return run(() => {
        const up = st(
          `INSERT OR REPLACE INTO patrol_runs (worker_id, grid_code, started_at, last_at, pings) VALUES (?,?,?,?,?)`,
        )
        for (const r of upserts) up.run(r.workerId, r.gridCode, r.startedAt, r.lastAt, r.pings)
        const del = st('DELETE FROM patrol_runs WHERE worker_id = ?')
        for (const id of deletes) del.run(id)
      })
    },
    async pruneRuns(before) {
      return run(() => st('DELETE FROM patrol_runs WHERE last_at < ?').run(before).changes)
    },
    async prunePositions(before) {
      return run(() => st('DELETE FROM positions WHERE at < ?').run(before).changes)
    },
    async pruneIdempotencyKeys() {
      return run(
        () => st('DELETE FROM idempotency WHERE created_at <= ?').run(now() - IDEMPOTENCY_TTL_MS).changes,
      )
    },

    async revokeToken(jti, expiresAt) {
      await run(() => {
        st('INSERT OR IGNORE INTO revoked_tokens (jti, expires_at) VALUES (?, ?)').run(jti, expiresAt)
      })
    },
    async revokedTokens(now) {
      return read(() =>
        (st('SELECT jti FROM revoked_tokens WHERE expires_at > ?').all(now) as { jti: string }[]).map(
          (r) => r.jti,
        ),
      )
    },
    async getMeta(key) {
      return read(() => {
        const row = st('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined
        return row?.value ?? null
      })
    },
    async initMeta(key, value) {
      return run(() => {
        st('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING').run(key, value)
        return (st('SELECT value FROM meta WHERE key = ?').get(key) as { value: string }).value
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
      return read((): ActivitySnapshot => {
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

    // The token registry: claims only, never the token; revoked is read from revoked_tokens.
    async recordIssuedToken(t) {
      await run(() => {
        st(
          `INSERT INTO issued_tokens (jti, role, region, aud, actions, embed, issued_at, expires_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          t.jti,
          t.role,
          t.region,
          t.aud,
          t.actions && JSON.stringify(t.actions),
          t.embed ? JSON.stringify(t.embed) : null,
          t.issuedAt,
          t.expiresAt,
        )
      })
    },
    async issuedTokens(now) {
      return run(() =>
        (
          st(
            `SELECT t.*, r.jti IS NOT NULL AS revoked FROM issued_tokens t
             LEFT JOIN revoked_tokens r ON r.jti = t.jti
             WHERE t.expires_at > ? ORDER BY t.issued_at DESC, t.jti`,
          ).all(now) as IssuedTokenRow[]
        ).map(issuedFromRow),
      )
    },
    async issuedToken(jti) {
      return run(() => {
        const row = st(
          `SELECT t.*, r.jti IS NOT NULL AS revoked FROM issued_tokens t
           LEFT JOIN revoked_tokens r ON r.jti = t.jti WHERE t.jti = ?`,
        ).get(jti) as IssuedTokenRow | undefined
        return row ? issuedFromRow(row) : null
      })
    },
  }
  return guardStore(store, (op, err) => {
    if (err instanceof StoreUnavailable && failing.ok) failing = { ok: false, code: err.code, since: now() }
    report(op, err)
  })
}

interface IssuedTokenRow {
  jti: string
  role: IssuedTokenState['role']
  region: string | null
  aud: string
  actions: string | null
  embed: string | null
  issued_at: number
  expires_at: number
  revoked: number
}

const issuedFromRow = (r: IssuedTokenRow): IssuedTokenState => ({
  jti: r.jti,
  role: r.role,
  region: r.region,
  aud: r.aud,
  actions: r.actions === null ? null : (JSON.parse(r.actions) as IssuedTokenState['actions']),
  ...(r.embed === null ? {} : { embed: JSON.parse(r.embed) as EmbedClaims }),
  issuedAt: Number(r.issued_at),
  expiresAt: Number(r.expires_at),
  revoked: r.revoked === 1,
})
