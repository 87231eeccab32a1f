/**
 * PostgreSQL implementation of the store (node-postgres 8, a pool of connections, any number of
 * processes on one database). Same semantics and same results as the SQLite store
 * (sqlite-store.ts); what differs is how the log's guarantees are kept across processes.
 *
 * ## The log: gap-free seq in commit order
 *
 * A plain sequence cannot number the log: a rolled-back transaction leaves a gap, and two
 * concurrent transactions may commit in the other order than they drew their numbers, so a reader
 * could see seq 8 before seq 7 exists and step past 7 for good. Instead the last seq handed out lives
 * in the one-row table `log_head`. A transaction that appends changes runs
 * `UPDATE log_head SET seq = seq + n RETURNING seq` as late as it can (after `decide`, just before
 * it inserts the change rows). The UPDATE row-locks the head until COMMIT or ROLLBACK, so:
 *
 *  - appenders take turns on the head: the next one's UPDATE waits, then (READ COMMITTED re-reads
 *    the committed row) continues from the value the previous one committed. A rollback releases
 *    the lock with the head unchanged: the next appender takes the same numbers, no gap.
 *  - seq is allocated in commit order: a transaction holding seq N commits (becomes visible to new
 *    snapshots) before the lock is released, i.e. before any transaction can draw N + 1. So a
 *    reader whose snapshot shows seq N has seen every seq ≤ N, and reading `seq > position` never
 *    skips a change (change-feed.ts relies on it).
 *
 * Writers that append nothing (positions, rounds, meta, tokens) never touch the head and never wait
 * for each other beyond their own rows; there is no global lock. `lastSeq()` reads the head. The
 * price: appenders are serialised from their head UPDATE through their COMMIT's WAL flush, so the
 * work after the UPDATE is kept to one statement (event row and change row together) and COMMIT.
 *
 * Event ids ('E' + 8 digits) come from the sequence `event_ids`, drawn in the same UPDATE as the seq
 * (so they too follow commit order); a rolled-back report leaves a gap in ids, never in seqs.
 *
 * ## Transactions
 *
 * Outside a batch every method is its own transaction on a pooled connection. `batch(fn)` holds one
 * connection in one transaction; the store calls made inside `fn` find it through AsyncLocalStorage
 * (a callback that outlives its batch finds it closed and runs on its own). `mutateEvent` locks the
 * event row (`FOR UPDATE`) before `decide`; `openRuns` inside a batch locks the runs it reads (where
 * SQLite relies on its single write lock). A serialization failure or deadlock (40001, 40P01) retries
 * a single method's transaction a few times; a batch is not retried (its `fn` may have done more than
 * write), it fails with StoreUnavailable 'busy'.
 *
 * ## Notifications
 *
 * Each appending transaction calls `pg_notify` on the schema's channel before COMMIT (PostgreSQL
 * delivers it only if the transaction commits). One dedicated, unpooled connection per store LISTENs
 * (from the first `onAppended`) and reconnects with backoff; this process's own commits are also
 * announced locally right after COMMIT. Both are hints only (store.ts `onAppended`).
 */
import type { EmbedClaims } from '../../shared/embed.ts'
import { AsyncLocalStorage } from 'node:async_hooks'
import { createHash } from 'node:crypto'
import pg from 'pg'
import type { Actor, Change, GridEvent, PatrolRound, Position, Worker } from '../../shared/types.ts'
import { applyChange, initialState, type ReportPayload } from '../../shared/lifecycle.ts'
import {
  IDEMPOTENCY_TTL_MS,
  IdempotencyConflict,
  StoreUnavailable,
  type ActivitySnapshot,
  type Decision,
  type EventQuery,
  type IssuedTokenState,
  type KpiSnapshot,
  type MutateResult,
  type Store,
  type StoreHealth,
  type StoredRun,
} from './store.ts'
import { PG_MIGRATIONS } from './pg-migrations.ts'
import { pgKpiSnapshot, type PgRows } from './pg-kpi-snapshot.ts'
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

const CHANGE_COLUMNS = 'seq, at, event_id, grid_code, action, status, actor, data, payload'
/** The columns `changeFromRow` reads (the report's payload is read by `reportPayload` only). */
const CHANGE_SELECT = 'seq, at, event_id, grid_code, action, status, actor, data'

export interface PgStoreOptions {
  connectionString: string
  /** The PostgreSQL schema every table lives in (created by `migrate()`); default `public`. */
  schema?: string
  /** Pooled connections (default 10); the LISTEN connection comes on top. */
  poolSize?: number
  /** Hears each failure of a method (op: its name), pool and LISTEN connection errors, and listeners that throw. */
  onError?: (err: unknown, op?: string) => void
  /** Real time, for the idempotency keys' expiry (default Date.now). */
  now?: () => number
  /**
   * How long a statement waits for a lock (another transaction's event row, the log head) before
   * failing with StoreUnavailable 'busy' (default 5000 ms, as SQLite's busy timeout).
   */
  lockTimeoutMs?: number
  /** `application_name` of the store's connections (default `city-brain/<schema>`; the LISTEN one adds `/listen`). */
  applicationName?: string
}

/** Advisory lock classes (the two-int key space): migrations, and reports under one idempotency key. */
const LOCK_MIGRATE = 0x43420001
const LOCK_IDEMPOTENCY = 0x43420002

/** Transactions that fail with a serialization failure or a deadlock are tried this often in all. */
const MAX_ATTEMPTS = 4

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

/** int8 (BIGINT: epoch ms, seq, COUNT) as a JS number, for this store's connections only. */
const INT8_OID = 20
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
}

const quoteIdent = (name: string): string => pg.escapeIdentifier(name)

/** The NOTIFY channel of a schema (at most 63 bytes: longer names are hashed). */
export function pgChannel(schema: string): string {
  const name = `city_brain_log:${schema}`
  return Buffer.byteLength(name) <= 63
    ? name
    : `city_brain_log:${createHash('sha256').update(schema).digest('hex').slice(0, 40)}`
}

/** Node's socket errors and pg's own messages for a connection that is gone. */
const NODE_IO_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'EAI_AGAIN',
])
const CONNECTION_GONE = /Connection terminated|not queryable|Connection is closed|ended the connection/i
const POOL_TIMEOUT = /timeout exceeded when trying to connect/i

/**
 * The engine's code of a failure: the SQLSTATE of a server error, Node's code of a socket error,
 * `CONNECTION_TERMINATED` / `POOL_TIMEOUT` for pg's own; null for anything else (a refusal, a bug).
 */
export function pgErrorCode(err: unknown): string | null {
  if (typeof err !== 'object' || err === null) return null
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' && NODE_IO_CODES.has(code)) return code
  if (err instanceof pg.DatabaseError && typeof code === 'string') return code
  const message = (err as { message?: unknown }).message
  if (typeof message === 'string') {
    if (POOL_TIMEOUT.test(message)) return 'POOL_TIMEOUT'
    if (CONNECTION_GONE.test(message)) return 'CONNECTION_TERMINATED'
  }
  // A server error relayed without its class (e.g. from a LISTEN client): a SQLSTATE is 5 characters.
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && 'severity' in err) return code
  return null
}

/** Why a code means the store is unavailable for now, or null when it does not. */
export function pgUnavailableReason(code: string): StoreUnavailable['reason'] | null {
  if (NODE_IO_CODES.has(code) || code === 'CONNECTION_TERMINATED') return 'io'
  if (code === 'POOL_TIMEOUT') return 'busy'
  if (code === '53100') return 'full'
  if (code === '53300' || code === '40001' || code === '40P01' || code === '55P03') return 'busy'
  if (code.startsWith('08')) return 'io'
  if (code === '57P01' || code === '57P02' || code === '57P03') return 'io'
  // The server is a read-only standby (a failover in progress), or its disk fails.
  if (code === '25006' || code === '58030') return 'io'
  return null
}

const isRetryable = (err: unknown): boolean => {
  const code = pgErrorCode(err)
  return code === '40001' || code === '40P01'
}
const isConnectionLost = (err: unknown): boolean => pgUnavailableReason(pgErrorCode(err) ?? '') === 'io'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Something pg can run a statement on: the pool, or one checked-out client. */
type Queryable = Pick<pg.Pool, 'query'>

const rowsOf = async <T>(q: Queryable, sql: string, params: unknown[] = []): Promise<T[]> =>
  (await q.query(sql, params)).rows as T[]

/** One open transaction on one pooled client. */
interface Tx {
  client: pg.PoolClient
  /** False once COMMIT or ROLLBACK is under way: later calls no longer join it. */
  open: boolean
  /** Changes were appended (announce them after COMMIT). */
  appended: boolean
  /** Some row was written (a commit then clears a failing health). */
  wrote: boolean
  /** Give the client back to the pool (destroying it when its connection may be broken); once. */
  done: (destroy: boolean) => void
  deferred: (() => void)[]
  undo: (() => void)[]
}

/**
 * `store` with every method guarded: an engine error becomes StoreUnavailable when it means "not
 * now" (else it is kept), and `onFailure(op, err)` hears it once, named by the outermost method it
 * was first seen in (as sqlite-faults.ts `guardStore`). Errors that are not the engine's pass
 * through unheard.
 */
function guardPgStore<S extends object>(store: S, onFailure: (op: string, err: unknown) => void): S {
  const heard = new WeakSet<object>()
  const classify = (op: string, err: unknown): unknown => {
    if (typeof err !== 'object' || err === null || heard.has(err)) return err
    const code = pgErrorCode(err)
    if (!code) return err
    const reason = pgUnavailableReason(code)
    const out = reason ? new StoreUnavailable(op, code, reason, { cause: err }) : err
    heard.add(out as object)
    onFailure(op, out)
    return out
  }
  const guarded: Record<string, unknown> = {}
  for (const [op, value] of Object.entries(store)) {
    if (typeof value !== 'function') {
      guarded[op] = value
      continue
    }
    const method = value as (...args: unknown[]) => unknown
    guarded[op] = (...args: unknown[]): unknown => {
      let out: unknown
      try {
        out = method.apply(store, args)
      } catch (err) {
        throw classify(op, err)
      }
      return out instanceof Promise
        ? out.catch((err: unknown) => {
            throw classify(op, err)
          })
        : out
    }
  }
  return guarded as S
}

/** Split a URL connection string's own `options` off, so the store's can be added to them. */
function splitOptions(connectionString: string): { connectionString: string; options: string } {
  try {
    const url = new URL(connectionString)
    const options = url.searchParams.get('options')
    if (options !== null) {
      url.searchParams.delete('options')
      return { connectionString: url.toString(), options }
    }
  } catch {
    // Not a URL (key=value form): left as it is.
  }
  return { connectionString, options: '' }
}

/** Drop `schema` and everything in it (tests, and tearing a deployment down). */
export async function dropPgSchema(connectionString: string, schema: string): Promise<void> {
  if (!SCHEMA_NAME.test(schema)) throw new Error(`invalid schema name ${JSON.stringify(schema)}`)
  const client = new pg.Client({ connectionString })
  client.on('error', () => undefined)
  await client.connect()
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`)
  } finally {
    await client.end().catch(() => undefined)
  }
}

/** Open the PostgreSQL store (connections are made lazily; call `migrate()` first). */
export function createPgStore(opts: PgStoreOptions): Store {
  const schema = opts.schema ?? 'public'
  if (!SCHEMA_NAME.test(schema))
    throw new Error(`invalid schema name ${JSON.stringify(schema)}: letters, digits and _ only`)
  const now = opts.now ?? Date.now
  const onError = opts.onError ?? ((err: unknown, op?: string) => console.error(`store: ${op} failed:`, err))
  const lockTimeoutMs = Math.max(0, Math.floor(opts.lockTimeoutMs ?? 5000))
  const applicationName = opts.applicationName ?? `city-brain/${schema}`
  const channel = pgChannel(schema)
  const poolSize = opts.poolSize ?? 10
  /** Tries of a statement that found its connection dead before doing anything: each idle one may be. */
  const connectTries = poolSize + 1
  const ident = quoteIdent(schema)

  const split = splitOptions(opts.connectionString)
  const options = [split.options, `-c search_path=${ident}`, `-c lock_timeout=${lockTimeoutMs}`]
    .filter(Boolean)
    .join(' ')
  const pool = new pg.Pool({
    connectionString: split.connectionString,
    max: poolSize,
    options,
    application_name: applicationName,
    types: TYPES,
    connectionTimeoutMillis: 10_000,
  })

  const report = (op: string, err: unknown): void => {
    try {
      onError(err, op)
    } catch {
      // A failing reporter must not turn a committed write into a failed one.
    }
  }
  // An idle client whose connection fails (the server restarted, the backend was terminated): the
  // pool drops it; without a handler the process would crash.
  pool.on('error', (err) => report('pool', err))

  // Failing since the first failure of a run, until a transaction commits a write.
  let failing: StoreHealth = { ok: true }
  let closed = false

  const appended = new Set<() => void>()
  const hint = (): void => {
    for (const l of [...appended]) {
      try {
        l()
      } catch (err) {
        report('listener', err)
      }
    }
  }

  // --- transactions ---

  const scope = new AsyncLocalStorage<Tx>()
  /** The open batch this call is part of, if any. */
  const joined = (): Tx | null => {
    const t = scope.getStore()
    return t?.open ? t : null
  }

  /**
   * A pooled client, listened to while checked out: its connection can fail between two statements
   * (the server shuts down, the backend is terminated), and an unheard 'error' would crash the
   * process. The statement that next uses it fails, and that failure is what is reported.
   */
  async function checkout(): Promise<{ client: pg.PoolClient; done: (destroy: boolean) => void }> {
    const client = await pool.connect()
    const ignore = (): void => undefined
    client.on('error', ignore)
    let released = false
    return {
      client,
      done: (destroy) => {
        if (released) return
        released = true
        client.off('error', ignore)
        client.release(destroy ? true : undefined)
      },
    }
  }

  /** A pooled client in a fresh transaction; a connection found dead before anything was done is replaced. */
  async function begin(sql: string): Promise<Tx> {
    for (let attempt = 1; ; attempt++) {
      const { client, done } = await checkout()
      try {
        await client.query(sql)
        return { client, done, open: true, appended: false, wrote: false, deferred: [], undo: [] }
      } catch (err) {
        done(true)
        if (attempt >= connectTries || !isConnectionLost(err)) throw err
      }
    }
  }

  /** COMMIT (notifying the other processes if changes were appended), then announce locally. */
  async function commit(t: Tx): Promise<void> {
    t.open = false
    // With the notification, in one round trip (the log head stays locked until COMMIT is done).
    const sent = (await t.client.query(
      t.appended ? `SELECT pg_notify(${pg.escapeLiteral(channel)}, ''); COMMIT` : 'COMMIT',
    )) as pg.QueryResult | pg.QueryResult[]
    const res = Array.isArray(sent) ? sent[sent.length - 1]! : sent
    // COMMIT of a transaction an earlier statement aborted answers ROLLBACK, not an error
    // (rollback() then gives the client back).
    if (res.command === 'ROLLBACK')
      throw Object.assign(
        new Error('the transaction was aborted by an earlier failing statement and rolled back'),
        {
          code: '25P02',
        },
      )
    t.done(false)
    if (t.wrote) failing = { ok: true }
    if (t.appended) hint()
    for (const fn of t.deferred) {
      try {
        fn()
      } catch (err) {
        report('afterCommit', err)
      }
    }
  }

  /** Roll back (unless COMMIT already ended the transaction) and run the batch's afterRollback callbacks. */
  async function rollback(t: Tx, cause: unknown): Promise<void> {
    const wasOpen = t.open
    t.open = false
    t.deferred = []
    let broken = isConnectionLost(cause)
    if (!broken) {
      try {
        // After a failed COMMIT there is no transaction left: ROLLBACK only warns.
        await t.client.query('ROLLBACK')
      } catch {
        broken = true
      }
    }
    t.done(broken || !wasOpen)
    const undone = t.undo.reverse()
    t.undo = []
    for (const u of undone) {
      try {
        u()
      } catch (e) {
        report('afterRollback', e)
      }
    }
  }

  /**
   * Run `fn` in its own transaction (retried on a serialization failure or a deadlock), or inside
   * the caller's batch. `snapshot`: one REPEATABLE READ READ ONLY transaction (the rows agree).
   */
  async function transaction<T>(fn: (t: Tx) => Promise<T>, mode: 'write' | 'snapshot' = 'write'): Promise<T> {
    const outer = joined()
    if (outer) return fn(outer)
    for (let attempt = 1; ; attempt++) {
      const t = await begin(mode === 'snapshot' ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' : 'BEGIN')
      try {
        const result = await fn(t)
        await commit(t)
        return result
      } catch (err) {
        await rollback(t, err)
        if (attempt < MAX_ATTEMPTS && isRetryable(err)) {
          await sleep(5 * attempt + Math.random() * 20)
          continue
        }
        throw err
      }
    }
  }

  /** One statement that only reads: on the batch's client inside a batch, else on any pooled client. */
  async function read<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    const t = joined()
    if (t) return rowsOf<T>(t.client, sql, params)
    for (let attempt = 1; ; attempt++) {
      try {
        return await rowsOf<T>(pool, sql, params)
      } catch (err) {
        // A read is safe to repeat: a connection that died idle in the pool is replaced.
        if (attempt >= connectTries || !isConnectionLost(err)) throw err
      }
    }
  }

  /** A write statement in `t`; returns the rows it affected. */
  async function write(t: Tx, sql: string, params: unknown[] = []): Promise<number> {
    const res = await t.client.query(sql, params)
    if ((res.rowCount ?? 0) > 0) t.wrote = true
    return res.rowCount ?? 0
  }

  /** Take `n` seqs from the log head (row-locking it until COMMIT): returns the last, and a fresh event number. */
  async function takeSeqs(t: Tx, n: number, withEventId: boolean): Promise<{ seq: number; eventNo: number }> {
    const sql = withEventId
      ? `UPDATE log_head SET seq = seq + $1 RETURNING seq, nextval('event_ids') AS n`
      : 'UPDATE log_head SET seq = seq + $1 RETURNING seq'
    const row = (await rowsOf<{ seq: number; n?: number }>(t.client, sql, [n]))[0]
    if (!row) throw new Error('log_head is empty: the schema was not migrated')
    t.appended = true
    t.wrote = true
    return { seq: row.seq, eventNo: row.n ?? 0 }
  }

  const changeParams = (c: Change, payload?: ReportPayload): unknown[] => [
    c.seq,
    c.at,
    c.eventId,
    c.gridCode,
    c.action,
    c.status,
    c.actor ? JSON.stringify(c.actor) : null,
    c.data ? JSON.stringify(c.data) : null,
    payload ? JSON.stringify(payload) : null,
  ]
  const eventParams = (e: GridEvent): unknown[] => {
    const row = eventToRow(e)
    return EVENT_COLUMNS.map((c) => row[c])
  }
  const placeholders = (n: number, from: number): string =>
    Array.from({ length: n }, (_, i) => `$${from + i}`).join(',')

  const getEvent = async (q: Queryable, id: string, lock = false): Promise<GridEvent | null> => {
    const row = (
      await rowsOf<EventRow>(q, `SELECT * FROM events WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id])
    )[0]
    return row ? eventFromRow(row) : null
  }

  /** Keep the last of each key (SQLite writes row by row: the last one stands). */
  const lastByKey = <T>(items: T[], key: (t: T) => string): T[] => {
    const m = new Map<string, T>()
    for (const it of items) m.set(key(it), it)
    // A fixed order, so concurrent writers lock rows in the same order (no deadlock between them).
    return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v)
  }

  // --- the LISTEN connection ---

  let listener: pg.Client | null = null
  let listenTimer: NodeJS.Timeout | null = null
  let listenBackoff = 100
  let listenedBefore = false

  function listen(): void {
    if (closed || listener || listenTimer) return
    const c = new pg.Client({
      connectionString: split.connectionString,
      application_name: `${applicationName}/listen`,
      types: TYPES,
    })
    listener = c
    let over = false
    const fail = (err?: unknown): void => {
      if (over) return
      over = true
      if (err !== undefined && !closed) report('listen', err)
      c.removeAllListeners('notification')
      c.end().catch(() => undefined)
      if (listener === c) listener = null
      if (closed) return
      listenTimer = setTimeout(() => {
        listenTimer = null
        listen()
      }, listenBackoff)
      listenTimer.unref()
      listenBackoff = Math.min(listenBackoff * 2, 5000)
    }
    c.on('error', fail)
    c.on('end', () => fail())
    c.on('notification', (m) => {
      if (m.channel === channel) hint()
    })
    c.connect()
      .then(() => c.query(`LISTEN ${quoteIdent(channel)}`))
      .then(
        () => {
          if (over) return
          listenBackoff = 100
          // Notifications sent while the connection was down are lost: say something may have come.
          if (listenedBefore) hint()
          listenedBefore = true
        },
        (err: unknown) => fail(err),
      )
  }

  const store: Store = {
    kind: 'postgres',

    async migrate() {
      const latest = PG_MIGRATIONS.length
      const { client, done } = await checkout()
      try {
        await client.query('BEGIN')
        // Several processes starting at once: one migrates, the others wait for it and find it done.
        await client.query('SET LOCAL lock_timeout = 0')
        await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_MIGRATE, schema])
        const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])
        if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${ident}`)
        await client.query(`SET LOCAL search_path TO ${ident}`)
        await client.query('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)')
        const row = (
          await rowsOf<{ version: number }>(client, 'SELECT MAX(version) AS version FROM schema_version')
        )[0]
        const current = row?.version ?? 0
        // Steps this build does not know may have changed the data in ways it cannot read or keep.
        if (current > latest)
          throw new Error(
            `存储 ${schema} 的结构版本为 ${current}，比本程序支持的版本 ${latest} 新：请运行更新的程序版本 / ` +
              `the store ${schema} has schema version ${current}, newer than this build supports (${latest}): run a newer build`,
          )
        for (let v = current; v < latest; v++) await client.query(PG_MIGRATIONS[v]!)
        if (current !== latest) {
          await client.query('DELETE FROM schema_version')
          await client.query('INSERT INTO schema_version (version) VALUES ($1)', [latest])
        }
        await client.query('COMMIT')
        done(false)
        return latest
      } catch (err) {
        let broken = isConnectionLost(err)
        if (!broken) await client.query('ROLLBACK').catch(() => (broken = true))
        done(broken)
        throw err
      }
    },

    async close() {
      if (closed) return
      closed = true
      if (listenTimer) clearTimeout(listenTimer)
      listenTimer = null
      const l = listener
      listener = null
      await Promise.all([l?.end().catch(() => undefined), pool.end().catch(() => undefined)])
    },

    async batch(fn) {
      if (joined()) return fn()
      const t = await begin('BEGIN')
      try {
        const result = await scope.run(t, fn)
        await commit(t)
        return result
      } catch (err) {
        await rollback(t, err)
        throw err
      }
    },

    health: () => failing,

    afterCommit(fn) {
      const t = joined()
      if (t) t.deferred.push(fn)
      else fn()
    },
    afterRollback(fn) {
      joined()?.undo.push(fn)
    },
    onAppended(l) {
      appended.add(l)
      try {
        listen()
      } catch (err) {
        report('listen', err)
      }
      return () => {
        appended.delete(l)
      }
    },

    async createEvent(payload: ReportPayload, at: number, idempotencyKey?: string, actor?: Actor) {
      return transaction(async (t) => {
        const fingerprint = JSON.stringify(payload)
        const usedAt = now()
        if (idempotencyKey) {
          // Two reports under one key wait for each other (the second then finds the first's key).
          await t.client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [
            LOCK_IDEMPOTENCY,
            `${schema}:${idempotencyKey}`,
          ])
          const hit = (
            await rowsOf<{ event_id: string; fingerprint: string | null; created_at: number | null }>(
              t.client,
              'SELECT event_id, fingerprint, created_at FROM idempotency WHERE key = $1',
              [idempotencyKey],
            )
          )[0]
          // An expired key is forgotten: this use is a first use again.
          if (hit && hit.created_at !== null && usedAt - hit.created_at >= IDEMPOTENCY_TTL_MS)
            await write(t, 'DELETE FROM idempotency WHERE key = $1', [idempotencyKey])
          else if (hit) {
            if (hit.fingerprint !== null && hit.fingerprint !== fingerprint)
              throw new IdempotencyConflict(idempotencyKey)
            const event = (await getEvent(t.client, hit.event_id))!
            const first = (
              await rowsOf<ChangeRow>(
                t.client,
                `SELECT ${CHANGE_SELECT} FROM changes WHERE event_id = $1 ORDER BY seq LIMIT 1`,
                [hit.event_id],
              )
            )[0]!
            return { event, change: changeFromRow(first), created: false }
          }
        }
        // As late as possible: from here to COMMIT every other appender waits.
        const { seq, eventNo } = await takeSeqs(t, 1, true)
        const id = 'E' + String(eventNo).padStart(8, '0')
        const change: Change = {
          seq,
          at,
          eventId: id,
          gridCode: payload.gridCode,
          action: 'report',
          status: 'reported',
          actor: actor ?? null,
        }
        const event = initialState(change, payload, id)
        const nE = EVENT_COLUMNS.length
        const params = [...eventParams(event), ...changeParams(change, payload)]
        let sql = `WITH e AS (INSERT INTO events (${EVENT_COLUMNS.join(',')}) VALUES (${placeholders(nE, 1)}))`
        if (idempotencyKey) {
          sql += `, i AS (INSERT INTO idempotency (key, event_id, fingerprint, created_at) VALUES (${placeholders(4, nE + 10)}))`
          params.push(idempotencyKey, id, fingerprint, usedAt)
        }
        sql += ` INSERT INTO changes (${CHANGE_COLUMNS}) VALUES (${placeholders(9, nE + 1)})`
        await write(t, sql, params)
        return { event, change, created: true }
      })
    },

    async mutateEvent<R>(
      id: string,
      requestedAt: number,
      decide: (current: GridEvent, at: number) => Decision<R>,
      actor?: Actor,
    ) {
      return transaction(async (t): Promise<MutateResult<R>> => {
        // Locked before deciding: no other writer changes the event between the decision and its write.
        const current = await getEvent(t.client, id, true)
        if (!current) return { ok: false, notFound: true }
        // A step is never dated before the event's previous change (a source's clock may run ahead).
        const at = Math.max(requestedAt, current.updatedAt)
        const d = decide(current, at)
        if (!d.ok) return { ok: false, refusal: d.refusal }
        const { seq } = await takeSeqs(t, 1, false)
        const change: Change = {
          seq,
          at,
          eventId: id,
          gridCode: current.gridCode,
          action: d.action,
          status: d.status,
          actor: actor ?? null,
          ...(d.data && Object.keys(d.data).length > 0 ? { data: d.data } : {}),
        }
        const event = applyChange(current, change)
        const nE = EVENT_COLUMNS.length
        const sets = EVENT_COLUMNS.map((c, i) => (c === 'id' ? null : `${c} = $${i + 1}`))
          .filter(Boolean)
          .join(',')
        await write(
          t,
          `WITH e AS (UPDATE events SET ${sets} WHERE id = $1)
           INSERT INTO changes (${CHANGE_COLUMNS}) VALUES (${placeholders(9, nE + 1)})`,
          [...eventParams(event), ...changeParams(change)],
        )
        return { ok: true, event, previous: current, change }
      })
    },

    async getEvent(id) {
      const row = (await read<EventRow>('SELECT * FROM events WHERE id = $1', [id]))[0]
      return row ? eventFromRow(row) : null
    },
    async eventsByIds(ids) {
      const out = new Map<string, GridEvent>()
      const unique = [...new Set(ids)]
      if (unique.length === 0) return out
      const rows = await read<EventRow>('SELECT * FROM events WHERE id = ANY($1::text[]) ORDER BY id', [
        unique,
      ])
      for (const r of rows) out.set(r.id, eventFromRow(r))
      return out
    },
    async reportPayload(id) {
      const row = (
        await read<{ payload: string | null }>(
          `SELECT payload FROM changes WHERE event_id = $1 AND action = 'report' ORDER BY seq LIMIT 1`,
          [id],
        )
      )[0]
      return row?.payload ? (JSON.parse(row.payload) as ReportPayload) : null
    },
    async timeline(id) {
      return (
        await read<ChangeRow>(`SELECT ${CHANGE_SELECT} FROM changes WHERE event_id = $1 ORDER BY seq`, [id])
      ).map(changeFromRow)
    },
    async listEvents(q: EventQuery) {
      const where: string[] = []
      const args: unknown[] = []
      const p = (v: unknown): string => (args.push(v), `$${args.length}`)
      if (q.region) where.push(`grid_code >= ${p(q.region)} AND grid_code < ${p(q.region + ':')}`)
      if (q.statuses?.length) where.push(`status = ANY(${p(q.statuses)}::text[])`)
      if (q.categories?.length) where.push(`category = ANY(${p(q.categories)}::text[])`)
      if (q.sources?.length) where.push(`source = ANY(${p(q.sources)}::text[])`)
      if (q.overdueAt !== undefined)
        where.push(`status = 'dispatched' AND deadline IS NOT NULL AND deadline < ${p(q.overdueAt)}`)
      if (q.from !== undefined) where.push(`reported_at >= ${p(q.from)}`)
      if (q.to !== undefined) where.push(`reported_at < ${p(q.to)}`)
      if (q.before) {
        const r = p(q.before.reportedAt)
        where.push(`(reported_at < ${r} OR (reported_at = ${r} AND id < ${p(q.before.id)}))`)
      }
      const sql = `SELECT * FROM events ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
        ORDER BY reported_at DESC, id DESC LIMIT ${p(q.limit)}`
      return (await read<EventRow>(sql, args)).map(eventFromRow)
    },
    async openEvents(closedSince) {
      return (
        await read<EventRow>(
          `SELECT * FROM events WHERE status NOT IN ('closed','cancelled')
           OR (status = 'closed' AND evaluated_at IS NULL AND closed_at >= $1) ORDER BY id`,
          [closedSince],
        )
      ).map(eventFromRow)
    },
    async listChanges(after, limit) {
      return (
        await read<ChangeRow>(`SELECT ${CHANGE_SELECT} FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2`, [
          after,
          limit,
        ])
      ).map(changeFromRow)
    },
    async lastSeq() {
      return (await read<{ seq: number }>('SELECT seq FROM log_head'))[0]?.seq ?? 0
    },
    async countEvents() {
      return (await read<{ n: number }>('SELECT COUNT(*) AS n FROM events'))[0]!.n
    },
    async firstReportedAt() {
      const t = (await read<{ t: string | number | null }>('SELECT MIN(reported_at) AS t FROM events'))[0]!.t
      return t === null ? null : Number(t)
    },
    async kpiSnapshot(region, from, to, day, onlineSince, at?): Promise<KpiSnapshot> {
      // One REPEATABLE READ transaction: the events, rounds and seq are mutually consistent.
      return transaction((t) => {
        const rows: PgRows = (sql, params) => rowsOf(t.client, sql, params)
        return pgKpiSnapshot(rows, region, from, to, day, onlineSince, at)
      }, 'snapshot')
    },

    async reportCountsSince(since) {
      const rows = await read<{ g: string; n: number }>(
        'SELECT grid_code AS g, COUNT(*) AS n FROM events WHERE reported_at >= $1 GROUP BY grid_code',
        [since],
      )
      return new Map(rows.map((r) => [r.g, r.n]))
    },
    async upsertWorkers(workers: Worker[]) {
      if (workers.length === 0) return
      const list = lastByKey(workers, (w) => w.id)
      await transaction((t) =>
        write(
          t,
          `INSERT INTO workers (id, name, phone, grid_code)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
           ON CONFLICT (id) DO UPDATE SET name = excluded.name, phone = excluded.phone, grid_code = excluded.grid_code`,
          [
            list.map((w) => w.id),
            list.map((w) => w.name),
            list.map((w) => w.phone),
            list.map((w) => w.gridCode),
          ],
        ),
      )
    },
    async insertPositions(positions: Position[], keepRawAfter: number) {
      if (positions.length === 0) return
      const raw = positions.filter((p) => p.at >= keepRawAfter)
      const latest = new Map<string, Position>()
      for (const p of positions) {
        const seen = latest.get(p.workerId)
        if (!seen || p.at >= seen.at) latest.set(p.workerId, p)
      }
      const bumps = lastByKey([...latest.values()], (p) => p.workerId)
      const columns = (ps: Position[]) => [
        ps.map((p) => p.workerId),
        ps.map((p) => p.at),
        ps.map((p) => p.lat),
        ps.map((p) => p.lng),
      ]
      await transaction(async (t) => {
        if (raw.length)
          await write(
            t,
            `INSERT INTO positions (worker_id, at, lat, lng)
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::float8[], $4::float8[])`,
            columns(raw),
          )
        await write(
          t,
          `UPDATE workers w SET last_ping_at = v.at, last_lat = v.lat, last_lng = v.lng
           FROM unnest($1::text[], $2::bigint[], $3::float8[], $4::float8[]) AS v(id, at, lat, lng)
           WHERE w.id = v.id AND (w.last_ping_at IS NULL OR w.last_ping_at <= v.at)`,
          columns(bumps),
        )
      })
    },
    async insertRounds(rounds: PatrolRound[]) {
      if (rounds.length === 0) return
      const list = lastByKey(rounds, (r) => `${r.workerId}\u0000${String(r.startedAt).padStart(20, '0')}`)
      await transaction((t) =>
        write(
          t,
          `INSERT INTO patrol_rounds (worker_id, grid_code, started_at, ended_at, pings)
           SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::int[])
           ON CONFLICT (worker_id, started_at) DO UPDATE
           SET grid_code = excluded.grid_code, ended_at = excluded.ended_at, pings = excluded.pings`,
          [
            list.map((r) => r.workerId),
            list.map((r) => r.gridCode),
            list.map((r) => r.startedAt),
            list.map((r) => r.endedAt),
            list.map((r) => r.pings),
          ],
        ),
      )
    },
    async openRuns(workerIds) {
      // Inside a batch (the pings that move the runs) the runs are locked until it commits, as
      // SQLite's write lock keeps another writer from reading them meanwhile.
      const lock = joined() ? ' ORDER BY worker_id FOR UPDATE' : ''
      const rows = await read<{ w: string; g: string; s: number; l: number; p: number }>(
        `SELECT worker_id AS w, grid_code AS g, started_at AS s, last_at AS l, pings AS p
         FROM patrol_runs WHERE worker_id = ANY($1::text[])${lock}`,
        [workerIds],
      )
      return new Map(
        rows.map((r): [string, StoredRun] => [
          r.w,
          { workerId: r.w, gridCode: r.g, startedAt: r.s, lastAt: r.l, pings: r.p },
        ]),
      )
    },
    async saveRuns(upserts, deletes) {
      if (upserts.length === 0 && deletes.length === 0) return
      const list = lastByKey(upserts, (r) => r.workerId)
      await transaction(async (t) => {
        if (list.length)
          await write(
            t,
            `INSERT INTO patrol_runs (worker_id, grid_code, started_at, last_at, pings)
             SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::int[])
             ON CONFLICT (worker_id) DO UPDATE SET grid_code = excluded.grid_code,
               started_at = excluded.started_at, last_at = excluded.last_at, pings = excluded.pings`,
            [
              list.map((r) => r.workerId),
              list.map((r) => r.gridCode),
              list.map((r) => r.startedAt),
              list.map((r) => r.lastAt),
              list.map((r) => r.pings),
            ],
          )
        if (deletes.length)
          await write(t, 'DELETE FROM patrol_runs WHERE worker_id = ANY($1::text[])', [deletes])
      })
    },
    async pruneRuns(before) {
      return transaction((t) => write(t, 'DELETE FROM patrol_runs WHERE last_at < $1', [before]))
    },
    async prunePositions(before) {
      return transaction((t) => write(t, 'DELETE FROM positions WHERE at < $1', [before]))
    },
    async pruneIdempotencyKeys() {
      const cutoff = now() - IDEMPOTENCY_TTL_MS
      return transaction((t) => write(t, 'DELETE FROM idempotency WHERE created_at <= $1', [cutoff]))
    },

    async revokeToken(jti, expiresAt) {
      await transaction((t) =>
        write(
          t,
          'INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING',
          [jti, expiresAt],
        ),
      )
    },
    async revokedTokens(at) {
      return (await read<{ jti: string }>('SELECT jti FROM revoked_tokens WHERE expires_at > $1', [at])).map(
        (r) => r.jti,
      )
    },
    async getMeta(key) {
      return (await read<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key]))[0]?.value ?? null
    },
    async setMeta(key, value) {
      await transaction((t) =>
        write(
          t,
          'INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
          [key, value],
        ),
      )
    },

    async initMeta(key, value) {
      // Two statements: the INSERT waits for a concurrent one under the same key to commit (the
      // unique index), and the SELECT, a new snapshot, then sees whichever value won.
      return transaction(async (t) => {
        await write(t, 'INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [
          key,
          value,
        ])
        return (await rowsOf<{ value: string }>(t.client, 'SELECT value FROM meta WHERE key = $1', [key]))[0]!
          .value
      })
    },

    async activitySnapshot(region, day, window): Promise<ActivitySnapshot> {
      // One REPEATABLE READ transaction, so the counts and the seq agree.
      return transaction(async (t): Promise<ActivitySnapshot> => {
        const lo = region
        const hi = region + ':'
        const times = async (column: 'reported_at' | 'handled_at' | 'closed_at'): Promise<number[]> =>
          (
            await rowsOf<{ t: number }>(
              t.client,
              `SELECT ${column} AS t FROM events
               WHERE ${column} >= $1 AND ${column} < $2 AND grid_code >= $3 AND grid_code < $4
               ORDER BY ${column}`,
              [window.start, window.end, lo, hi],
            )
          ).map((r) => r.t)
        const today = await rowsOf<{ category: string; n: number }>(
          t.client,
          `SELECT category, COUNT(*) AS n FROM events
           WHERE reported_at >= $1 AND reported_at < $2 AND grid_code >= $3 AND grid_code < $4
           GROUP BY category ORDER BY category`,
          [day.start, day.end, lo, hi],
        )
        const seq = (await rowsOf<{ seq: number }>(t.client, 'SELECT seq FROM log_head'))[0]?.seq ?? 0
        return {
          seq,
          reportedToday: today.map((r) => ({ category: r.category, count: r.n })),
          reportedAt: await times('reported_at'),
          handledAt: await times('handled_at'),
          closedAt: await times('closed_at'),
        }
      }, 'snapshot')
    },

    // The token registry: claims only, never the token; revoked is read from revoked_tokens.
    async recordIssuedToken(tok) {
      await transaction((t) =>
        write(
          t,
          `INSERT INTO issued_tokens (jti, role, region, aud, actions, embed, issued_at, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [
            tok.jti,
            tok.role,
            tok.region,
            tok.aud,
            tok.actions && JSON.stringify(tok.actions),
            tok.embed ? JSON.stringify(tok.embed) : null,
            tok.issuedAt,
            tok.expiresAt,
          ],
        ),
      )
    },
    async issuedTokens(at) {
      return (
        await read<IssuedTokenRow>(
          `SELECT t.*, r.jti IS NOT NULL AS revoked FROM issued_tokens t
           LEFT JOIN revoked_tokens r ON r.jti = t.jti
           WHERE t.expires_at > $1 ORDER BY t.issued_at DESC, t.jti`,
          [at],
        )
      ).map(issuedFromRow)
    },
    async issuedToken(jti) {
      const row = (
        await read<IssuedTokenRow>(
          `SELECT t.*, r.jti IS NOT NULL AS revoked FROM issued_tokens t
           LEFT JOIN revoked_tokens r ON r.jti = t.jti WHERE t.jti = $1`,
          [jti],
        )
      )[0]
      return row ? issuedFromRow(row) : null
    },
  }
  return guardPgStore(store, (op, err) => {
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
  revoked: boolean
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
  revoked: r.revoked === true,
})
