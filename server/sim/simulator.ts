/**
 * The simulator plays every source through the same domain API real ingestion uses
 * (EventService, PatrolService). It advances simulated time in slices, each committed in one
 * store batch together with its progress marker, so a crash loses no acknowledged work and a
 * restart resumes exactly where the last committed slice ended. A slice that fails is rolled back
 * whole; the simulator then resumes the same way, from the store, and retries with back-off.
 *
 * Every change it makes names it as the actor, with the source it plays for the event. A move the
 * lifecycle refuses is a bug of the plan (planner.ts plans only allowed moves): it is counted
 * (`refusals`), reported to `onRefusal` and not retried.
 */
import type { CalendarSet } from '../../shared/calendars.ts'
import type { Actor, Clock, EventSource, GridEvent } from '../../shared/types.ts'
import type { CityIndex } from '../city/city-index.ts'
import type { EventService } from '../domain/event-service.ts'
import type { PatrolService } from '../domain/patrol-service.ts'
import { AppError } from '../errors.ts'
import { StoreUnavailable, type Store } from '../store/store.ts'
import { createArrivals } from './arrivals.ts'
import { MinHeap } from './heap.ts'
import { createPatrols } from './patrols.ts'
import { planNext } from './planner.ts'
import { createDuty } from './rosters.ts'

const MIN = 60_000
/** Days back the history carries on-duty pings: the same time last week (较上周同期) and a margin. */
const RECENT_DAYS = 8
const DAY = 86_400_000
const META_KEY = 'sim.until'

export interface SimulatorOptions {
  store: Store
  clock: Clock
  /** The calendars; the office one's days off (weekends, holidays) thin the duty rosters. */
  calendars: CalendarSet
  city: CityIndex
  events: EventService
  patrol: PatrolService
  seed: number
  eventsPerDay: number
  backfillDays: number
  /** Real ms between ticks of the live loop. */
  tickMs: number
  dayStartOf: (ms: number) => number
  localHour: (ms: number) => number
  /** Hears each failed attempt (then retried after `retryInMs`); the simulator keeps going. */
  onError?: (err: unknown, retryInMs: number) => void
  /** The longest wait between retries (default 5000 ms); the first is `tickMs`, then doubling. */
  maxRetryMs?: number
  /** Working hours after a dispatch a return (回退) is allowed (default 2, as the lifecycle's). */
  returnWindowHours?: number
  /** Hears each move the lifecycle refused the simulator (a bug of its plan); the event is left as it is. */
  onRefusal?: (r: SimRefusal) => void
}

export interface SimRefusal {
  eventId: string | null
  action: string
  at: number
  code: string
  message: string
}

export type SimProgress = (p: {
  phase: 'backfill' | 'catch-up'
  done: number
  total: number
  events: number
}) => void

interface Job {
  at: number
  /** The event the job moves on, or null for an arrival (then `n` orders the slice's arrivals). */
  eventId: string | null
  n: number
  run: () => Promise<GridEvent | null>
}

/**
 * Jobs in a total order (time, then event id, then arrival): the order never depends on how the
 * heap was filled, so a heap rebuilt from the store after a failure runs exactly as the lost one.
 */
const byTime = (a: Job, b: Job): number => {
  if (a.at !== b.at) return a.at - b.at
  const x = a.eventId ?? ''
  const y = b.eventId ?? ''
  return x < y ? -1 : x > y ? 1 : a.n - b.n
}

export interface Simulator {
  /**
   * Backfill or catch up to the clock's now. An aborted `signal` ends it after the slice in
   * progress has committed (a later start resumes from there).
   */
  start(onProgress?: SimProgress, signal?: AbortSignal): Promise<void>
  /** Advance simulated work up to `target`. */
  advanceTo(target: number): Promise<void>
  /** Start the live loop; returns stop(). */
  run(): () => Promise<void>
  readonly until: number
  /** Moves the lifecycle refused since this simulator was created (0 unless a plan is wrong). */
  readonly refusals: number
}

const actorOf = (source: EventSource): Actor => ({ kind: 'system', id: 'simulator', source })

/** A refusal by the domain (4xx), as opposed to a failure of the store or a bug (rethrown). */
const isRefusal = (err: unknown): err is AppError => err instanceof AppError && err.status < 500

export function createSimulator(o: SimulatorOptions): Simulator {
  const duty = createDuty(o.calendars.office)
  const planContext = { duty, returnWindowHours: o.returnWindowHours ?? 2 }
  const arrivals = createArrivals({
    city: o.city,
    seed: o.seed,
    perDay: o.eventsPerDay,
    localHour: o.localHour,
    duty,
  })
  const pings = createPatrols({ city: o.city, seed: o.seed, dayStartOf: o.dayStartOf, duty })
  let refusals = 0
  const refused = (eventId: string | null, action: string, at: number, err: AppError): null => {
    refusals++
    o.onRefusal?.({ eventId, action, at, code: err.code, message: err.message })
    return null
  }
  let heap = new MinHeap<Job>(byTime)
  let until = 0
  // A failed slice popped and pushed jobs of a rolled-back state: the heap must be rebuilt first.
  let stale = false
  const maxRetryMs = o.maxRetryMs ?? 5000
  const retryDelay = (failures: number): number => Math.min(o.tickMs * 2 ** (failures - 1), maxRetryMs)

  const schedule = (e: GridEvent): void => {
    const step = planNext(e, o.seed, planContext)
    if (!step) return
    const at = Math.max(step.at, e.updatedAt + 1)
    heap.push({
      at,
      eventId: e.id,
      n: 0,
      run: async () => {
        try {
          return (await o.events.act(e.id, { action: step.action, ...step.data }, at, actorOf(e.source)))
            .event
        } catch (err) {
          if (!isRefusal(err)) throw err
          // Someone else (an officer over HTTP) moved the event first: plan again from its state.
          const now = await o.store.getEvent(e.id)
          if (now && now.seq !== e.seq) return now
          return refused(e.id, step.action, at, err)
        }
      },
    })
  }

  /**
   * History (more than two hours back) is simulated with round pings once a minute, which keeps the
   * backfill fast; its last two days also have on-duty pings every 4 minutes (under the 5-minute
   * on-duty window, so "on duty yesterday at this time" reads true), older days none. Live time has
   * round pings every 15 s and on-duty pings every minute (workers ping every 10–60 s).
   */
  const slice = async (from: number, to: number, mode: 'history' | 'recent' | 'live'): Promise<number> => {
    let created = 0
    let n = 0
    stale = true
    await o.store.batch(async () => {
      for (let m = Math.floor(from / MIN) * MIN; m < to; m += MIN)
        for (const a of arrivals(m)) {
          if (a.at < from || a.at >= to) continue
          heap.push({
            at: a.at,
            eventId: null,
            n: n++,
            run: async () => {
              try {
                const input = { ...a.input, reportedAt: a.at }
                const { event } = await o.events.report(input, undefined, {
                  actor: actorOf(input.source),
                  // Simulated history: older than the report age limit a client is held to.
                  backfill: true,
                })
                created++
                return event
              } catch (err) {
                if (!isRefusal(err)) throw err
                return refused(null, 'report', a.at, err)
              }
            },
          })
        }
      while (heap.size > 0 && heap.peek()!.at < to) {
        const job = heap.pop()!
        const e = await job.run()
        if (e) schedule(e)
      }
      const ps =
        mode === 'live'
          ? pings(from, to, 15_000, 60_000)
          : pings(from, to, 60_000, mode === 'recent' ? 4 * MIN : null)
      if (ps.length) await o.patrol.ingest(ps)
      await o.store.setMeta(META_KEY, String(to))
    })
    stale = false
    until = to
    return created
  }

  /** Plan every event that may still move, from the store: what a start does, and a failed slice undoes. */
  const plan = async (): Promise<void> => {
    heap = new MinHeap<Job>(byTime)
    // Closed events may still get their callback (planned within 9 callback hours of closing: three
    // days at most, over a weekend or a holiday).
    for (const e of await o.store.openEvents(until - 4 * DAY)) schedule(e)
  }

  /** After a failed slice: continue from the last committed one, as a restart would. */
  const resume = async (): Promise<void> => {
    if (!stale) return
    const saved = await o.store.getMeta(META_KEY)
    if (saved) until = Number(saved)
    await plan()
    stale = false
  }

  /** `slice`, retried with back-off while the store is unavailable (the start has no one to retry it). */
  const sliceRetrying = async (
    to: number,
    mode: 'history' | 'recent' | 'live',
    signal?: AbortSignal,
  ): Promise<number> => {
    for (let failures = 1; !signal?.aborted; failures++) {
      try {
        await resume()
        return until < to ? await slice(until, to, mode) : 0
      } catch (err) {
        if (!(err instanceof StoreUnavailable)) throw err
        o.onError?.(err, retryDelay(failures))
        await new Promise((r) => setTimeout(r, retryDelay(failures)))
      }
    }
    return 0
  }

  const sim: Simulator = {
    get until() {
      return until
    },
    get refusals() {
      return refusals
    },
    async advanceTo(target) {
      await resume()
      while (until < target) {
        await slice(until, Math.min(target, until + 60 * MIN), 'live')
      }
    },
    async start(onProgress, signal) {
      const now = o.clock.now()
      const saved = await o.store.getMeta(META_KEY)
      const phase = saved ? 'catch-up' : 'backfill'
      until = saved ? Number(saved) : now - o.backfillDays * DAY
      until = Math.max(until, now - o.backfillDays * DAY)
      await plan()
      const total = now - until
      const started = until
      let events = 0
      while (until < now && !signal?.aborted) {
        // Six-hour slices while catching up: fewer commits, same result as live one-hour slices.
        const to = Math.min(now, until + 6 * 60 * MIN)
        // On-duty pings (every 4 min, inside the 5-min online window) for the last RECENT_DAYS: 在岗网格员
        // as it stood yesterday and a week ago at this time (the wall's comparisons) is then a real figure.
        const mode =
          now - to <= 2 * 3_600_000 ? 'live' : now - until <= RECENT_DAYS * DAY ? 'recent' : 'history'
        events += await sliceRetrying(to, mode, signal)
        onProgress?.({ phase, done: until - started, total, events })
        await new Promise((r) => setImmediate(r))
      }
      if (!signal?.aborted) await o.patrol.sweep()
    },
    run() {
      let stopped = false
      let failures = 0
      let timer: ReturnType<typeof setTimeout> | undefined
      let current: Promise<void> = Promise.resolve()
      // Never rejects: a failure is reported and retried with back-off, the loop goes on.
      const step = async (): Promise<void> => {
        try {
          await sim.advanceTo(o.clock.now())
          await o.patrol.sweep()
          failures = 0
        } catch (err) {
          failures++
          try {
            o.onError?.(err, retryDelay(failures))
          } catch {
            // a failing reporter must not stop the simulator
          }
        }
      }
      const next = (): void => {
        if (stopped) return
        timer = setTimeout(() => (current = step().then(next)), failures ? retryDelay(failures) : o.tickMs)
      }
      next()
      return async () => {
        stopped = true
        clearTimeout(timer)
        await current
      }
    },
  }
  return sim
}
