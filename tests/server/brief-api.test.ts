/**
 * `GET /api/v1/brief` (server/domain/brief-service.ts) over a real system with three days of
 * simulated history: its figures are the KPI API's for the same period and instant; 环比 is the
 * previous period over the same elapsed time, read as it stood at its own end; 同比 is withheld where
 * the data does not reach back a year; the units are ranked by score with their previous figures;
 * the overdue list holds only overdue events, the worst first, with reporters masked for a leader;
 * and the route refuses the roles, regions and periods it must.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BriefResponse, KpisResponse } from '../../shared/api.ts'
import { periodOf, previousPeriod } from '../../shared/periods.ts'
import { ADMIN_TOKEN, call, createTestSystem, FIXED_NOW, isoQ, mintToken, type ErrorBody } from './helpers.ts'

const TZ = 'Asia/Shanghai'
let t: Awaited<ReturnType<typeof createTestSystem>>
let leader: string
const app = () => t.system.app

beforeAll(async () => {
  t = await createTestSystem()
  // Three days of simulated history up to the clock, which then stands still.
  await t.system.startSimulation()
  leader = await mintToken(app(), 'leader', { ttl: '1h' })
})
afterAll(async () => t?.cleanup())

const brief = async (q: string, token = leader) => call<BriefResponse>(app(), `/api/v1/brief?${q}`, { token })
const kpis = async (region: string, from: number, to: number, at?: number) =>
  (
    await call<KpisResponse>(
      app(),
      `/api/v1/kpis?region=${region}&from=${isoQ(from)}&to=${isoQ(to)}${at !== undefined ? `&at=${isoQ(at)}` : ''}`,
      { token: ADMIN_TOKEN },
    )
  ).body

describe('the briefing’s figures', () => {
  it('equal /api/v1/kpis for the same region and period, 环比 the previous period as it stood at its end', async () => {
    const r = await brief('region=430602&period=week')
    expect(r.status).toBe(200)
    const p = periodOf('week', FIXED_NOW, TZ)
    expect(Date.parse(r.body.period.from)).toBe(p.from)
    expect(Date.parse(r.body.period.to)).toBe(FIXED_NOW)
    expect(r.body.values).toEqual((await kpis('430602', p.from, p.to)).values)
    const prev = previousPeriod(p, TZ)
    expect([Date.parse(r.body.previous.from), Date.parse(r.body.previous.to)]).toEqual([prev.from, prev.to])
    expect(r.body.previous.values).toEqual((await kpis('430602', prev.from, prev.to, prev.to)).values)
    expect(r.body.values.reported).toBeGreaterThan(0)
    // Three days of history: a year back is out of reach, and says so.
    expect(r.body.yearAgo).toBeNull()
    expect(Date.parse(r.body.dataFrom!)).toBeLessThan(p.from)
  })

  it('as of an instant: the figures of /api/v1/kpis?at= over the period cut there', async () => {
    const at = FIXED_NOW - 5 * 3_600_000
    const r = await brief(`region=430602001&period=month&at=${isoQ(at)}`)
    expect(r.status).toBe(200)
    expect(r.body.asOf).toBe(true)
    expect(Date.parse(r.body.at)).toBe(at)
    const p = periodOf('month', FIXED_NOW, TZ)
    expect(r.body.values).toEqual((await kpis('430602001', p.from, at, at)).values)
  })

  it('ranks the units as they stood at that instant too, streets and communities alike', async () => {
    const at = FIXED_NOW - 5 * 3_600_000
    const p = periodOf('month', FIXED_NOW, TZ)
    for (const region of ['430602', '430602001']) {
      const r = await brief(`region=${region}&period=month&at=${isoQ(at)}`)
      expect(r.status).toBe(200)
      const rows = r.body.ranking!.rows
      expect(rows.length).toBeGreaterThan(1)
      for (const row of rows)
        expect(row.values, row.code).toEqual((await kpis(row.code, p.from, at, at)).values)
      // Not the figures of now: the instant matters for some unit.
      const live = (await brief(`region=${region}&period=month`)).body.ranking!.rows
      expect(live.map((x) => x.values)).not.toEqual(rows.map((x) => x.values))
    }
  })

  it('draws the period’s course: one point a day for a month, patrol figures left out', async () => {
    const r = await brief('region=430602&period=month')
    expect(r.body.bucket).toBe('day')
    expect(r.body.series).toHaveLength(25)
    expect(
      r.body.series.every((s) => s.values.patrolCoverage === null && s.values.onlineWorkers === null),
    ).toBe(true)
    // The days' reports add up to the period's.
    expect(r.body.series.reduce((n, s) => n + s.values.reported, 0)).toBe(r.body.values.reported)
  })

  it('ranks the region’s units by score, each with its previous figures; names the path down to it', async () => {
    const d = (await brief('region=430602')).body
    expect(d.path.map((x) => x.code)).toEqual(['430602'])
    expect(d.ranking?.level).toBe('street')
    expect(d.ranking!.rows.map((x) => x.code).sort()).toEqual(d.children.map((c) => c.code).sort())
    const scores = d.ranking!.rows.map((x) => x.values.score ?? -1)
    expect(scores).toEqual([...scores].sort((a, b) => b - a))
    expect(d.ranking!.rows.every((x) => x.previous !== null)).toBe(true)
    const street = d.children[0]!.code
    const s = (await brief(`region=${street}`)).body
    expect(s.path.map((x) => x.code)).toEqual(['430602', street])
    expect(s.ranking?.level).toBe('community')
    expect(s.ranking!.rows.every((x) => x.code.startsWith(street))).toBe(true)
    const community = s.children[0]!.code
    const c = (await brief(`region=${community}`)).body
    expect(c.ranking?.level).toBe('grid')
    const grid = c.children[0]!.code
    const g = (await brief(`region=${grid}`)).body
    expect(g.ranking).toBeNull()
    expect(g.path).toHaveLength(4)
  })

  it('lists only events overdue now, the longest overdue first, reporters masked for a leader', async () => {
    const d = (await brief('region=430602')).body
    for (const e of d.overdue) {
      expect(e.overdue).toBe(true)
      if (e.reporter?.phone) expect(e.reporter.phone).toMatch(/\*{4}/)
    }
    const deadlines = d.overdue.map((e) => Date.parse(e.deadline!))
    expect(deadlines).toEqual([...deadlines].sort((a, b) => a - b))
    const listed = await call<{ events: { id: string }[] }>(
      app(),
      '/api/v1/events?region=430602&overdue=true&limit=1000',
      {
        token: leader,
      },
    )
    expect(listed.status).toBe(200)
    expect(d.overdue.length).toBe(Math.min(10, listed.body.events.length))
  })
})

describe('what the route refuses', () => {
  it('the public and ingest roles, a region outside the token, a custom period without its range', async () => {
    for (const role of ['public', 'ingest'] as const) {
      const tok = await mintToken(app(), role, { ttl: '1h' })
      expect((await brief('region=430602', tok)).status).toBe(403)
    }
    const street = await mintToken(app(), 'leader', { ttl: '1h', region: '430602001' })
    expect((await brief('region=430602002', street)).status).toBe(403)
    expect((await brief('region=430602001', street)).status).toBe(200)
    const bad = await call<ErrorBody>(app(), '/api/v1/brief?region=430602&period=custom', { token: leader })
    expect(bad.status).toBe(400)
    expect(bad.body.error.code).toBe('invalid_query')
    expect((await brief('region=999999')).status).toBe(404)
  })
})
