/**
 * `/readyz` while the first start backfills: 503 `{status:'starting', progress:{phase, done, total,
 * percent}}` (progress null before the simulator's first report), the percentage moving forward,
 * then 200 ready once the backfill has ended and the live stream is up.
 */
import { expect, it } from 'vitest'
import { createTestSystem } from './helpers.ts'

interface Readyz {
  status: string
  progress?: { phase: string; done: number; total: number; percent: number } | null
  error?: { code: string }
}

it('reports the backfill progress while starting, then ready', async () => {
  const { system, cleanup } = await createTestSystem()
  try {
    const get = async () => {
      const r = await system.app.request('/readyz')
      return { status: r.status, body: (await r.json()) as Readyz }
    }
    const before = await get()
    expect(before).toMatchObject({ status: 503, body: { status: 'starting', progress: null } })
    expect(before.body.error?.code).toBe('not_ready')

    const during: Promise<{ status: number; body: Readyz }>[] = []
    await system.startSimulation(() => void during.push(get()))
    const seen = await Promise.all(during)
    expect(seen.length).toBeGreaterThan(2)
    const percents = seen.map((s) => s.body.progress!.percent)
    for (const s of seen) {
      expect(s.status).toBe(503)
      expect(s.body.status).toBe('starting')
      expect(s.body.progress).toMatchObject({ phase: 'backfill', total: 3 * 86_400_000 })
      expect(s.body.progress!.done).toBeLessThanOrEqual(s.body.progress!.total)
    }
    expect(percents).toEqual([...percents].sort((a, b) => a - b))
    expect(percents[0]).toBeLessThan(100)
    expect((await get()).status).toBe(200)
  } finally {
    await cleanup()
  }
})
