/**
 * The simulator plays every source through the same domain API real ingestion uses
 * (EventService, PatrolService). It advances simulated time in slices, each committed in one
 * store batch together with its progress marker, so a crash loses no acknowledged work and a
 * restart resumes exactly where the last committed slice ended.
 */
import type { Clock, GridEvent } from '../../shared/types.ts'
import type { WorkCalendar } from '../../shared/working-time.ts'
import type { CityIndex } from '../city/city-index.ts'
import type { EventService } from '../domain/event-service.ts'
import type { PatrolService } from '../domain/patrol-service.ts'
import { AppError } from '../errors.ts'
import type { Store } from '../store/store.ts'
import { createArrivals } from './arrivals.ts'
import { MinHeap } from './heap.ts'
import { createPatrols } from './patrols.ts'
import { planNext } from './planner.ts'

const MIN = 60_000
const DAY = 86_400_000
const META_KEY = 'sim.until'

export interface SimulatorOptions {
  store: Store
  clock: Clock
  calendar: WorkCalendar
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
}

export type SimProgress = (p: {
  phase: 'backfill' | 'catch-up'
  done: number
  total: number
  events: number
}) => void

interface Job {
  at: number
  eventId: string | null
  run: () => Promise<GridEvent | null>
}

export interface Simulator {
  /** Backfill or catch up to the clock's now. */
  start(onProgress?: SimProgress): Promise<void>
  /** Advance simulated work up to `target`. */
  advanceTo(target: number): Promise<void>
  /** Start the live loop; returns stop(). */
  run(): () => Promise<void>
  readonly until: number
}

export function createSimulator(o: SimulatorOptions): Simulator {
  const arrivals = createArrivals({
    city: o.city,
    seed: o.seed,
    perDay: o.eventsPerDay,
    localHour: o.localHour,
  })
  const pings = createPatrols({ city: o.city, seed: o.seed, dayStartOf: o.dayStartOf })
  const heap = new MinHeap<Job>((a, b) => a.at - b.at)
  let until = 0

  const schedule = (e: GridEvent): void => {
    const step = planNext(e, o.seed, o.calendar)
    if (!step) return
    const at = Math.max(step.at, e.updatedAt + 1)
    heap.push({
      at,
      eventId: e.id,
      run: async () => {
        try {
          return (await o.events.act(e.id, { action: step.action, ...step.data }, at)).event
        } catch (err) {
          // Someone else (an officer over HTTP) moved the event first: plan again from its state.
          if (err instanceof AppError && err.status !== 500) return o.store.getEvent(e.id)
          throw err
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
    await o.store.batch(async () => {
      for (let m = Math.floor(from / MIN) * MIN; m < to; m += MIN)
        for (const a of arrivals(m)) {
          if (a.at < from || a.at >= to) continue
          heap.push({
            at: a.at,
            eventId: null,
            run: async () => (created++, (await o.events.report({ ...a.input, reportedAt: a.at })).event),
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
    until = to
    return created
  }

  const sim: Simulator = {
    get until() {
      return until
    },
    async advanceTo(target) {
      while (until < target) {
        await slice(until, Math.min(target, until + 60 * MIN), 'live')
      }
    },
    async start(onProgress) {
      const now = o.clock.now()
      const saved = await o.store.getMeta(META_KEY)
      const phase = saved ? 'catch-up' : 'backfill'
      until = saved ? Number(saved) : now - o.backfillDays * DAY
      until = Math.max(until, now - o.backfillDays * DAY)
      // Closed events may still get their evaluation (planned up to 36 h after closing).
      for (const e of await o.store.openEvents(until - 2 * DAY)) schedule(e)
      const total = now - until
      const started = until
      let events = 0
      while (until < now) {
        // Six-hour slices while catching up: fewer commits, same result as live one-hour slices.
        const to = Math.min(now, until + 6 * 60 * MIN)
        const mode = now - to <= 2 * 3_600_000 ? 'live' : now - until <= 2 * DAY ? 'recent' : 'history'
        events += await slice(until, to, mode)
        onProgress?.({ phase, done: until - started, total, events })
        await new Promise((r) => setImmediate(r))
      }
      await o.patrol.sweep()
    },
    run() {
      let stopped = false
      let current: Promise<void> = Promise.resolve()
      const timer = setInterval(() => {
        if (stopped) return
        current = current.then(async () => {
          if (stopped) return
          await sim.advanceTo(o.clock.now())
          await o.patrol.sweep()
        })
      }, o.tickMs)
      return async () => {
        stopped = true
        clearInterval(timer)
        await current.catch(() => undefined)
      }
    },
  }
  return sim
}
