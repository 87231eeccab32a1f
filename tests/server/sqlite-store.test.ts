/**
 * What only the SQLite store does, on a temporary file: the migrations of files left at specific
 * SQLite schema versions (1, 5, 7 → 8) and of a file newer than the build, reopening a file, how the
 * file stores actors, and the expiry of idempotency keys on the injected clock (`now`). Where the
 * file itself is the evidence, it is read beside the store with better-sqlite3 (`peek`).
 *
 * The engine-agnostic behaviour of the store port (the change log, mutations, batches, idempotency
 * keys, positions, listing, snapshots, …) is asserted once, for every engine including SQLite, by the
 * contract suite `store-contract.ts` (run by `store-contract.test.ts`).
 */
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Actor } from '../../shared/types.ts'
import { SQLITE_MIGRATIONS } from '../../server/store/sqlite-migrations.ts'
import { createSqliteStore } from '../../server/store/sqlite-store.ts'
import { IDEMPOTENCY_TTL_MS, type Store } from '../../server/store/store.ts'
import { tempDir } from './helpers.ts'
import { payload } from './store-contract.ts'

const HOUR = 3_600_000
const T0 = Date.parse('2026-11-23T09:00:00+08:00')
const GRID = '430602001001001'

const dir = tempDir('store')
afterAll(() => dir.remove())
let fileNo = 0
let file: string
let store: Store

beforeEach(async () => {
  file = join(dir.path, `store-${++fileNo}.sqlite`)
  store = createSqliteStore(file)
  await store.migrate()
})
afterEach(async () => {
  await store.close()
})

/** Open the same file read-only beside the store, to look at what the port does not show. */
function peek<T>(sql: string, ...args: unknown[]): T {
  const db = new Database(file, { readonly: true })
  try {
    return db.prepare(sql).get(...args) as T
  } finally {
    db.close()
  }
}

/**
 * Close the test's store and make a new file left at schema `version` by the first migrations, open
 * for writing old rows into; `file` is then that file.
 */
async function oldFile(version: number): Promise<Database.Database> {
  await store.close()
  file = join(dir.path, `store-${++fileNo}.sqlite`)
  const old = new Database(file)
  for (const step of SQLITE_MIGRATIONS.slice(0, version)) old.exec(step)
  old.exec(
    `CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (${version})`,
  )
  return old
}

describe('migrations', () => {
  it('migrates a fresh file to the latest SQLite version; reopened, the file keeps it, its data and its ids', async () => {
    expect(SQLITE_MIGRATIONS.length).toBeGreaterThan(0)
    expect(await store.migrate()).toBe(SQLITE_MIGRATIONS.length)
    // Event ids are the SQLite store's own: E and the row number, eight digits.
    expect((await store.createEvent(payload(1), T0)).event.id).toBe('E00000001')
    await store.close()

    store = createSqliteStore(file)
    expect(await store.migrate()).toBe(SQLITE_MIGRATIONS.length)
    expect(await store.countEvents()).toBe(1)
    expect(await store.lastSeq()).toBe(1)
    expect(
      peek<{ n: number; v: number }>('SELECT COUNT(*) AS n, MAX(version) AS v FROM schema_version'),
    ).toEqual({
      n: 1,
      v: SQLITE_MIGRATIONS.length,
    })
    // The numbering goes on after the reopen.
    const next = await store.createEvent(payload(2), T0)
    expect([next.event.id, next.change.seq]).toEqual(['E00000002', 2])
  })

  it('migrates a file left at version 1 forward, keeping its data', async () => {
    const old = await oldFile(1)
    old.prepare("INSERT INTO meta (key, value) VALUES ('kept', 'yes')").run()
    old.close()
    store = createSqliteStore(file)
    expect(await store.migrate()).toBe(SQLITE_MIGRATIONS.length)
    expect(await store.getMeta('kept')).toBe('yes')
    expect((await store.createEvent(payload(1), T0)).change.seq).toBe(1)
    expect(peek<{ v: number }>('SELECT version AS v FROM schema_version').v).toBe(SQLITE_MIGRATIONS.length)
  })

  it('refuses a store whose schema is newer than this build, changing nothing', async () => {
    await store.close()
    const newer = SQLITE_MIGRATIONS.length + 1
    const db = new Database(file)
    db.prepare('UPDATE schema_version SET version = ?').run(newer)
    db.close()
    store = createSqliteStore(file)
    await expect(store.migrate()).rejects.toThrow(
      new RegExp(`${newer}.*${SQLITE_MIGRATIONS.length}.*${newer}.*${SQLITE_MIGRATIONS.length}`, 's'),
    )
    expect(peek<{ v: number }>('SELECT version AS v FROM schema_version').v).toBe(newer)
  })

  it('keeps the idempotency keys of a file left at version 5, each matching for 24 h from the upgrade', async () => {
    const old = await oldFile(5)
    const fingerprint = JSON.stringify(payload(1))
    old
      .prepare(
        `INSERT INTO events (id, seq, status, category, description, lat, lng, grid_code, source, reported_at, updated_at)
         VALUES ('E00000001', 1, 'reported', 'CG0101', '事件 1', 29.37, 113.13, ?, 'patrol', ?, ?)`,
      )
      .run(GRID, T0, T0)
    old
      .prepare(
        `INSERT INTO changes (seq, at, event_id, grid_code, action, status, payload)
         VALUES (1, ?, 'E00000001', ?, 'report', 'reported', ?)`,
      )
      .run(T0, GRID, fingerprint)
    old
      .prepare(`INSERT INTO idempotency (key, event_id, fingerprint) VALUES ('old-key', 'E00000001', ?)`)
      .run(fingerprint)
    old.close()
    const upgradedAt = Date.now()
    let now = upgradedAt
    store = createSqliteStore(file, { now: () => now })
    await store.migrate()
    expect(await store.createEvent(payload(1), T0, 'old-key')).toMatchObject({
      created: false,
      event: { id: 'E00000001' },
    })
    now = upgradedAt + IDEMPOTENCY_TTL_MS - 60_000
    expect(await store.pruneIdempotencyKeys()).toBe(0)
    now = upgradedAt + IDEMPOTENCY_TTL_MS + 60_000
    expect(await store.pruneIdempotencyKeys()).toBe(1)
  })

  it('migration 8 backfills late_handled from the log of a file left at version 7; old changes have no actor', async () => {
    const old = await oldFile(7)
    // E1: handled late, reworked, handled on time since. E2: extended, then handled before the new
    // deadline (late against the first). E3: handled on time, reworked with no new deadline, handled late.
    const ev = old.prepare(
      `INSERT INTO events (id, seq, status, category, description, lat, lng, grid_code, source, reported_at, updated_at)
       VALUES (?, 0, 'handled', 'CG0101', '', 29.37, 113.13, ?, 'patrol', ?, ?)`,
    )
    const ch = old.prepare(
      'INSERT INTO changes (seq, at, event_id, grid_code, action, status, data) VALUES (?, ?, ?, ?, ?, ?, ?)',
    )
    let seq = 0
    const log = (id: string, at: number, action: string, status: string, data?: object) =>
      ch.run(++seq, at, id, GRID, action, status, data ? JSON.stringify(data) : null)
    for (const id of ['E1', 'E2', 'E3']) {
      ev.run(id, GRID, T0, T0)
      log(id, T0, 'report', 'reported')
      log(id, T0 + 1, 'dispatch', 'dispatched', { department: '环卫处', deadline: T0 + HOUR })
    }
    log('E1', T0 + 2 * HOUR, 'handle', 'handled')
    log('E1', T0 + 3 * HOUR, 'verify', 'dispatched', { passed: false, deadline: T0 + 10 * HOUR })
    log('E1', T0 + 4 * HOUR, 'handle', 'handled')
    log('E2', T0 + HOUR - 1, 'extend', 'dispatched', { deadline: T0 + 5 * HOUR })
    log('E2', T0 + 4 * HOUR, 'handle', 'handled')
    log('E3', T0 + HOUR / 2, 'handle', 'handled')
    log('E3', T0 + HOUR / 2 + 1, 'verify', 'dispatched', { passed: false })
    log('E3', T0 + 2 * HOUR, 'handle', 'handled')
    old.close()
    store = createSqliteStore(file)
    expect(await store.migrate()).toBe(SQLITE_MIGRATIONS.length)
    const got = await store.eventsByIds(['E1', 'E2', 'E3'])
    expect(['E1', 'E2', 'E3'].map((id) => got.get(id)!.lateHandled)).toEqual([true, false, true])
    expect((await store.listChanges(0, 100)).every((c) => c.actor === null)).toBe(true)
  })
})

describe('the file format', () => {
  it('stores the actor of a change as its JSON in changes.actor, and no actor as NULL', async () => {
    const officer: Actor = { kind: 'token', id: 'jti-officer-1', role: 'officer' }
    const sim: Actor = { kind: 'system', id: 'simulator', source: 'hotline' }
    const { event } = await store.createEvent(payload(1), T0, undefined, sim)
    await store.mutateEvent(
      event.id,
      T0 + HOUR,
      () => ({ ok: true, action: 'accept', status: 'accepted' }),
      officer,
    )
    await store.mutateEvent(event.id, T0 + 2 * HOUR, () => ({ ok: true, action: 'file', status: 'filed' }))
    const actor = (seq: number) =>
      peek<{ actor: string | null }>('SELECT actor FROM changes WHERE seq = ?', seq).actor
    expect([actor(1), actor(2), actor(3)]).toEqual([JSON.stringify(sim), JSON.stringify(officer), null])
  })
})

describe('idempotency keys expire', () => {
  it('forgets a key 24 h after its first use: a reuse then creates a new event, and pruning deletes the key', async () => {
    await store.close()
    let now = T0
    store = createSqliteStore(file, { now: () => now })
    await store.migrate()
    const first = await store.createEvent(payload(1), T0, 'k-exp')
    now = T0 + IDEMPOTENCY_TTL_MS - 1
    expect((await store.createEvent(payload(1), now, 'k-exp')).created).toBe(false)
    expect(await store.pruneIdempotencyKeys()).toBe(0)
    now = T0 + IDEMPOTENCY_TTL_MS
    // Expired: a new event, even with another payload (no conflict with a forgotten use).
    const second = await store.createEvent(payload(2), now, 'k-exp')
    expect(second.created).toBe(true)
    expect(second.event.id).not.toBe(first.event.id)
    // The key now stands for the second event, for 24 h from its own use.
    now += IDEMPOTENCY_TTL_MS - 1
    expect((await store.createEvent(payload(2), now, 'k-exp')).event.id).toBe(second.event.id)
    await store.createEvent(payload(3), now, 'k-other')
    now += 1
    expect(await store.pruneIdempotencyKeys()).toBe(1)
    expect(peek<{ n: number }>('SELECT COUNT(*) AS n FROM idempotency').n).toBe(1)
    expect((await store.createEvent(payload(3), now, 'k-other')).created).toBe(false)
    expect(await store.countEvents()).toBe(3)
  })
})
