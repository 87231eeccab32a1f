/**
 * Group commit of pings (server/domain/patrol-service.ts, `ingest(…, { group: true })`): the
 * workers' app sends each ping in its own request, and a durable commit (SQLite synchronous=FULL,
 * PostgreSQL's WAL flush) per request caps a process at a few hundred pings a second — the
 * fan-out benchmark found 46 % of the server's main thread in COMMIT at 606 pings/s. Requests that
 * arrive while a commit is under way share the next one. Each caller is answered only once the
 * transaction holding its pings has committed, and if that transaction fails, every caller in it
 * gets the error and none of its pings is stored.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createPatrolService } from '../../server/domain/patrol-service.ts'
import { createSqliteStore } from '../../server/store/sqlite-store.ts'
import { StoreUnavailable, type Store } from '../../server/store/store.ts'
import type { Position } from '../../shared/types.ts'
import { city } from './cluster-helpers.ts'

const NOW = Date.parse('2026-11-25T09:00:00+08:00')
const stores: Store[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

/** A real SQLite store whose `batch` calls are counted and can be made to fail. */
async function setup() {
  const store = createSqliteStore(':memory:')
  await store.migrate()
  await store.upsertWorkers(city.workers())
  stores.push(store)
  const seen = { batches: 0, failNext: false }
  const counted: Store = Object.create(store) as Store
  counted.batch = async (fn) => {
    seen.batches++
    return store.batch(async () => {
      const r = await fn()
      if (seen.failNext) {
        seen.failNext = false
        throw new StoreUnavailable('batch', 'SQLITE_IOERR', 'io')
      }
      return r
    })
  }
  const patrol = createPatrolService({
    store: counted,
    clock: { now: () => NOW },
    city,
    retentionDays: 7,
  })
  const heard: Position[] = []
  patrol.onIngest((ps) => heard.push(...ps))
  /** Raw pings stored (counted by deleting them all, at the end of a test). */
  const stored = () => store.prunePositions(Number.MAX_SAFE_INTEGER)
  return { patrol, seen, heard, stored }
}

const workers = city.workers()
const ping = (n: number): Position => {
  const w = workers[n % workers.length]!
  const [lng, lat] = city.region(w.gridCode)!.centroid
  return { workerId: w.id, at: NOW - 60_000 + n, lat, lng }
}

describe('pings from concurrent requests share a commit', () => {
  it('200 requests of one ping each commit in far fewer transactions, every ping stored once', async () => {
    const { patrol, seen, heard, stored } = await setup()
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, n) => patrol.ingest([ping(n)], { group: true })),
    )
    expect(results.every((r) => r.accepted === 1)).toBe(true)
    expect(seen.batches).toBeGreaterThan(0)
    expect(seen.batches).toBeLessThanOrEqual(10)
    expect(heard).toHaveLength(200)
    expect(await stored()).toBe(200)
  })

  it('a caller is answered only after its pings have committed', async () => {
    const { patrol, heard } = await setup()
    const r = await patrol.ingest([ping(1), ping(2)], { group: true })
    // The commit listeners run right after COMMIT: by the time the caller hears back, they have.
    expect(r.accepted).toBe(2)
    expect(heard).toHaveLength(2)
  })

  it('a failed commit fails every request in it and stores none of their pings; the next commits', async () => {
    const { patrol, seen, heard, stored } = await setup()
    seen.failNext = true
    const first = await Promise.allSettled(
      Array.from({ length: 20 }, (_, n) => patrol.ingest([ping(n)], { group: true })),
    )
    // Each request is in the failed transaction or in a later one that committed; none is half-done.
    const failed = first.filter((r) => r.status === 'rejected')
    expect(failed.length).toBeGreaterThan(0)
    for (const f of failed) expect((f as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailable)
    const ok = first.length - failed.length
    const again = await patrol.ingest([ping(100)], { group: true })
    expect(again.accepted).toBe(1)
    expect(heard).toHaveLength(ok + 1)
    expect(await stored()).toBe(ok + 1)
  })

  it('refused and unknown pings are answered per request, not mixed with the others of the commit', async () => {
    const { patrol } = await setup()
    const [a, b] = await Promise.all([
      patrol.ingest([ping(1), { ...ping(2), at: NOW + 10 * 60_000 }], { group: true }),
      patrol.ingest([{ ...ping(3), workerId: 'nobody' }, ping(4)], { group: true }),
    ])
    expect(a).toMatchObject({ accepted: 1, unknownWorkers: [] })
    expect(a.refused.map((x) => x.index)).toEqual([1])
    expect(b).toMatchObject({ accepted: 1, unknownWorkers: ['nobody'], refused: [] })
  })
})
