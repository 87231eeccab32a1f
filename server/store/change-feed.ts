/**
 * The change feed: every process follows the durable log and nothing else. It reads `listChanges`
 * after its position, in pages, whenever the store hints that something was appended (SQLite: this
 * process's own commit; PostgreSQL: LISTEN/NOTIFY from any process) and on a short poll besides (a
 * hint can be lost with its connection). The log is gap-free and becomes visible in `seq` order
 * (store.ts), so reading strictly after the position never skips a change.
 *
 * Each change is delivered with the event's state as the store holds it when the page is read (as
 * replay does): when several changes of one event arrive in one page, each carries the latest state.
 * Delivery is synchronous per page and in `seq` order; `position` is the last `seq` delivered.
 */
import type { Change, GridEvent } from '../../shared/types.ts'
import type { Store } from './store.ts'

export interface FeedItem {
  change: Change
  event: GridEvent
}

export type FeedListener = (items: FeedItem[]) => void

export interface ChangeFeed {
  /** The last seq delivered to the listeners (everything up to it has been). */
  readonly position: number
  /** Start following after `afterSeq` (the listeners hear every later change). */
  start(afterSeq: number): void
  subscribe(listener: FeedListener): () => void
  /** Resolves once every change committed before the call has been delivered (or the feed stopped). */
  caughtUp(): Promise<void>
  stop(): Promise<void>
}

export function createChangeFeed(
  store: Pick<Store, 'listChanges' | 'eventsByIds' | 'lastSeq' | 'onAppended'>,
  opts: { pollMs?: number; pageSize?: number; onError?: (err: unknown) => void } = {},
): ChangeFeed {
  const pollMs = opts.pollMs ?? 1000
  const pageSize = opts.pageSize ?? 500
  const listeners = new Set<FeedListener>()
  let position = 0
  let running = false
  let stopped = false
  let dirty = false
  let pulling: Promise<void> | null = null
  let timer: NodeJS.Timeout | null = null
  let unhint: (() => void) | null = null
  let failures = 0

  const deliver = (items: FeedItem[]): void => {
    for (const l of listeners) {
      try {
        l(items)
      } catch (err) {
        opts.onError?.(err)
      }
    }
  }

  /** Read pages until the log holds nothing after the position. One pull at a time. */
  async function pull(): Promise<void> {
    do {
      dirty = false
      for (;;) {
        const page = await store.listChanges(position, pageSize)
        if (stopped || page.length === 0) break
        const events = await store.eventsByIds([...new Set(page.map((c) => c.eventId))])
        if (stopped) break
        const items = page.map((change) => ({ change, event: events.get(change.eventId)! }))
        position = page.at(-1)!.seq
        deliver(items)
        if (page.length < pageSize) break
      }
    } while (dirty && !stopped)
  }

  function wake(): void {
    if (!running || stopped) return
    if (pulling) {
      dirty = true
      return
    }
    pulling = pull()
      .then(
        () => void (failures = 0),
        (err: unknown) => {
          // The store is failing: the poll retries; report once per run of failures.
          if (failures++ === 0) opts.onError?.(err)
        },
      )
      .finally(() => (pulling = null))
  }

  return {
    get position() {
      return position
    },
    start(afterSeq) {
      if (running) return
      running = true
      position = afterSeq
      unhint = store.onAppended(wake)
      timer = setInterval(wake, pollMs)
      timer.unref()
      wake()
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    async caughtUp() {
      const head = await store.lastSeq()
      while (!stopped && position < head) {
        const before = position
        wake()
        await pulling
        // Nothing came (the store is failing, or the hint was early): a pause, not a busy loop.
        if (position === before) await new Promise((r) => setTimeout(r, 20))
      }
    },
    async stop() {
      stopped = true
      unhint?.()
      if (timer) clearInterval(timer)
      await pulling
    },
  }
}
