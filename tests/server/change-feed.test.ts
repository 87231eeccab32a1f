/**
 * The change feed (server/store/change-feed.ts) on a real SQLite store: every process follows the
 * log through it, so it must deliver every change once, in seq order, whether or not a hint arrives,
 * and come back by itself after the store failed.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { ReportPayload } from '../../shared/lifecycle.ts'
import { createChangeFeed, type ChangeFeed, type FeedItem } from '../../server/store/change-feed.ts'
import { createSqliteStore } from '../../server/store/sqlite-store.ts'
import type { Store } from '../../server/store/store.ts'
import { until } from './live-helpers.ts'

const T0 = Date.parse('2026-11-23T09:00:00+08:00')
const payload = (n: number): ReportPayload => ({
  category: 'CG0101',
  description: `事件 ${n}`,
  lat: 29.37,
  lng: 113.13,
  gridCode: '430602001001001',
  source: 'patrol',
})

const opened: { store: Store; feed: ChangeFeed }[] = []
afterEach(async () => {
  for (const { store, feed } of opened.splice(0)) {
    await feed.stop()
    await store.close()
  }
})

async function setup(
  wrap: (s: Store) => Store = (s) => s,
  opts: Parameters<typeof createChangeFeed>[1] = {},
): Promise<{ store: Store; feed: ChangeFeed; heard: FeedItem[] }> {
  const store = createSqliteStore(':memory:')
  await store.migrate()
  const feed = createChangeFeed(wrap(store), opts)
  opened.push({ store, feed })
  const heard: FeedItem[] = []
  feed.subscribe((items) => heard.push(...items))
  return { store, feed, heard }
}

describe('the change feed', () => {
  it('delivers every change after its start position once, in seq order, across pages', async () => {
    const { store, feed, heard } = await setup(undefined, { pageSize: 7 })
    for (let i = 0; i < 5; i++) await store.createEvent(payload(i), T0)
    feed.start(3)
    for (let i = 5; i < 40; i++) await store.createEvent(payload(i), T0)
    await feed.caughtUp()
    expect(heard.map((x) => x.change.seq)).toEqual(Array.from({ length: 37 }, (_, i) => i + 4))
    expect(feed.position).toBe(40)
    // Each change comes with its event.
    for (const { change, event } of heard) expect(event.id).toBe(change.eventId)
  })

  it('follows by polling when no hint ever comes (a lost NOTIFY connection)', async () => {
    const deaf = (s: Store): Store => Object.assign(Object.create(s) as Store, { onAppended: () => () => {} })
    const { store, feed, heard } = await setup(deaf, { pollMs: 30 })
    feed.start(0)
    await store.createEvent(payload(1), T0)
    await store.createEvent(payload(2), T0)
    await until(() => heard.length === 2, 'the poll to find both changes', 2000, 10)
    expect(heard.map((x) => x.change.seq)).toEqual([1, 2])
  })

  it('reports a failing store once per run of failures and resumes where it stopped', async () => {
    const errors: unknown[] = []
    let failing = false
    const flaky = (s: Store): Store =>
      Object.assign(Object.create(s) as Store, {
        listChanges: (after: number, limit: number) =>
          failing ? Promise.reject(new Error('disk gone')) : s.listChanges(after, limit),
      })
    const { store, feed, heard } = await setup(flaky, { pollMs: 20, onError: (e) => errors.push(e) })
    feed.start(0)
    await store.createEvent(payload(1), T0)
    await feed.caughtUp()
    failing = true
    await store.createEvent(payload(2), T0)
    await store.createEvent(payload(3), T0)
    await new Promise((r) => setTimeout(r, 150))
    expect(errors).toHaveLength(1)
    expect(heard).toHaveLength(1)
    failing = false
    await feed.caughtUp()
    expect(heard.map((x) => x.change.seq)).toEqual([1, 2, 3])
  })

  it('keeps delivering to the other listeners when one throws', async () => {
    const errors: unknown[] = []
    const { store, feed, heard } = await setup(undefined, { onError: (e) => errors.push(e) })
    feed.subscribe(() => {
      throw new Error('a listener bug')
    })
    feed.start(0)
    await store.createEvent(payload(1), T0)
    await store.createEvent(payload(2), T0)
    await feed.caughtUp()
    expect(heard.map((x) => x.change.seq)).toEqual([1, 2])
    expect(errors.length).toBeGreaterThan(0)
  })

  it('hears nothing of a batch that rolls back', async () => {
    const { store, feed, heard } = await setup()
    feed.start(0)
    await expect(
      store.batch(async () => {
        await store.createEvent(payload(1), T0)
        throw new Error('undo')
      }),
    ).rejects.toThrow('undo')
    await store.createEvent(payload(2), T0)
    await feed.caughtUp()
    expect(heard.map((x) => [x.change.seq, x.event.description])).toEqual([[1, '事件 2']])
  })
})
