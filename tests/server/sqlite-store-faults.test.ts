/**
 * The SQLite store under real faults (no mocks): another connection holding the write lock past the
 * busy timeout, listeners that throw after COMMIT, and files readable only by their owner.
 */
import Database from 'better-sqlite3'
import { chmodSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { ReportPayload } from '../../shared/lifecycle.ts'
import {
  createSqliteStore,
  type SqliteStore,
  type SqliteStoreOptions,
} from '../../server/store/sqlite-store.ts'
import { StoreUnavailable, type Store } from '../../server/store/store.ts'
import { tempDir } from './helpers.ts'

const T0 = Date.parse('2026-11-23T09:00:00+08:00')
const dir = tempDir('store-faults')
afterAll(() => dir.remove())
let fileNo = 0
const open: Store[] = []
afterEach(async () => {
  for (const s of open.splice(0)) await s.close()
})

async function freshStore(opts: SqliteStoreOptions = {}): Promise<{ store: SqliteStore; file: string }> {
  const file = join(dir.path, `faults-${++fileNo}.sqlite`)
  const store = createSqliteStore(file, opts)
  open.push(store)
  await store.migrate()
  return { store, file }
}

const payload = (n: number): ReportPayload => ({
  category: 'CG0101',
  description: `事件 ${n}`,
  lat: 29.37,
  lng: 113.13,
  gridCode: '430602001001001',
  source: 'patrol',
})

/** Another connection on the same file that holds the write lock until `release()`. */
function holdWriteLock(file: string): { release: () => void } {
  const other = new Database(file)
  other.pragma('busy_timeout = 10000')
  other.exec('BEGIN IMMEDIATE')
  return {
    release: () => {
      other.exec('ROLLBACK')
      other.close()
    },
  }
}

describe('a write lock held by another connection', () => {
  it('fails a write after the busy timeout with StoreUnavailable, writing nothing, with the event loop free meanwhile', async () => {
    const reported: [string, unknown][] = []
    const { store, file } = await freshStore({
      busyTimeoutMs: 300,
      onError: (op, err) => reported.push([op, err]),
    })
    await store.createEvent(payload(1), T0)
    const lock = holdWriteLock(file)
    let ticks = 0
    const timer = setInterval(() => ticks++, 10)
    try {
      const err = await store.createEvent(payload(2), T0, 'key-2').catch((e: unknown) => e)
      expect(err).toBeInstanceOf(StoreUnavailable)
      expect(err).toMatchObject({ code: 'SQLITE_BUSY', reason: 'busy', op: 'createEvent' })
      // better-sqlite3 is synchronous: a busy handler inside SQLite would freeze the whole server.
      expect(ticks, 'timers did not run while the write waited for the lock').toBeGreaterThan(5)
      expect(store.health()).toMatchObject({ ok: false, code: 'SQLITE_BUSY' })
      // Reads do not wait for another connection's write lock (WAL).
      expect(await store.lastSeq()).toBe(1)
      await expect(store.batch(() => store.setMeta('k', 'v'))).rejects.toBeInstanceOf(StoreUnavailable)
      expect(reported.map(([op, e]) => [op, (e as StoreUnavailable).code])).toEqual([
        ['createEvent', 'SQLITE_BUSY'],
        ['batch', 'SQLITE_BUSY'],
      ])
    } finally {
      clearInterval(timer)
      lock.release()
    }
    const next = await store.createEvent(payload(2), T0, 'key-2')
    expect(next.created).toBe(true)
    expect(next.change.seq).toBe(2)
    expect(await store.getMeta('k')).toBeNull()
    expect(store.health()).toEqual({ ok: true })
  })

  it('waits for a lock released within the busy timeout and then writes', async () => {
    const { store, file } = await freshStore({ busyTimeoutMs: 5000 })
    const lock = holdWriteLock(file)
    const write = store.createEvent(payload(1), T0)
    setTimeout(() => lock.release(), 200)
    expect((await write).change.seq).toBe(1)
  })
})

describe('listeners after COMMIT', () => {
  it('a throwing listener neither fails the committed write nor keeps the change from the others', async () => {
    const reported: [string, string][] = []
    const { store } = await freshStore({ onError: (op, err) => reported.push([op, (err as Error).message]) })
    store.onCommitted(() => {
      throw new Error('listener bug')
    })
    const heard: number[] = []
    store.onCommitted((c) => heard.push(c.seq))
    const first = await store.createEvent(payload(1), T0)
    expect(first.created).toBe(true)
    const inBatch = await store.batch(async () => {
      store.afterCommit(() => {
        throw new Error('deferred bug')
      })
      return (await store.createEvent(payload(2), T0)).change.seq
    })
    expect(inBatch).toBe(2)
    expect(heard).toEqual([1, 2])
    expect(reported).toEqual([
      ['listener', 'listener bug'],
      ['listener', 'listener bug'],
      ['afterCommit', 'deferred bug'],
    ])
    expect(await store.lastSeq()).toBe(2)
  })
})

describe('file permissions', () => {
  it('keeps the database, its WAL and shared memory readable by the owner only, fixing an existing file', async () => {
    const file = join(dir.path, `perm-${++fileNo}.sqlite`)
    writeFileSync(file, '')
    chmodSync(file, 0o644)
    const store = createSqliteStore(file)
    open.push(store)
    await store.migrate()
    await store.createEvent(payload(1), T0)
    for (const f of [file, `${file}-wal`, `${file}-shm`]) expect(statSync(f).mode & 0o777, f).toBe(0o600)
  })
})
