/**
 * Building a system starts nothing: `createSystem` leaves no timer behind, `listen` and
 * `startSimulation` refuse until `start()`, `start()` starts what runs by itself, and `stop()` leaves
 * no timer of the system behind, whether or not it was started.
 *
 * The timers are counted through async_hooks, not `process.getActiveResourcesInfo()`: that list
 * holds only the timers that keep the process alive, and every timer of the system is unref'd (a
 * stopping process must not wait for its housekeeping), so it would count none of them and the test
 * could not fail.
 */
import { createHook } from 'node:async_hooks'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createSystem, type System } from '../../server/system.ts'
import { manualClock, tempDir, testConfig } from './helpers.ts'

/** Timers of the test runner itself (its test timeout, its messages to the main process). */
const RUNNER = /[\\/]node_modules[\\/](?:vitest|@vitest|tinypool|birpc)[\\/]/

/**
 * The frame that asked for a timer: the first below this hook and Node's own timer code. (Every stack
 * of a test passes through the runner further down, so only the caller tells whose timer it is.)
 */
const caller = (stack: string): string =>
  stack
    .split('\n')
    .slice(2)
    .find((line) => !line.includes('(node:') && !line.includes(' node:')) ?? ''

/** Every Timeout created while tracking and not yet fired or cleared, with where it was created. */
function trackTimers(): { live: () => string[]; disable: () => void } {
  const alive = new Map<number, string>()
  const hook = createHook({
    init(id, type) {
      if (type !== 'Timeout') return
      // Deep enough that a failure shows, past the libraries, the code that asked for the timer.
      const limit = Error.stackTraceLimit
      Error.stackTraceLimit = 40
      const stack = new Error('timer created').stack ?? ''
      Error.stackTraceLimit = limit
      if (!RUNNER.test(caller(stack))) alive.set(id, stack)
    },
    destroy(id) {
      alive.delete(id)
    },
  }).enable()
  return { live: () => [...alive.values()], disable: () => void hook.disable() }
}

/** The timers still alive once those on their way out have had `ms` to end. */
async function settled(timers: { live: () => string[] }, ms = 2000): Promise<string[]> {
  const deadline = Date.now() + ms
  while (timers.live().length > 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r))
  return timers.live()
}

const cleanups: (() => void | Promise<void>)[] = []
let timers: ReturnType<typeof trackTimers>

beforeEach(() => {
  timers = trackTimers()
  cleanups.push(() => timers.disable())
})
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/**
 * A simulating system on a fresh data directory, on a free port, its clock by hand; `stop` stops it
 * once (a test that failed before its own stop is stopped after it).
 */
async function build(): Promise<{ system: System; stop: () => Promise<void> }> {
  const dir = tempDir('system-start')
  cleanups.push(dir.remove)
  const config = testConfig(dir.path, { BACKFILL_DAYS: '0', PORT: '0', HOST: '127.0.0.1' })
  const system = await createSystem(config, { clock: manualClock() })
  let stopping: Promise<void> | null = null
  const stop = () => (stopping ??= system.stop())
  cleanups.push(stop)
  return { system, stop }
}

describe('a system', () => {
  it('runs no timer until start(), refuses to listen or simulate before it, and leaves none after stop()', async () => {
    const { system, stop } = await build()
    expect(await settled(timers, 200), 'timers started by createSystem').toEqual([])

    await expect(system.listen()).rejects.toThrow(/start\(\) first/)
    await expect(system.startSimulation()).rejects.toThrow(/start\(\) first/)
    expect(timers.live(), 'timers started by a refused listen or startSimulation').toEqual([])

    await system.start()
    // The housekeeping waits on a timer for its first round.
    expect(timers.live().length, 'timers after start()').toBeGreaterThan(0)
    const afterStart = timers.live().length
    await system.start()
    expect(timers.live().length, 'a second start() started more').toBe(afterStart)

    await system.listen()
    await system.startSimulation()
    expect(timers.live().length, 'timers while serving and simulating').toBeGreaterThan(afterStart)

    await stop()
    expect(await settled(timers), 'timers left after stop()').toEqual([])
    await expect(system.start(), 'a start() after stop()').rejects.toThrow(/after system\.stop\(\)/)
  })

  it('stops cleanly when it was never started', async () => {
    const { stop } = await build()
    await stop()
    expect(await settled(timers), 'timers left after stop()').toEqual([])
  })
})
