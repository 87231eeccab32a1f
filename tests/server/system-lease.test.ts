/**
 * The simulator follows the lease whenever it changes hands, including while a follower starts its
 * live stream: its first wait for the lease has ended without it (after 3 s with no answer) and it
 * has not yet registered for later changes. A lease taken there must still start the simulator here,
 * or the cluster would have a lease holder that simulates nothing and no other process that would.
 */
import { afterEach, expect, it } from 'vitest'
import { createLocalLease, type Lease } from '../../server/cluster/lease.ts'
import { createLiveServer } from '../../server/live/live-server.ts'
import { createSystem } from '../../server/system.ts'
import { manualClock, tempDir, testConfig } from './helpers.ts'
import { until } from './live-helpers.ts'

const cleanups: (() => void | Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/**
 * A lease that answers nothing until `take()`, which its listeners of that instant hear: the local
 * lease, its taking moved from `start()` to the test's hand.
 */
function handLease(): Lease & { take: () => void } {
  const local = createLocalLease()
  return {
    get held() {
      return local.held
    },
    onChange: (l) => local.onChange(l),
    start() {},
    stop: () => local.stop(),
    take: () => local.start(),
  }
}

it('runs the simulator when the lease is taken while the live stream starts, after the first wait', async () => {
  const dir = tempDir('system-lease')
  cleanups.push(dir.remove)
  const config = testConfig(dir.path, { BACKFILL_DAYS: '0', PORT: '0', HOST: '127.0.0.1' })
  const clock = manualClock()
  const lease = handLease()
  let takenDuringLiveStart = false
  const system = await createSystem(config, {
    clock,
    lease,
    // The real live stream, with the lease taken as it finishes starting.
    live: (o) => {
      const real = createLiveServer(o)
      return {
        start: async (hooks) => {
          await real.start(hooks)
          lease.take()
          takenDuringLiveStart = true
        },
        close: () => real.close(),
      }
    },
  })
  cleanups.push(() => system.stop())
  await system.start()
  await system.listen()
  await system.startSimulation()
  expect(takenDuringLiveStart).toBe(true)
  // Held here: the simulator must catch up and then follow the clock.
  clock.set(clock.now() + 10 * 60_000)
  const target = clock.now()
  await until(() => system.simulator!.until >= target, 'the simulator following the clock', 15_000)
}, 30_000)
