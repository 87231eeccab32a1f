/**
 * The ingest bus: what one process ingested (positions and the patrol rounds they moved) reaches
 * the live state of every other process, over a Redis stream (REDIS_URL). The store holds the record
 * (pings, runs and rounds are committed before they are published); the bus only carries the news,
 * so a process that missed some would be wrong on the wall until its next rebuild, never in the store.
 *
 * So nothing is lost while Redis is away: a publish that fails is kept (bounded: the oldest are
 * dropped past `maxPending`, counted) and sent again, in order, once Redis answers; a reader follows
 * the stream by the id of the last entry it read, so it picks up after its own outage what was added
 * meanwhile. Each entry names its origin, and a process skips its own (it applied them already).
 */
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import type { PatrolRound, Position } from '../../shared/types.ts'

export type IngestListener = (positions: Position[], rounds: PatrolRound[]) => void

export interface IngestBus {
  /** Send this process's ingest to the others (never throws; kept and retried while Redis fails). */
  publish(positions: Position[], rounds: PatrolRound[]): void
  /** Hear what the other processes ingested. */
  subscribe(listener: IngestListener): () => void
  /** Entries waiting for Redis to come back. */
  readonly pending: number
  /** Entries given up because Redis stayed away past `maxPending` of them. */
  readonly dropped: number
  /** Start reading (from the stream's end as it is now). */
  start(): Promise<void>
  stop(): Promise<void>
}

export interface RedisIngestBusOptions {
  url: string
  /** The stream's key: processes of one deployment share it. */
  key: string
  /** The stream keeps about this many entries (MAXLEN ~). */
  maxLen?: number
  maxPending?: number
  /** How long one XREAD blocks (ms); also how soon `stop` returns. */
  blockMs?: number
  onError?: (err: unknown) => void
}

interface Entry {
  o: string
  p: Position[]
  r: PatrolRound[]
}

export function createRedisIngestBus(o: RedisIngestBusOptions): IngestBus {
  const origin = randomUUID()
  const maxLen = o.maxLen ?? 100_000
  const maxPending = o.maxPending ?? 20_000
  const blockMs = o.blockMs ?? 1000
  const options = {
    lazyConnect: true,
    // Fail fast while Redis is away: this bus keeps what it could not send, in order.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (times: number) => Math.min(100 * times, 2000),
  }
  const writer = new Redis(o.url, options)
  const reader = new Redis(o.url, options)
  let reported = false
  const report = (err: unknown): void => {
    if (reported) return
    reported = true
    o.onError?.(err)
  }
  writer.on('error', report)
  reader.on('error', report)

  const listeners = new Set<IngestListener>()
  const queue: string[] = []
  let dropped = 0
  let flushing: Promise<void> | null = null
  let stopped = false
  let lastId = '$'
  let reading: Promise<void> = Promise.resolve()

  async function flush(): Promise<void> {
    while (queue.length && !stopped) {
      try {
        await writer.xadd(o.key, 'MAXLEN', '~', String(maxLen), '*', 'd', queue[0]!)
        queue.shift()
        reported = false
      } catch (err) {
        report(err)
        // Redis is away: try again shortly (the reconnect is ioredis's).
        await new Promise((r) => setTimeout(r, 250))
      }
    }
  }
  const kick = (): void => {
    if (!flushing) flushing = flush().finally(() => (flushing = null))
  }

  async function read(): Promise<void> {
    while (!stopped) {
      try {
        if (lastId === '$') {
          // Resolve the stream's end once: then every later read continues from a real id, and an
          // outage in between loses nothing that stayed in the stream.
          const last = (await reader.xrevrange(o.key, '+', '-', 'COUNT', 1))[0]
          lastId = last?.[0] ?? '0-0'
        }
        const res = (await reader.xread('COUNT', 500, 'BLOCK', blockMs, 'STREAMS', o.key, lastId)) as
          [string, [string, string[]][]][] | null
        reported = false
        for (const [, entries] of res ?? []) {
          for (const [id, fields] of entries) {
            lastId = id
            const raw = fields[fields.indexOf('d') + 1]
            if (!raw) continue
            const e = JSON.parse(raw) as Entry
            if (e.o === origin) continue
            for (const l of listeners) {
              try {
                l(e.p, e.r)
              } catch (err) {
                o.onError?.(err)
              }
            }
          }
        }
      } catch (err) {
        if (stopped) return
        report(err)
        await new Promise((r) => setTimeout(r, 250))
      }
    }
  }

  return {
    get pending() {
      return queue.length
    },
    get dropped() {
      return dropped
    },
    publish(positions, rounds) {
      if (stopped || (positions.length === 0 && rounds.length === 0)) return
      queue.push(JSON.stringify({ o: origin, p: positions, r: rounds } satisfies Entry))
      if (queue.length > maxPending) {
        queue.shift()
        dropped++
      }
      kick()
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    async start() {
      await Promise.all([writer.connect(), reader.connect()]).catch(report)
      reading = read()
    },
    async stop() {
      stopped = true
      // A blocked XREAD returns within blockMs; disconnect ends it at once.
      reader.disconnect()
      await reading
      await flushing
      writer.disconnect()
    },
  }
}
