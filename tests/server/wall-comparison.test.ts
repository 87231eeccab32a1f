/**
 * `GET /api/v1/comparison`: what the wall's KPI tiles compare with (issue 10). On a Monday morning,
 * last Monday at the same time of day (Sunday is not like a Monday); on a Wednesday, yesterday. The
 * figures are those of `/api/v1/kpis` over that period as they stood at that instant.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { KpiValues } from '../../shared/kpis.ts'
import { ADMIN_TOKEN, call, createTestSystem, mintToken, testConfig } from './helpers.ts'

const MONDAY = Date.parse('2026-11-30T09:30:00+08:00')

interface Comparison {
  region: string
  basis: string
  date: string
  from: string
  to: string
  at: string
  seq: number
  values: KpiValues
}

let t: Awaited<ReturnType<typeof createTestSystem>>
let leader: string

beforeAll(async () => {
  t = await createTestSystem({ now: MONDAY - 8 * 86_400_000, env: { SIMULATE: '0' } })
  leader = await mintToken(t.system.app, 'leader')
  // Last Monday morning: two reports before 09:30 and one after; this Monday: one.
  const grid = t.system.city.gridsOf('430602')[0]!
  const at = (iso: string) => Date.parse(iso)
  for (const reportedAt of [
    '2026-11-23T08:00:00+08:00',
    '2026-11-23T09:00:00+08:00',
    '2026-11-23T11:00:00+08:00',
  ]) {
    t.clock.set(at(reportedAt))
    await t.system.events.report({
      category: 'CG0101',
      description: 'comparison',
      lat: grid.centroid[1],
      lng: grid.centroid[0],
      gridCode: grid.code,
      source: 'hotline',
    })
  }
  t.clock.set(MONDAY)
})
afterAll(async () => t?.cleanup())

describe('GET /api/v1/comparison', () => {
  it('on a Monday morning: last Monday from midnight to 09:30, as the figures stood then', async () => {
    const r = await call<Comparison>(t.system.app, '/api/v1/comparison?region=430602', { token: leader })
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({
      region: '430602',
      basis: 'last_week',
      date: '2026-11-23',
      from: '2026-11-23T00:00:00.000+08:00',
      to: '2026-11-23T09:30:00.000+08:00',
      at: '2026-11-23T09:30:00.000+08:00',
    })
    expect(r.body.values.reported).toBe(2)
    const q = new URLSearchParams({ region: '430602', from: r.body.from, to: r.body.to, at: r.body.at })
    const kpis = await call<Comparison>(t.system.app, `/api/v1/kpis?${q}`, { token: leader })
    expect(r.body.values).toEqual(kpis.body.values)
  })

  it('on a Wednesday: yesterday', async () => {
    t.clock.set(Date.parse('2026-12-02T15:00:00+08:00'))
    const r = await call<Comparison>(t.system.app, '/api/v1/comparison', { token: ADMIN_TOKEN })
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({
      basis: 'yesterday',
      date: '2026-12-01',
      at: '2026-12-01T15:00:00.000+08:00',
    })
  })

  it('refuses an unknown region', async () => {
    const r = await call(t.system.app, '/api/v1/comparison?region=999999', { token: leader })
    expect(r.status).toBe(404)
  })
})

/**
 * 在岗网格员 as it stood at a past instant needs the raw pings of the five minutes before it. The
 * default retention keeps those of the same time last week (the Monday comparison); past the
 * retention the figure is unknown (null, shown as —), never a 0 that makes today look like a leap.
 */
describe('the comparison of 在岗网格员', () => {
  const lastMondayPing = async (env: Record<string, string>) => {
    const s = await createTestSystem({ now: Date.parse('2026-11-23T09:28:00+08:00'), env })
    const worker = s.system.city.workers()[0]!
    const grid = s.system.city.gridsOf('430602').find((g) => g.code === worker.gridCode)!
    const r = await call(s.system.app, '/api/v1/positions', {
      token: ADMIN_TOKEN,
      body: {
        positions: [
          {
            workerId: worker.id,
            lat: grid.centroid[1],
            lng: grid.centroid[0],
            at: '2026-11-23T09:28:00+08:00',
          },
        ],
      },
    })
    expect(r.status).toBe(202)
    s.clock.set(MONDAY)
    // The hourly housekeeping has run since: raw pings past the retention are gone.
    const days = testConfig(s.dataDir, env).positionRetentionDays
    await s.system.store.prunePositions(MONDAY - days * 86_400_000)
    return s
  }

  it('by default counts last Monday 09:30 from the pings kept since', async () => {
    const s = await lastMondayPing({ SIMULATE: '0' })
    try {
      const r = await call<Comparison>(s.system.app, '/api/v1/comparison', { token: ADMIN_TOKEN })
      expect(r.body.basis).toBe('last_week')
      expect(r.body.values.onlineWorkers).toBe(1)
    } finally {
      await s.cleanup()
    }
  })

  it('past the raw-ping retention is unknown (null), in the comparison and in kpis?at=', async () => {
    const s = await lastMondayPing({ SIMULATE: '0', POSITION_RETENTION_DAYS: '3' })
    try {
      const r = await call<Comparison>(s.system.app, '/api/v1/comparison', { token: ADMIN_TOKEN })
      expect(r.body.values.onlineWorkers).toBeNull()
      const q = new URLSearchParams({ region: '430602', at: '2026-11-23T09:30:00+08:00' })
      const k = await call<Comparison>(s.system.app, `/api/v1/kpis?${q}`, { token: ADMIN_TOKEN })
      expect(k.status).toBe(200)
      expect(k.body.values.onlineWorkers).toBeNull()
      // Within the retention the figure stands.
      const recent = new URLSearchParams({ region: '430602', at: '2026-11-29T09:30:00+08:00' })
      const k2 = await call<Comparison>(s.system.app, `/api/v1/kpis?${recent}`, { token: ADMIN_TOKEN })
      expect(k2.body.values.onlineWorkers).toBe(0)
    } finally {
      await s.cleanup()
    }
  })
})
