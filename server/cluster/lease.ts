/**
 * The lease on the work only one process may do at a time: the simulator and the housekeeping.
 *
 * On PostgreSQL it is a session-level advisory lock held by a dedicated connection (never a pooled
 * one: the lock belongs to the session). Whoever holds the lock holds the lease; when its process
 * dies, PostgreSQL ends the session and frees the lock, and the next process that polls takes it
 * (within `pollMs`). A holder that loses its connection loses the lease at once (it cannot know
 * whether the session survives) and stops the work before trying again. On SQLite one process owns
 * the data directory (server/store/data-dir.ts): its lease is always held.
 */
import pg from 'pg'

export interface Lease {
  /** Whether this process holds the lease now. */
  readonly held: boolean
  /** Hear every change of `held` (true on taking, false on losing). */
  onChange(listener: (held: boolean) => void): () => void
  /** Start contending (the first attempt at once). */
  start(): void
  /** Give the lease up (the lock is released with the session) and stop contending. */
  stop(): Promise<void>
}

/** The lease of a process that is alone by construction. */
export function createLocalLease(): Lease {
  let held = false
  const listeners = new Set<(held: boolean) => void>()
  return {
    get held() {
      return held
    },
    onChange(l) {
      listeners.add(l)
      return () => listeners.delete(l)
    },
    start() {
      if (held) return
      held = true
      for (const l of listeners) l(true)
    },
    async stop() {
      held = false
    },
  }
}

export interface PgLeaseOptions {
  connectionString: string
  /** What the lease is for; processes contend for the same name (the lock key is its hash). */
  name: string
  /** How often a waiting process tries, and a holder checks its connection (default 2000 ms). */
  pollMs?: number
  onError?: (err: unknown) => void
}

export function createPgLease(o: PgLeaseOptions): Lease {
  const pollMs = o.pollMs ?? 2000
  const listeners = new Set<(held: boolean) => void>()
  let client: pg.Client | null = null
  let held = false
  let stopped = false
  let timer: ReturnType<typeof setTimeout> | undefined
  let round: Promise<void> = Promise.resolve()
  let reported = false
  // A holder that lost its session waits a few polls before contending again: a process whose
  // connection failed is the likeliest to fail again, and the others should get the lease first.
  let backoffUntil = 0

  const set = (h: boolean): void => {
    if (h === held) return
    held = h
    for (const l of listeners) {
      try {
        l(h)
      } catch (err) {
        o.onError?.(err)
      }
    }
  }
  const drop = (err?: unknown): void => {
    const c = client
    client = null
    if (held) backoffUntil = Date.now() + pollMs * 3
    set(false)
    if (err && !reported) {
      reported = true
      o.onError?.(err)
    }
    c?.end().catch(() => undefined)
  }

  async function attempt(): Promise<void> {
    if (Date.now() < backoffUntil) return
    try {
      if (!client) {
        const c = new pg.Client({
          connectionString: o.connectionString,
          application_name: `city-brain lease ${o.name}`,
          // A holder whose network fails must notice it.
          keepAlive: true,
          connectionTimeoutMillis: pollMs * 2,
        })
        c.on('error', (err) => {
          if (client === c) drop(err)
        })
        c.on('end', () => {
          if (client === c) drop()
        })
        client = c
        await c.connect()
      }
      const c = client
      if (held) {
        // The lock lives as long as the session: a round trip proves the session is alive.
        await c.query('SELECT 1')
      } else {
        const r = await c.query<{ ok: boolean }>(
          'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok',
          [`city-brain:${o.name}`],
        )
        if (stopped) return
        reported = false
        set(r.rows[0]!.ok)
      }
    } catch (err) {
      drop(err)
    }
  }

  const next = (): void => {
    if (stopped) return
    timer = setTimeout(() => {
      round = attempt().finally(next)
    }, pollMs)
    timer.unref()
  }

  return {
    get held() {
      return held
    },
    onChange(l) {
      listeners.add(l)
      return () => listeners.delete(l)
    },
    start() {
      round = attempt().finally(next)
    },
    async stop() {
      stopped = true
      clearTimeout(timer)
      await round
      const c = client
      client = null
      set(false)
      // Ending the session releases the lock.
      await c?.end().catch(() => undefined)
    },
  }
}
