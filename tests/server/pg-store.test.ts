/**
 * The PostgreSQL store against a real server (no mocks): what only PostgreSQL has to get right.
 * Versioned migrations under an advisory lock, BIGINT epoch ms, region prefixes under a database
 * whose default collation is not C, a rolled-back batch leaving the log gap-free (also while another
 * connection waits on the log head), StoreUnavailable when the backend is terminated and recovery
 * afterwards, and LISTEN/NOTIFY between two store instances.
 *
 * PG_TEST_URL (default postgres://postgres@127.0.0.1:5432/test) names the server. Unreachable, the
 * tests are skipped locally and fail on CI (CI=true).
 */
import pg from 'pg'
import { randomBytes } from 'node:crypto'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { PG_MIGRATIONS } from '../../server/store/pg-migrations.ts'
import { createPgStore, dropPgSchema, type PgStoreOptions } from '../../server/store/pg-store.ts'
import { StoreUnavailable, type Store } from '../../server/store/store.ts'
import { payload } from './store-contract.ts'

const URL_ = process.env.PG_TEST_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const T0 = Date.parse('2026-11-23T09:00:00+08:00')
const GRID = '430602001001001'

/** Why the server cannot be reached, or null. */
async function unreachable(url: string): Promise<string | null> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
  c.on('error', () => undefined)
  try {
    await c.connect()
    await c.query('SELECT 1')
    return null
  } catch (err) {
    return (err as Error).message || String(err)
  } finally {
    await c.end().catch(() => undefined)
  }
}

const down = await unreachable(URL_)
if (down && process.env.CI !== 'true')
  console.warn(`pg-store tests skipped: PostgreSQL at ${URL_} is unreachable (${down})`)

/** A connection string on another database of the same server. */
const onDatabase = (url: string, db: string): string => {
  const u = new URL(url)
  u.pathname = '/' + db
  return u.toString()
}

/** A plain client for looking at and tampering with the store's tables from outside. */
async function admin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url })
  c.on('error', () => undefined)
  await c.connect()
  try {
    return await fn(c)
  } finally {
    await c.end().catch(() => undefined)
  }
}

const until = async (what: string, ok: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> => {
  const deadline = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

describe.skipIf(down !== null && process.env.CI !== 'true')('the PostgreSQL store', () => {
  beforeAll(() => {
    if (down) throw new Error(`PostgreSQL at ${URL_} is unreachable (${down}): CI needs it`)
  })

  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined)
  })

  /** A fresh schema name, dropped after the test (after its stores are closed). */
  function freshSchema(url = URL_): string {
    const schema = `t_${randomBytes(6).toString('hex')}`
    cleanups.push(() => dropPgSchema(url, schema))
    return schema
  }
  function open(schema: string, opts: Partial<PgStoreOptions> = {}): Store {
    const store = createPgStore({ connectionString: URL_, schema, onError: () => undefined, ...opts })
    cleanups.push(() => store.close())
    return store
  }
  async function freshStore(opts: Partial<PgStoreOptions> = {}): Promise<{ store: Store; schema: string }> {
    const schema = freshSchema(opts.connectionString)
    const store = open(schema, opts)
    await store.migrate()
    return { store, schema }
  }

  describe('migrations', () => {
    it('migrates a fresh schema once, however often and by however many stores at once', async () => {
      const schema = freshSchema()
      const latest = PG_MIGRATIONS.length
      const stores = Array.from({ length: 4 }, () => open(schema))
      // Four processes starting at once on an empty schema: one creates it, the others find it done.
      expect(await Promise.all(stores.map((s) => s.migrate()))).toEqual([latest, latest, latest, latest])
      expect(await stores[0]!.migrate()).toBe(latest)
      await stores[1]!.createEvent(payload(1), T0)
      expect(await stores[2]!.migrate()).toBe(latest)
      expect(await stores[3]!.countEvents()).toBe(1)
      const rows = await admin(URL_, async (c) => {
        await c.query(`SET search_path TO ${schema}`)
        return (await c.query('SELECT version FROM schema_version')).rows
      })
      expect(rows).toEqual([{ version: latest }])
      const tables = await admin(URL_, async (c) => {
        const r = await c.query(
          `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
          [schema],
        )
        return r.rows.map((x: { table_name: string }) => x.table_name)
      })
      expect(tables).toEqual(expect.arrayContaining(['changes', 'events', 'log_head', 'schema_version']))
      // Nothing landed in public.
      const inPublic = await admin(URL_, async (c) => {
        const r = await c.query(
          `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'log_head'`,
        )
        return (r.rows[0] as { n: number }).n
      })
      expect(inPublic).toBe(0)
    })

    it('refuses a schema newer than this build, changing nothing', async () => {
      const { store, schema } = await freshStore()
      await store.createEvent(payload(1), T0)
      const newer = PG_MIGRATIONS.length + 1
      await admin(URL_, (c) => c.query(`UPDATE ${schema}.schema_version SET version = $1`, [newer]))
      const again = open(schema)
      await expect(again.migrate()).rejects.toThrow(
        new RegExp(`${newer}.*${PG_MIGRATIONS.length}.*${newer}.*${PG_MIGRATIONS.length}`, 's'),
      )
      const v = await admin(URL_, (c) => c.query(`SELECT version FROM ${schema}.schema_version`))
      expect(v.rows).toEqual([{ version: newer }])
      expect(await again.countEvents()).toBe(1)
    })
  })

  describe('BIGINT', () => {
    it('round-trips epoch ms past 2^32 and 2^31 seconds as exact JS numbers', async () => {
      const { store } = await freshStore()
      // Far beyond int4 and 2038; still a safe integer (and inside Date's range).
      const far = 8_000_000_000_000_123
      const { event, change } = await store.createEvent(payload(1), far)
      expect(change.at).toBe(far)
      const got = (await store.getEvent(event.id))!
      expect(got.reportedAt).toBe(far)
      expect(typeof got.seq).toBe('number')
      const r = await store.mutateEvent(event.id, far + 1, () => ({
        ok: true,
        action: 'dispatch',
        status: 'dispatched',
        data: { department: '环卫处', deadline: far + 3_600_000 },
      }))
      expect(r.ok && r.event).toMatchObject({ dispatchedAt: far + 1, deadline: far + 3_600_000, seq: 2 })
      expect(await store.listChanges(0, 10)).toEqual([
        change,
        expect.objectContaining({
          seq: 2,
          at: far + 1,
          data: { department: '环卫处', deadline: far + 3_600_000 },
        }),
      ])
      expect(await store.lastSeq()).toBe(2)
      expect(await store.countEvents()).toBe(1)
      expect(await store.reportCountsSince(far)).toEqual(new Map([[GRID, 1]]))
      await store.upsertWorkers([{ id: 'W1', name: '赵六', phone: '13600000000', gridCode: GRID }])
      await store.insertPositions([{ workerId: 'W1', lat: 29.1, lng: 113.1, at: far }], 0)
      await store.insertRounds([
        { workerId: 'W1', gridCode: GRID, startedAt: far - 3_600_000, endedAt: far, pings: 12 },
      ])
      const snap = await store.kpiSnapshot(
        '430602',
        far - 1,
        far + 10,
        { start: far - 7_200_000, end: far + 1 },
        far - 1,
      )
      expect(snap.seq).toBe(2)
      expect(snap.positions).toEqual([{ workerId: 'W1', lat: 29.1, lng: 113.1, at: far }])
      expect(snap.roundsByGrid.get(GRID)).toEqual([
        { workerId: 'W1', startedAt: far - 3_600_000, endedAt: far },
      ])
      expect(snap.onlineByGrid).toEqual(new Map([[GRID, 1]]))
      await store.recordIssuedToken({
        jti: 'j1',
        role: 'officer',
        region: null,
        aud: 'api',
        actions: null,
        issuedAt: far,
        expiresAt: far + 1,
      })
      expect(await store.issuedToken('j1')).toMatchObject({
        issuedAt: far,
        expiresAt: far + 1,
        revoked: false,
      })
    })
  })

  describe('region prefixes', () => {
    const ICU_DB = 'city_brain_icu_test'
    const icuUrl = onDatabase(URL_, ICU_DB)
    beforeAll(async () => {
      if (down) return
      // A database whose default collation is ICU en-US: ':' sorts before the digits there, so a
      // range [region, region || ':') on a column of the default collation misses nearly everything.
      await admin(onDatabase(URL_, 'postgres'), async (c) => {
        const exists = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [ICU_DB])
        if (exists.rowCount) return
        await c
          .query(
            `CREATE DATABASE ${ICU_DB} TEMPLATE template0 ENCODING 'UTF8'
             LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`,
          )
          .catch((err: { code?: string }) => {
            // Created meanwhile by a concurrent run.
            if (err.code !== '42P04') throw err
          })
      })
    })

    const CODES = [
      '4306',
      '43060',
      '430602',
      '430602001',
      '4306020010',
      '430602001001001',
      '430602001001002',
      '430602999999999',
      '4306021',
      '430603001001001',
      '430601999999999',
      '53060200',
      '43060299',
    ]
    const PREFIXES = [
      '4',
      '43',
      '4306',
      '43060',
      '430602',
      '4306020',
      '430602001',
      '4306020010',
      '430603',
      '5',
      '9',
    ]

    it('filters by prefix exactly, on a database whose default collation would get the range wrong', async () => {
      // The database really does order these strings differently from C: the test has teeth.
      const naive = await admin(icuUrl, async (c) => {
        const r = await c.query(
          `SELECT count(*)::int AS n FROM unnest($1::text[]) AS g WHERE g >= '430602' AND g < '430602:'`,
          [CODES],
        )
        return (r.rows[0] as { n: number }).n
      })
      const truth = CODES.filter((g) => g.startsWith('430602')).length
      expect(naive, 'the default collation of the test database orders like C').not.toBe(truth)

      const { store } = await freshStore({ connectionString: icuUrl })
      for (const [i, gridCode] of CODES.entries()) await store.createEvent(payload(i, { gridCode }), T0 + i)
      await store.upsertWorkers(
        CODES.map((gridCode, i) => ({
          id: `W${String(i).padStart(2, '0')}`,
          name: 'w',
          phone: '1',
          gridCode,
        })),
      )
      await store.insertPositions(
        CODES.map((_, i) => ({ workerId: `W${String(i).padStart(2, '0')}`, lat: 29, lng: 113, at: T0 })),
        0,
      )
      const day = { start: T0 - 3_600_000, end: T0 + 3_600_000 }
      for (const prefix of PREFIXES) {
        const want = CODES.filter((g) => g.startsWith(prefix)).sort()
        const listed = await store.listEvents({ region: prefix, limit: 100 })
        expect(listed.map((e) => e.gridCode).sort(), `listEvents ${prefix}`).toEqual(want)
        const snap = await store.kpiSnapshot(prefix, day.start, day.end, day, T0 - 1)
        expect(snap.events.map((e) => e.gridCode).sort(), `kpiSnapshot ${prefix}`).toEqual(want)
        expect([...snap.onlineByGrid.keys()].sort(), `online ${prefix}`).toEqual(want)
        const asOf = await store.kpiSnapshot(prefix, day.start, day.end, day, T0 - 1, T0 + 100)
        expect(asOf.events.map((e) => e.gridCode).sort(), `kpiSnapshot as of ${prefix}`).toEqual(want)
        const activity = await store.activitySnapshot(prefix, day, day)
        expect(activity.reportedAt.length, `activitySnapshot ${prefix}`).toBe(want.length)
        expect(activity.reportedToday, `reportedToday ${prefix}`).toEqual(
          want.length ? [{ category: 'CG0101', count: want.length }] : [],
        )
      }
      // Ids and jtis order by code point, as in SQLite, not by the database's collation.
      await store.recordIssuedToken({
        jti: 'b',
        role: 'officer',
        region: null,
        aud: 'api',
        actions: null,
        issuedAt: 1,
        expiresAt: 9e12,
      })
      await store.recordIssuedToken({
        jti: 'B',
        role: 'officer',
        region: null,
        aud: 'api',
        actions: null,
        issuedAt: 1,
        expiresAt: 9e12,
      })
      await store.recordIssuedToken({
        jti: '_a',
        role: 'officer',
        region: null,
        aud: 'api',
        actions: null,
        issuedAt: 1,
        expiresAt: 9e12,
      })
      expect((await store.issuedTokens(0)).map((t) => t.jti)).toEqual(['B', '_a', 'b'])
    })
  })

  describe('the log head', () => {
    it('leaves no gap when a batch rolls back: the next write takes the next seq', async () => {
      const { store } = await freshStore()
      const first = await store.createEvent(payload(1), T0)
      const undone: string[] = []
      await expect(
        store.batch(async () => {
          store.afterRollback(() => undone.push('batch'))
          const a = await store.createEvent(payload(2), T0, 'k-rolled-back')
          await store.mutateEvent(a.event.id, T0 + 1, () => ({
            ok: true,
            action: 'accept',
            status: 'accepted',
          }))
          await store.createEvent(payload(3), T0)
          expect(await store.lastSeq()).toBe(4) // visible inside the batch
          throw new Error('boom')
        }),
      ).rejects.toThrow('boom')
      expect(undone).toEqual(['batch'])
      expect(await store.lastSeq()).toBe(1)
      expect(await store.countEvents()).toBe(1)
      const next = await store.createEvent(payload(2), T0, 'k-rolled-back')
      expect(next.created).toBe(true)
      expect(next.change.seq).toBe(2)
      expect((await store.listChanges(0, 10)).map((c) => c.seq)).toEqual([1, 2])
      expect(first.change.seq).toBe(1)
    })

    it('a writer waiting on the head while a batch holds it takes the seq the rolled-back batch had', async () => {
      const { store, schema } = await freshStore()
      const other = open(schema)
      await store.createEvent(payload(1), T0)
      let release!: () => void
      const gate = new Promise<void>((r) => (release = r))
      let inside!: () => void
      const holding = new Promise<void>((r) => (inside = r))
      const batch = store.batch(async () => {
        expect((await store.createEvent(payload(2), T0)).change.seq).toBe(2)
        inside()
        await gate
        throw new Error('rolled back')
      })
      await holding
      // Another connection (another process, as far as PostgreSQL knows) appends meanwhile: it waits.
      let done = false
      const outside = other.createEvent(payload(3), T0).finally(() => (done = true))
      await new Promise((r) => setTimeout(r, 200))
      expect(done, 'the other writer did not wait for the log head').toBe(false)
      // Its wait is on the head row, not on some global lock: a write that appends nothing goes through.
      await other.setMeta('k', 'v')
      release()
      await expect(batch).rejects.toThrow('rolled back')
      expect((await outside).change.seq).toBe(2)
      expect((await store.createEvent(payload(4), T0)).change.seq).toBe(3)
      expect((await store.listChanges(0, 10)).map((c) => c.seq)).toEqual([1, 2, 3])
      expect(await other.lastSeq()).toBe(3)
    })

    it('a report under one idempotency key from two stores at once creates one event', async () => {
      const { store, schema } = await freshStore()
      const other = open(schema)
      const results = await Promise.all([
        ...Array.from({ length: 4 }, () => store.createEvent(payload(1), T0, 'same-key')),
        ...Array.from({ length: 4 }, () => other.createEvent(payload(1), T0, 'same-key')),
      ])
      expect(results.filter((r) => r.created)).toHaveLength(1)
      expect(new Set(results.map((r) => r.event.id)).size).toBe(1)
      expect(await store.lastSeq()).toBe(1)
    })
  })

  describe('meta', () => {
    it('initMeta from several stores at once keeps the first value written, for all of them', async () => {
      const { store, schema } = await freshStore()
      const others = [open(schema), open(schema), open(schema)]
      const got = await Promise.all(
        [store, ...others].flatMap((s, i) => [
          s.initMeta('secret', `v${i}a`),
          s.initMeta('secret', `v${i}b`),
        ]),
      )
      expect(new Set(got).size).toBe(1)
      expect(await store.getMeta('secret')).toBe(got[0])
      expect(await others[0]!.initMeta('secret', 'later')).toBe(got[0])
    })
  })

  describe('a terminated backend', () => {
    it('fails the operation with StoreUnavailable, reports it, and recovers on new connections', async () => {
      const app = `cb-test-${randomBytes(4).toString('hex')}`
      const errors: unknown[] = []
      const { store } = await freshStore({ applicationName: app, onError: (err) => errors.push(err) })
      await store.createEvent(payload(1), T0)
      const terminate = () =>
        admin(URL_, async (c) => {
          const r = await c.query(
            'SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1',
            [app],
          )
          return r.rowCount ?? 0
        })
      const undone: string[] = []
      const err = await store
        .batch(async () => {
          store.afterRollback(() => undone.push('batch'))
          await store.createEvent(payload(2), T0)
          expect(await terminate()).toBeGreaterThan(0)
          await new Promise((r) => setTimeout(r, 100))
          await store.createEvent(payload(3), T0)
        })
        .catch((e: unknown) => e)
      expect(err).toBeInstanceOf(StoreUnavailable)
      expect(err).toMatchObject({ reason: 'io', op: 'createEvent' })
      expect(undone).toEqual(['batch'])
      expect(store.health()).toMatchObject({ ok: false, code: (err as StoreUnavailable).code })
      expect(errors.filter((e) => e instanceof StoreUnavailable)).toHaveLength(1)

      // Idle pooled connections terminated too: reads and writes go on over new ones.
      await store.lastSeq()
      await terminate()
      await new Promise((r) => setTimeout(r, 100))
      expect(await store.lastSeq()).toBe(1)
      await terminate()
      const next = await store.createEvent(payload(4), T0)
      expect(next.change.seq).toBe(2)
      expect(store.health()).toEqual({ ok: true })
      expect((await store.listChanges(0, 10)).map((c) => c.seq)).toEqual([1, 2])
    })

    it('fails with StoreUnavailable io when the server refuses connections, without crashing', async () => {
      const store = createPgStore({
        connectionString: 'postgres://postgres@127.0.0.1:1/test',
        schema: 'nowhere',
        onError: () => undefined,
      })
      cleanups.push(() => store.close())
      const err = await store.lastSeq().catch((e: unknown) => e)
      expect(err).toBeInstanceOf(StoreUnavailable)
      expect(err).toMatchObject({ reason: 'io', code: 'ECONNREFUSED' })
      expect(store.health()).toMatchObject({ ok: false, code: 'ECONNREFUSED' })
      await expect(store.createEvent(payload(1), T0)).rejects.toBeInstanceOf(StoreUnavailable)
    })
  })

  describe('onAppended', () => {
    it('hears commits made by a second store instance on the same schema, and again after its LISTEN connection is lost', async () => {
      const app = `cb-listen-${randomBytes(4).toString('hex')}`
      const { store, schema } = await freshStore({ applicationName: app })
      const other = open(schema)
      const elsewhere = open(freshSchema())
      await elsewhere.migrate()
      let heard = 0
      store.onAppended(() => heard++)
      store.onAppended(() => {
        throw new Error('a listener bug is not the writer’s problem')
      })
      const listening = () =>
        admin(URL_, async (c) => {
          const r = await c.query(
            `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN %'`,
            [`${app}/listen`],
          )
          return r.rows.map((x: { pid: number }) => x.pid)
        })
      await until('the LISTEN connection', async () => (await listening()).length === 1)

      // Another schema's commits are not this store's.
      await elsewhere.createEvent(payload(0), T0)
      await new Promise((r) => setTimeout(r, 200))
      expect(heard).toBe(0)

      await other.createEvent(payload(1), T0)
      await until('the notification', () => heard >= 1)
      // A rolled-back batch notifies nobody.
      const before = heard
      await expect(
        other.batch(async () => {
          await other.createEvent(payload(2), T0)
          throw new Error('no')
        }),
      ).rejects.toThrow('no')
      await new Promise((r) => setTimeout(r, 200))
      expect(heard).toBe(before)
      // This store's own commits are heard at once (locally) and via NOTIFY.
      await store.createEvent(payload(3), T0)
      expect(heard).toBeGreaterThan(before)

      // The LISTEN connection is terminated: the store reconnects and hears the next commit.
      const [pid] = await listening()
      await admin(URL_, (c) => c.query('SELECT pg_terminate_backend($1)', [pid]))
      await until('a new LISTEN connection', async () => {
        const pids = await listening()
        return pids.length === 1 && pids[0] !== pid
      })
      const afterReconnect = heard
      await other.createEvent(payload(4), T0)
      await until('the notification after reconnecting', () => heard > afterReconnect)
      expect(await store.lastSeq()).toBe(3)
    })
  })
})
