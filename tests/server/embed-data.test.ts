/**
 * The embeds' public answers (`GET /api/v1/embed/trend`, `/embed/ranking`) over a real system with
 * three days of simulated history: only an embed token naming the panel reads them (a bearer token,
 * another panel, another region, none: refused); their figures are the KPI API's, except that a
 * count of 1–4 (and what is made from it) is withheld; and they hold no person, no words, no place:
 * a planted canary event's reporter, phone and description appear in no answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type {
  EmbedRankingResponse,
  EmbedTrendResponse,
  KpisResponse,
  RankingsResponse,
} from '../../shared/api.ts'
import { PUBLIC_MIN_COUNT } from '../../shared/privacy.ts'
import { ADMIN_TOKEN, call, createTestSystem, isoQ, mintToken, type ErrorBody } from './helpers.ts'

const DISTRICT = '430602'
const STREET = '430602001'
const CANARY = { name: '金丝雀甲乙', phone: '13912345678', description: 'canary-7f3a 金丝雀描述' }
/** Fields that would describe a person, a case or a place. */
const FORBIDDEN = [
  'reporter',
  'description',
  'phone',
  'lat',
  'lng',
  'workerId',
  'workers',
  'actor',
  'note',
  'events',
]

let t: Awaited<ReturnType<typeof createTestSystem>>
const app = () => t.system.app

async function embed(panels: string[], region = DISTRICT): Promise<string> {
  const r = await call<{ token: string }>(app(), '/api/v1/embed-tokens', {
    token: ADMIN_TOKEN,
    body: { panels, region, origins: ['https://portal.example.gov.cn'], ttl: '1h' },
  })
  expect(r.status).toBe(201)
  return r.body.token
}

beforeAll(async () => {
  t = await createTestSystem()
  await t.system.startSimulation()
  const g = t.system.city.gridsOf(STREET)[0]!
  const r = await call(app(), '/api/v1/events', {
    token: ADMIN_TOKEN,
    body: {
      category: 'CG0101',
      description: CANARY.description,
      lat: g.centroid[1],
      lng: g.centroid[0],
      gridCode: g.code,
      source: 'hotline',
      reporter: { name: CANARY.name, phone: CANARY.phone },
    },
  })
  if (r.status !== 201) throw new Error(`canary: ${r.status} ${JSON.stringify(r.body)}`)
})
afterAll(async () => t?.cleanup())

function keysOf(v: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) for (const x of v) keysOf(x, out)
  else if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) {
      out.add(k)
      keysOf(x, out)
    }
  return out
}
function expectPublic(body: unknown): void {
  const text = JSON.stringify(body)
  for (const s of Object.values(CANARY)) expect(text).not.toContain(s)
  for (const k of keysOf(body)) expect(FORBIDDEN, k).not.toContain(k)
}

describe('the trend panel’s answer', () => {
  it('is each of the last seven days’ reports as the KPI API has them, small counts withheld', async () => {
    const token = await embed(['trend'])
    const r = await call<EmbedTrendResponse>(app(), `/api/v1/embed/trend?token=${token}`)
    expect(r.status).toBe(200)
    expect(r.body.region.code).toBe(DISTRICT)
    expect(r.body.points).toHaveLength(7)
    expect(r.body.minCount).toBe(PUBLIC_MIN_COUNT)
    for (const p of r.body.points) {
      const k = await call<KpisResponse>(
        app(),
        `/api/v1/kpis?region=${DISTRICT}&from=${isoQ(Date.parse(p.from))}&to=${isoQ(Date.parse(p.to))}`,
        { token: ADMIN_TOKEN },
      )
      const n = k.body.values.reported
      if (n > 0 && n < PUBLIC_MIN_COUNT) {
        expect(p.reported).toBeNull()
        expect(p.disposalRate).toBeNull()
      } else {
        expect(p.reported).toBe(n)
        expect(p.disposalRate).toBe(k.body.values.disposalRate)
      }
    }
    // The history covers the last days; the days before it have nothing (0, not withheld).
    expect(r.body.points.some((p) => (p.reported ?? 0) >= PUBLIC_MIN_COUNT)).toBe(true)
    expectPublic(r.body)
  })

  it('of a street: every day it shows is 0 or at least the smallest public count', async () => {
    const token = await embed(['trend'], STREET)
    const r = await call<EmbedTrendResponse>(app(), `/api/v1/embed/trend?token=${token}`)
    expect(r.status).toBe(200)
    expect(r.body.region.code).toBe(STREET)
    for (const p of r.body.points)
      expect(p.reported === null || p.reported === 0 || p.reported >= 5).toBe(true)
    expectPublic(r.body)
  })
})

describe('the ranking panel’s answer', () => {
  it('ranks the streets by this month’s score as /rankings does, units with too few reports unranked', async () => {
    const token = await embed(['ranking'])
    const r = await call<EmbedRankingResponse>(app(), `/api/v1/embed/ranking?token=${token}`)
    expect(r.status).toBe(200)
    expect(r.body.level).toBe('street')
    const all = await call<RankingsResponse>(
      app(),
      `/api/v1/rankings?level=street&from=${isoQ(Date.parse(r.body.from))}&to=${isoQ(Date.parse(r.body.to))}`,
      { token: ADMIN_TOKEN },
    )
    const by = new Map(all.body.rankings.map((x) => [x.code, x.values]))
    expect(r.body.rows.map((x) => x.code).sort()).toEqual([...by.keys()].sort())
    const ranked = r.body.rows.filter((x) => x.rank !== null)
    expect(ranked.length).toBeGreaterThan(1)
    expect(ranked.map((x) => x.rank)).toEqual(ranked.map((_, i) => i + 1))
    for (const x of r.body.rows) {
      const v = by.get(x.code)!
      if (v.reported < PUBLIC_MIN_COUNT && v.reported > 0) expect([x.rank, x.score]).toEqual([null, null])
      else
        expect([x.score, x.disposalRate, x.satisfactionRate]).toEqual([
          v.score,
          v.disposalRate,
          v.satisfactionRate,
        ])
    }
    expectPublic(r.body)
  })
})

describe('who may read them', () => {
  it('only an embed token naming the panel, of the region asked', async () => {
    const trend = await embed(['trend'], STREET)
    const kpisOnly = await embed(['kpis'])
    const leader = await mintToken(app(), 'leader', { ttl: '1h' })
    const publicBearer = await mintToken(app(), 'public', { ttl: '1h' })
    const status = async (path: string, token?: string) => {
      const r = await call<ErrorBody>(app(), path, token ? { token } : {})
      return [r.status, r.body.error?.code]
    }
    expect(await status('/api/v1/embed/trend')).toEqual([401, 'unauthorized'])
    expect(await status('/api/v1/embed/trend', leader)).toEqual([401, 'unauthorized'])
    expect(await status('/api/v1/embed/trend', publicBearer)).toEqual([401, 'unauthorized'])
    expect(await status('/api/v1/embed/trend', kpisOnly)).toEqual([403, 'forbidden'])
    expect(await status('/api/v1/embed/ranking', trend)).toEqual([403, 'forbidden'])
    expect(await status(`/api/v1/embed/trend?region=430602002`, trend)).toEqual([403, 'forbidden'])
    expect(await status(`/api/v1/embed/trend?region=${STREET}`, trend)).toEqual([200, undefined])
  })
})
