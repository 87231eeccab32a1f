/**
 * A stop (SIGTERM) while the first start is still backfilling: the backfill ends at the slice in
 * progress (which commits), nothing is written after the store closes, startSimulation resolves
 * without starting the live loop, and the next start resumes exactly where the last slice ended.
 */
import { expect, it } from 'vitest'
import { createSystem } from '../../server/system.ts'
import { allChanges, ADMIN_TOKEN, manualClock, tempDir, testConfig } from './helpers.ts'

it('stops a first backfill between two slices, and the next start resumes from the last one', async () => {
  const dir = tempDir('stop-backfill')
  try {
    const first = await createSystem(testConfig(dir.path, { BACKFILL_DAYS: '6' }), { clock: manualClock() })
    await first.start()
    let slices = 0
    let stopping: Promise<void> | null = null
    const started = first.startSimulation(() => {
      // Stop after the second slice has committed, as SIGTERM would in the middle of a backfill.
      if (++slices === 2) stopping = first.stop()
    })
    await expect(started).resolves.toBeUndefined()
    await stopping
    expect(slices, 'the backfill went on after the stop').toBeLessThanOrEqual(3)

    const second = await createSystem(testConfig(dir.path, { BACKFILL_DAYS: '6' }), { clock: manualClock() })
    try {
      await second.start()
      const until = Number(await second.store.getMeta('sim.until'))
      const phases: string[] = []
      await second.startSimulation((p) => void phases.push(p.phase))
      expect(phases[0], 'the second start resumes the first one').toBe('catch-up')
      expect(until).toBeLessThan(manualClock().now())
      const log = await allChanges(second.app, ADMIN_TOKEN)
      expect(log.map((c) => c.seq)).toEqual(log.map((_, i) => i + 1))
    } finally {
      await second.stop()
    }
  } finally {
    dir.remove()
  }
})
