/**
 * Errors the process survives: each is logged and counted once in
 * `city_brain_store_errors_total{op, code}`, by the first to report it. The store reports its own
 * failures (op: the store method, code: SQLite's) before they reach anyone; the simulator,
 * housekeeping, the live server and the last-resort unhandled-rejection handler report the rest.
 * And the housekeeping loop, which retries with back-off.
 */
import type { Logger } from 'pino'
import { Counter } from 'prom-client'
import { sqliteCode } from './store/sqlite-faults.ts'
import { StoreUnavailable } from './store/store.ts'

export interface FaultReporter {
  readonly counter: Counter<'op' | 'code'>
  /** Log and count an error caught so that the process goes on (an error reported before: neither). */
  report(op: string, err: unknown): void
  /** A failed attempt that will be retried: logged, and counted unless reported before. */
  retrying(op: string, err: unknown, retryInMs: number): void
}

const codeOf = (err: unknown): string =>
  err instanceof StoreUnavailable
    ? err.code
    : (sqliteCode(err) ?? (err instanceof Error ? err.name : typeof err))

export function createFaultReporter(logger: Logger): FaultReporter {
  const counter = new Counter({
    name: 'city_brain_store_errors_total',
    help: 'Store operations that failed, listeners that threw after COMMIT, and other errors survived',
    labelNames: ['op', 'code'] as const,
    registers: [],
  })
  const heard = new WeakSet<object>()
  /** True the first time `err` is heard. */
  const first = (err: unknown): boolean => {
    if (typeof err !== 'object' || err === null) return true
    if (heard.has(err)) return false
    heard.add(err)
    return true
  }
  return {
    counter,
    report(op, err) {
      if (!first(err)) return
      const unavailable = err instanceof StoreUnavailable
      logger[unavailable ? 'warn' : 'error']({ err, op }, unavailable ? 'store unavailable' : `${op} failed`)
      counter.inc({ op, code: codeOf(err) })
    },
    retrying(op, err, retryInMs) {
      if (first(err)) counter.inc({ op, code: codeOf(err) })
      logger.warn({ err, op, retryInMs }, `${op} failed, nothing of it kept; retrying`)
    },
  }
}

export interface HousekeepingOptions {
  /** Run in order; the first failure ends the round (it is retried whole). */
  tasks: Array<() => Promise<unknown>>
  /** While false, a round runs after the back-off instead of waiting for `everyMs`. */
  healthy: () => boolean
  everyMs: number
  /** The first retry's delay, then doubling up to `maxRetryMs`; also how often `healthy` is looked at. */
  retryMs: number
  maxRetryMs: number
  onError: (err: unknown, retryInMs: number) => void
}

/** Run the tasks every `everyMs`, sooner while the store fails; returns stop(). */
export function startHousekeeping(o: HousekeepingOptions): () => Promise<void> {
  let failures = 0
  let lastRun = Date.now()
  let due = lastRun + o.everyMs
  let stopped = false
  let timer: ReturnType<typeof setTimeout> | undefined
  let current: Promise<void> = Promise.resolve()
  const delay = (n: number): number => Math.min(o.retryMs * 2 ** (n - 1), o.maxRetryMs)
  const round = async (): Promise<void> => {
    if (!o.healthy()) due = Math.min(due, lastRun + delay(failures + 1))
    if (Date.now() < due) return
    lastRun = Date.now()
    try {
      for (const task of o.tasks) await task()
      failures = 0
      due = lastRun + o.everyMs
    } catch (err) {
      failures++
      due = lastRun + delay(failures)
      o.onError(err, delay(failures))
    }
  }
  const next = (): void => {
    if (stopped) return
    timer = setTimeout(() => (current = round().then(next, next)), o.retryMs)
    timer.unref()
  }
  next()
  return async () => {
    stopped = true
    clearTimeout(timer)
    await current
  }
}
