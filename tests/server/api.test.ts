/**
 * The HTTP contract of DESIGN.md §3 through `app.request()` (no port): health, regions and their
 * GeoJSON, categories, events and their paging, the change log, reporting and acting, errors,
 * authentication and scoping, and masking of personal data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTokenService } from '../../server/auth/tokens.ts'
import type { System } from '../../server/system.ts'
import {
  ADMIN_TOKEN,
  allChanges,
  allEvents,
  call,
  createTestSystem,
  FIXED_NOW,
  mintToken,
  ms,
  type ApiChange,
  type ApiEvent,
  type ErrorBody,
} from './helpers.ts'

const DISTRICT = '430602'
const STREET = '430602001'
const OTHER_STREET = '430602002'
const CJK = /[\u4e00-\u9fff]/

interface RegionSummary {
  code: string
  name: string
  level: string
  parentCode: string | null
  children: number
}
interface RegionBody extends Omit<RegionSummary, 'children'> {
  grids: number
  children: RegionSummary[]
}
interface Geo {
  type: string
  features: {
    type: string
    id: string
    properties: { code: string }
    geometry: { type: string; coordinates: unknown }
  }[]
}
interface TimelineBody extends ApiEvent {
  timeline: ApiChange[]
}

let system: System
let cleanup: () => Promise<void>
const ready: { before?: number; during?: number; after?: number; beforeBody?: unknown } = {}
let officer: string
let leader: string
let publicToken: string
let scoped: string

beforeAll(async () => {
  const t = await createTestSystem()
  system = t.system
  cleanup = t.cleanup
  const before = await call<ErrorBody>(system.app, '/readyz')
  ready.before = before.status
  ready.beforeBody = before.body
  const starting = system.startSimulation()
  ready.during = (await call(system.app, '/readyz')).status
  await starting
  ready.after = (await call(system.app, '/readyz')).status
  officer = await mintToken(system.app, 'officer')
  leader = await mintToken(system.app, 'leader')
  publicToken = await mintToken(system.app, 'public')
  scoped = await mintToken(system.app, 'officer', { region: STREET })
})
afterAll(async () => {
  await cleanup?.()
})

const lastSeq = async (): Promise<number> => (await call<{ seq: number }>(system.app, '/readyz')).body.seq

describe('health', () => {
  it('answers /healthz with 200 at any time', async () => {
    const r = await call<{ status: string }>(system.app, '/healthz')
    expect(r.status).toBe(200)
    expect(r.body.status).toBe('ok')
  })

  it('answers /readyz 503 not_ready until the backfill has finished, then 200 with the seq', async () => {
    expect(ready.before).toBe(503)
    expect((ready.beforeBody as ErrorBody).error.code).toBe('not_ready')
    expect(ready.during).toBe(503)
    expect(ready.after).toBe(200)
    const r = await call<{ status: string; seq: number; store: string }>(system.app, '/readyz')
    expect(r.body).toMatchObject({ status: 'ready', store: 'sqlite' })
    expect(r.body.seq).toBeGreaterThan(0)
  })

  it('serves Prometheus text on /metrics with http_requests_total by route', async () => {
    await call(system.app, '/healthz')
    const r = await system.app.request('/metrics')
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/)
    const text = await r.text()
    expect(text).toMatch(/^# TYPE http_requests_total counter$/m)
    expect(text).toMatch(/^http_requests_total\{[^}]*route="\/healthz"[^}]*\} \d+$/m)
    expect(text).toMatch(/^city_brain_change_seq \d+$/m)
  })
})

describe('regions', () => {
  it('lists the 25 real street-level units of 岳阳楼区 as children of 430602', async () => {
    const r = await call<RegionBody>(system.app, `/api/v1/regions/${DISTRICT}`, { token: officer })
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ code: DISTRICT, name: '岳阳楼区', level: 'district', grids: 652 })
    expect(r.body.children).toHaveLength(25)
    const names = r.body.children.map((c) => c.name)
    expect(names).toContain('岳阳楼街道')
    expect(names).toContain('三眼桥街道')
    expect(r.body.children.find((c) => c.name === '岳阳楼街道')!.code).toBe('430602001')
    for (const s of r.body.children) {
      expect(s.code).toMatch(/^430602\d{3}$/)
      expect(s).toMatchObject({ level: 'street', parentCode: DISTRICT })
    }
  })

  it('walks district → streets → communities → grids to 652 valid 15-digit grid codes', async () => {
    const district = (await call<RegionBody>(system.app, `/api/v1/regions/${DISTRICT}`, { token: officer }))
      .body
    const grids: string[] = []
    let communities = 0
    for (const street of district.children) {
      const s = (await call<RegionBody>(system.app, `/api/v1/regions/${street.code}`, { token: officer }))
        .body
      expect(s.children.length).toBe(street.children)
      for (const community of s.children) {
        communities++
        expect(community.code).toMatch(new RegExp(`^${street.code}\\d{3}$`))
        const c = await call<RegionBody>(system.app, `/api/v1/regions/${community.code}`, { token: officer })
        expect(c.status).toBe(200)
        expect(c.body.level).toBe('community')
        for (const g of c.body.children) {
          expect(g.level).toBe('grid')
          expect(g.parentCode).toBe(community.code)
          expect(g.code).toMatch(/^\d{15}$/)
          expect(g.code.slice(0, 12)).toBe(community.code)
          expect(g.code.slice(12)).not.toBe('000')
          grids.push(g.code)
        }
        expect(c.body.grids).toBe(c.body.children.length)
      }
    }
    expect(communities).toBe(181)
    expect(grids).toHaveLength(652)
    expect(new Set(grids).size).toBe(652)
  })

  it('serves GeoJSON of a region’s children: closed rings of [lng, lat] inside China', async () => {
    for (const code of [DISTRICT, STREET]) {
      const r = await call<Geo>(system.app, `/api/v1/regions/${code}/geo`, { token: publicToken })
      expect(r.status).toBe(200)
      const region = (await call<RegionBody>(system.app, `/api/v1/regions/${code}`, { token: officer })).body
      expect(r.body.type).toBe('FeatureCollection')
      expect(r.body.features.map((f) => f.properties.code).sort()).toEqual(
        region.children.map((c) => c.code).sort(),
      )
      for (const f of r.body.features) {
        expect(f.type).toBe('Feature')
        expect(['Polygon', 'MultiPolygon']).toContain(f.geometry.type)
        const polygons = (
          f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates
        ) as number[][][][]
        expect(polygons.length).toBeGreaterThan(0)
        for (const polygon of polygons)
          for (const ring of polygon) {
            expect(ring.length).toBeGreaterThanOrEqual(4)
            expect(ring.at(-1)).toEqual(ring[0])
            for (const p of ring) {
              expect(p).toHaveLength(2)
              const [lng, lat] = p as [number, number]
              expect(Number.isFinite(lng) && Number.isFinite(lat)).toBe(true)
              expect(lng).toBeGreaterThan(73.4)
              expect(lng).toBeLessThan(135.1)
              expect(lat).toBeGreaterThan(18)
              expect(lat).toBeLessThan(53.6)
            }
          }
      }
    }
  })

  it('lists the categories with bilingual names, a time limit and a department', async () => {
    const r = await call<{
      categories: {
        code: string
        zh: string
        en: string
        name: string
        limit: { unit: string; value: number }
      }[]
    }>(system.app, '/api/v1/categories?lang=en', { token: publicToken })
    expect(r.status).toBe(200)
    const cats = r.body.categories
    expect(cats.length).toBeGreaterThan(20)
    expect(new Set(cats.map((c) => c.code)).size).toBe(cats.length)
    for (const c of cats) {
      expect(c.code).toMatch(/^(CG|SG)\d{4}$/)
      expect(c.zh).toMatch(CJK)
      expect(c.name).toBe(c.en)
      expect(['hours', 'days']).toContain(c.limit.unit)
      expect(c.limit.value).toBeGreaterThan(0)
    }
    expect(cats.map((c) => c.zh)).toEqual(expect.arrayContaining(['暴露垃圾', '道路不洁']))
  })
})

describe('events and the change log', () => {
  it('pages through every event with cursors: newest first, no duplicates, none missing', async () => {
    const events = await allEvents(system.app, officer, '', 500)
    expect(events.length).toBe(await system.store.countEvents())
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length)
    for (let i = 1; i < events.length; i++) {
      const a = events[i - 1]!
      const b = events[i]!
      const order = ms(a.reportedAt)! - ms(b.reportedAt)! || (a.id > b.id ? 1 : -1)
      expect(order, `${a.id} before ${b.id}`).toBeGreaterThan(0)
    }
    for (const e of events.slice(0, 50))
      expect(e.reportedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00$/)
  })

  it('filters events by their report time with from (inclusive) and to (exclusive)', async () => {
    const from = Date.parse('2026-11-24T08:00:00+08:00')
    const to = Date.parse('2026-11-24T12:00:00+08:00')
    const q = `from=${encodeURIComponent('2026-11-24T08:00:00+08:00')}&to=${encodeURIComponent('2026-11-24T04:00:00Z')}`
    const inWindow = await allEvents(system.app, officer, q, 100)
    const all = await allEvents(system.app, officer, '', 1000)
    const expected = all.filter((e) => ms(e.reportedAt)! >= from && ms(e.reportedAt)! < to)
    expect(expected.length).toBeGreaterThan(0)
    expect(inWindow.map((e) => e.id)).toEqual(expected.map((e) => e.id))
  })

  it('filters events by status and category', async () => {
    const r = await call<{ events: ApiEvent[] }>(
      system.app,
      `/api/v1/events?region=${STREET}&status=dispatched,handled&category=CG0101&limit=1000`,
      { token: officer },
    )
    expect(r.status).toBe(200)
    for (const e of r.body.events) {
      expect(['dispatched', 'handled']).toContain(e.status)
      expect(e.category).toBe('CG0101')
      expect(e.gridCode.startsWith(STREET)).toBe(true)
    }
  })

  it('gives an event with its timeline: increasing seqs ending in the event’s status and seq', async () => {
    const events = await allEvents(system.app, officer, `region=${DISTRICT}`)
    const picks = [
      events.find((e) => e.reworkCount > 0 && e.status === 'closed'),
      events.find((e) => e.returnCount > 0),
      events.find((e) => e.extensionCount > 0),
      events.find((e) => e.status === 'cancelled'),
      events.find((e) => e.satisfaction !== null),
    ]
    for (const pick of picks) {
      expect(pick).toBeDefined()
      const r = await call<TimelineBody>(system.app, `/api/v1/events/${pick!.id}`, { token: officer })
      expect(r.status).toBe(200)
      const tl = r.body.timeline
      expect(tl[0]).toMatchObject({ action: 'report', status: 'reported' })
      for (let i = 1; i < tl.length; i++) expect(tl[i]!.seq).toBeGreaterThan(tl[i - 1]!.seq)
      for (const ch of tl) expect(ch.eventId).toBe(pick!.id)
      expect(tl.at(-1)!.status).toBe(r.body.status)
      expect(tl.at(-1)!.seq).toBe(r.body.seq)
      expect(tl.filter((c) => c.action === 'verify' && c.data?.passed === false)).toHaveLength(
        r.body.reworkCount,
      )
      expect(tl.filter((c) => c.action === 'return')).toHaveLength(r.body.returnCount)
      expect(tl.filter((c) => c.action === 'extend')).toHaveLength(r.body.extensionCount)
    }
  })

  it('serves the change log gap-free and strictly increasing from seq 1, with a working next', async () => {
    const last = await lastSeq()
    const changes = await allChanges(system.app, officer)
    expect(changes.length).toBe(last)
    changes.forEach((c, i) => expect(c.seq).toBe(i + 1))
    const first = await call<{ changes: ApiChange[]; next: number }>(
      system.app,
      '/api/v1/changes?after=0&limit=10',
      {
        token: officer,
      },
    )
    expect(first.body.changes.map((c) => c.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect(first.body.next).toBe(10)
    const second = await call<{ changes: ApiChange[]; next: number }>(
      system.app,
      `/api/v1/changes?after=${first.body.next}&limit=5`,
      { token: officer },
    )
    expect(second.body.changes.map((c) => c.seq)).toEqual([11, 12, 13, 14, 15])
    const end = await call<{ changes: ApiChange[]; next: number }>(
      system.app,
      `/api/v1/changes?after=${last}`,
      {
        token: officer,
      },
    )
    expect(end.body).toEqual({ changes: [], next: last })
    expect(changes[0]).toMatchObject({ seq: 1, action: 'report', status: 'reported' })
    // Every entry says who made it: an Actor, or null for a change made without one.
    for (const c of changes) expect(c).toHaveProperty('actor')
    const dispatch = changes.find((c) => c.action === 'dispatch')!
    expect(dispatch.data?.department).toBeTruthy()
  })
})

describe('reporting and acting over HTTP', () => {
  const body = (extra: Record<string, unknown> = {}) => {
    const grid = system.city.gridsOf(STREET).find((g) => system.city.inGrid(g.code, ...g.centroid))!
    return {
      category: 'CG0101',
      description: '小区门口暴露垃圾',
      lng: grid.centroid[0],
      lat: grid.centroid[1],
      source: 'hotline',
      reporter: { name: '张三丰', phone: '13812341234' },
      ...extra,
    }
  }
  const act = (id: string, action: Record<string, unknown>, token = officer) =>
    call<ApiEvent & ErrorBody>(system.app, `/api/v1/events/${id}/actions`, { token, body: action })

  it('creates an event with 201, places it in the grid of its location and honours Idempotency-Key', async () => {
    const before = await lastSeq()
    const first = await call<ApiEvent>(system.app, '/api/v1/events', {
      token: officer,
      body: body(),
      headers: { 'idempotency-key': 'api-test-report-1' },
    })
    expect(first.status).toBe(201)
    expect(first.body).toMatchObject({ status: 'reported', category: 'CG0101', seq: before + 1 })
    expect(first.body.id).toMatch(/^E\d+$/)
    expect(system.city.inGrid(first.body.gridCode, first.body.lng, first.body.lat)).toBe(true)
    expect(first.body.gridCode.startsWith(STREET)).toBe(true)

    const again = await call<ApiEvent>(system.app, '/api/v1/events', {
      token: officer,
      body: body(),
      headers: { 'idempotency-key': 'api-test-report-1' },
    })
    expect([200, 201]).toContain(again.status)
    expect(again.body.id).toBe(first.body.id)
    expect(await lastSeq()).toBe(before + 1)

    const other = await call<ApiEvent>(system.app, '/api/v1/events', {
      token: officer,
      body: body(),
      headers: { 'idempotency-key': 'api-test-report-2' },
    })
    expect(other.status).toBe(201)
    expect(other.body.id).not.toBe(first.body.id)
  })

  it('a report and each action made over HTTP reach the change feed (the live stream)', async () => {
    const heard: string[] = []
    const off = system.feed.subscribe((items) => {
      for (const { change } of items) heard.push(`${change.seq}:${change.action}`)
    })
    system.feed.start(await system.store.lastSeq())
    try {
      const created = await call<ApiEvent>(system.app, '/api/v1/events', { token: officer, body: body() })
      const accepted = await act(created.body.id, { action: 'accept' })
      await system.feed.caughtUp()
      expect(heard).toEqual([`${created.body.seq}:report`, `${accepted.body.seq}:accept`])
    } finally {
      off()
    }
  })

  it('walks the whole closed loop with rework, extension and evaluation, logging every step', async () => {
    const created = await call<ApiEvent>(system.app, '/api/v1/events', { token: officer, body: body() })
    expect(created.status).toBe(201)
    const id = created.body.id
    const step = async (action: Record<string, unknown>, status: string) => {
      const r = await act(id, action)
      expect(r.status, `${JSON.stringify(action)}: ${JSON.stringify(r.body)}`).toBe(200)
      expect(r.body.status).toBe(status)
      return r.body
    }
    await step({ action: 'accept' }, 'accepted')
    await step({ action: 'file' }, 'filed')

    const noDept = await act(id, { action: 'dispatch' })
    expect(noDept.status).toBe(422)
    expect(noDept.body.error.code).toBe('missing_field')

    const dispatched = await step({ action: 'dispatch', department: '环卫处' }, 'dispatched')
    expect(dispatched.department).toBe('环卫处')
    expect(ms(dispatched.deadline)).toBeGreaterThan(ms(dispatched.dispatchedAt)!)
    const extended = await step({ action: 'extend', note: '需协调' }, 'dispatched')
    expect(extended.extensionCount).toBe(1)
    expect(ms(extended.deadline)).toBeGreaterThan(ms(dispatched.deadline)!)
    await step({ action: 'handle' }, 'handled')
    const rework = await step({ action: 'verify', passed: false }, 'dispatched')
    expect(rework.reworkCount).toBe(1)
    expect(rework.handledAt).toBeNull()
    await step({ action: 'handle' }, 'handled')
    const closed = await step({ action: 'verify', passed: true }, 'closed')
    expect(closed.closedAt).not.toBeNull()
    const evaluated = await step({ action: 'evaluate', satisfaction: 'satisfied' }, 'closed')
    expect(evaluated.satisfaction).toBe('satisfied')

    const forbidden = await act(id, { action: 'handle' })
    expect(forbidden.status).toBe(409)
    expect(forbidden.body.error.code).toBe('invalid_transition')
    const twice = await act(id, { action: 'evaluate', satisfaction: 'dissatisfied' })
    expect(twice.status).toBe(409)
    expect(twice.body.error.code).toBe('invalid_transition')

    const tl = (await call<TimelineBody>(system.app, `/api/v1/events/${id}`, { token: officer })).body
      .timeline
    expect(tl.map((c) => [c.action, c.status])).toEqual([
      ['report', 'reported'],
      ['accept', 'accepted'],
      ['file', 'filed'],
      ['dispatch', 'dispatched'],
      ['extend', 'dispatched'],
      ['handle', 'handled'],
      ['verify', 'dispatched'],
      ['handle', 'handled'],
      ['verify', 'closed'],
      ['evaluate', 'closed'],
    ])
    for (let i = 1; i < tl.length; i++) expect(tl[i]!.seq).toBe(tl[i - 1]!.seq + 1)
    expect(tl[3]!.data).toMatchObject({ department: '环卫处' })
    expect(tl[9]!.data).toMatchObject({ satisfaction: 'satisfied' })
    // Every step names the officer's token that took it.
    for (const c of tl as (ApiChange & { actor: unknown })[])
      expect(c.actor).toMatchObject({ kind: 'token', role: 'officer', id: expect.any(String) })
  })

  it('refuses forbidden moves with 409 and leaves the event and the log untouched', async () => {
    const created = await call<ApiEvent>(system.app, '/api/v1/events', { token: officer, body: body() })
    const id = created.body.id
    const before = await lastSeq()
    for (const action of ['dispatch', 'handle', 'verify', 'evaluate', 'return', 'extend', 'file']) {
      const r = await act(id, { action, department: 'x', passed: true, satisfaction: 'satisfied' })
      expect(r.status, action).toBe(409)
      expect(r.body.error.code).toBe('invalid_transition')
    }
    expect(await lastSeq()).toBe(before)
    const cancelled = await act(id, { action: 'cancel', note: '重复上报' })
    expect(cancelled.body.status).toBe('cancelled')
    expect((await act(id, { action: 'accept' })).status).toBe(409)
  })

  it('refuses an extension whose until is not later than the deadline with 422', async () => {
    const id = (await call<ApiEvent>(system.app, '/api/v1/events', { token: officer, body: body() })).body.id
    await act(id, { action: 'accept' })
    await act(id, { action: 'file' })
    const d = (await act(id, { action: 'dispatch', department: '环卫处' })).body
    const r = await act(id, { action: 'extend', until: d.deadline })
    expect(r.status).toBe(422)
    expect(r.body.error.code).toBe('invalid_field')
    const until = new Date(ms(d.deadline)! + 86_400_000).toISOString()
    const ok = await act(id, { action: 'extend', until })
    expect(ok.status).toBe(200)
    expect(ms(ok.body.deadline)).toBe(Date.parse(until))
  })

  it('never dates a lifecycle step before the report, even for a report dated ahead within the allowed skew', async () => {
    // The server accepts a reportedAt up to 5 minutes ahead of its clock (a source's clock skew).
    const ahead = new Date(FIXED_NOW + 4 * 60_000).toISOString()
    const created = await call<ApiEvent>(system.app, '/api/v1/events', {
      token: officer,
      body: body({ reportedAt: ahead }),
    })
    expect(created.status).toBe(201)
    const accepted = await act(created.body.id, { action: 'accept' })
    expect(accepted.status).toBe(200)
    expect(ms(accepted.body.updatedAt)).toBeGreaterThanOrEqual(ms(accepted.body.reportedAt)!)
    const tl = (await call<TimelineBody>(system.app, `/api/v1/events/${created.body.id}`, { token: officer }))
      .body.timeline
    expect(ms(tl[1]!.at), 'accepted before it was reported').toBeGreaterThanOrEqual(ms(tl[0]!.at)!)
  })

  it('refuses a report outside every grid, an unknown category and invalid JSON', async () => {
    const outside = await call<ErrorBody>(system.app, '/api/v1/events', {
      token: officer,
      body: body({ lng: 116.39, lat: 39.9 }),
    })
    expect(outside.status).toBe(422)
    const category = await call<ErrorBody>(system.app, '/api/v1/events', {
      token: officer,
      body: body({ category: 'XX9999' }),
    })
    expect(category.status).toBe(400)
    expect(category.body.error.code).toBe('invalid_body')
    const bad = await system.app.request('/api/v1/events', {
      method: 'POST',
      headers: { authorization: `Bearer ${officer}`, 'content-type': 'application/json' },
      body: '{"category":',
    })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as ErrorBody).error.code).toBe('invalid_body')
  })

  it('shows a leader the reporter masked (张** / 138****1234) and an officer in full', async () => {
    const id = (await call<ApiEvent>(system.app, '/api/v1/events', { token: officer, body: body() })).body.id
    const asLeader = await call<ApiEvent>(system.app, `/api/v1/events/${id}`, { token: leader })
    expect(asLeader.status).toBe(200)
    expect(asLeader.body.reporter).toEqual({ name: '张**', phone: '138****1234' })
    const asOfficer = await call<ApiEvent>(system.app, `/api/v1/events/${id}`, { token: officer })
    expect(asOfficer.body.reporter).toEqual({ name: '张三丰', phone: '13812341234' })

    const list = await call<{ events: ApiEvent[] }>(system.app, '/api/v1/events?limit=1000', {
      token: leader,
    })
    const withReporter = list.body.events.filter((e) => e.reporter)
    expect(withReporter.length).toBeGreaterThan(1)
    for (const e of withReporter) {
      expect(e.reporter!.phone).toMatch(/^\d{3}\*{4}\d{4}$/)
      expect(e.reporter!.name).toMatch(/^.\*+$/u)
    }
  })
})

describe('errors, authentication and scope', () => {
  const expectError = (r: { status: number; body: unknown }, status: number, code: string) => {
    expect(r.status).toBe(status)
    expect(Object.keys(r.body as object)).toEqual(['error'])
    const e = (r.body as ErrorBody).error
    expect(e.code).toBe(code)
    expect(typeof e.message).toBe('string')
    expect(e.message.length).toBeGreaterThan(0)
    return e
  }

  it('answers bad query parameters with 400 invalid_query', async () => {
    for (const q of ['limit=0', 'limit=1001', 'limit=abc', 'from=yesterday', 'region=12ab', 'status=open']) {
      const r = await call(system.app, `/api/v1/events?${q}`, { token: officer })
      const e = expectError(r, 400, 'invalid_query')
      expect(e.message, q).toMatch(CJK)
    }
    expectError(await call(system.app, '/api/v1/kpis?region=12ab', { token: officer }), 400, 'invalid_query')
    expectError(await call(system.app, '/api/v1/regions/12ab', { token: officer }), 400, 'invalid_query')
    expectError(await call(system.app, '/api/v1/changes?after=-1', { token: officer }), 400, 'invalid_query')
    expectError(
      await call(system.app, '/api/v1/events?cursor=bm9wZQ', { token: officer }),
      400,
      'invalid_query',
    )
  })

  it('answers an unknown region or event with 404 not_found', async () => {
    expectError(await call(system.app, '/api/v1/regions/430602999', { token: officer }), 404, 'not_found')
    expectError(
      await call(system.app, '/api/v1/events?region=430602999', { token: officer }),
      404,
      'not_found',
    )
    expectError(await call(system.app, '/api/v1/kpis?region=430602999', { token: officer }), 404, 'not_found')
    expectError(await call(system.app, '/api/v1/events/E99999999', { token: officer }), 404, 'not_found')
    expectError(await call(system.app, '/no/such/path'), 404, 'not_found')
    expectError(await call(system.app, '/api/v1/no-such-route', { token: officer }), 404, 'not_found')
  })

  it('answers an unknown API route with 404 even without a token (auth belongs to the routes that exist)', async () => {
    expectError(await call(system.app, '/api/v1/no-such-route'), 404, 'not_found')
  })

  it('answers a missing, garbage, foreign or expired token with 401 unauthorized', async () => {
    expectError(await call(system.app, '/api/v1/events'), 401, 'unauthorized')
    expectError(await call(system.app, '/api/v1/events', { token: 'garbage' }), 401, 'unauthorized')
    const foreign = await createTokenService({ secret: new Uint8Array(32).fill(7) }).mint({
      role: 'officer',
      ttlSeconds: 3600,
    })
    expectError(await call(system.app, '/api/v1/events', { token: foreign.token }), 401, 'unauthorized')

    // A token of this server, minted by a service whose clock runs two hours behind: expired an hour ago.
    const secret = (await system.store.getMeta('token.secret'))!
    const past = createTokenService({
      secret: Buffer.from(secret, 'base64'),
      now: () => Date.now() - 2 * 3_600_000,
    })
    const expired = (await past.mint({ role: 'officer', ttlSeconds: 3600 })).token
    const e = expectError(
      await call(system.app, '/api/v1/events?lang=en', { token: expired }),
      401,
      'unauthorized',
    )
    expect(e.message).toMatch(/expired/)
    const fresh = (await past.mint({ role: 'officer', ttlSeconds: 3 * 3600 })).token
    expect((await call(system.app, '/api/v1/events?limit=1', { token: fresh })).status).toBe(200)
  })

  it('answers a role without access with 403 forbidden', async () => {
    expectError(await call(system.app, '/api/v1/events', { token: publicToken }), 403, 'forbidden')
    expectError(await call(system.app, '/api/v1/changes', { token: publicToken }), 403, 'forbidden')
    expectError(
      await call(system.app, '/api/v1/tokens', { token: officer, body: { role: 'admin', ttl: 60 } }),
      403,
      'forbidden',
    )
    const any = (await call<{ events: ApiEvent[] }>(system.app, '/api/v1/events?limit=1', { token: officer }))
      .body.events[0]!
    expectError(
      await call(system.app, `/api/v1/events/${any.id}/actions`, {
        token: leader,
        body: { action: 'accept' },
      }),
      403,
      'forbidden',
    )
    expect((await call(system.app, `/api/v1/kpis?region=${DISTRICT}`, { token: publicToken })).status).toBe(
      200,
    )
  })

  it('limits a region-scoped token to its street', async () => {
    for (const path of [
      `/api/v1/events?region=${OTHER_STREET}`,
      `/api/v1/regions/${OTHER_STREET}`,
      `/api/v1/regions/${DISTRICT}`,
      `/api/v1/kpis?region=${OTHER_STREET}`,
    ])
      expectError(await call(system.app, path, { token: scoped }), 403, 'forbidden')

    const foreignEvent = (
      await call<{ events: ApiEvent[] }>(system.app, `/api/v1/events?region=${OTHER_STREET}&limit=1`, {
        token: officer,
      })
    ).body.events[0]!
    expectError(
      await call(system.app, `/api/v1/events/${foreignEvent.id}`, { token: scoped }),
      403,
      'forbidden',
    )
    expectError(
      await call(system.app, `/api/v1/events/${foreignEvent.id}/actions`, {
        token: scoped,
        body: { action: 'cancel' },
      }),
      403,
      'forbidden',
    )

    const own = await call<{ events: ApiEvent[] }>(system.app, '/api/v1/events?limit=200', { token: scoped })
    expect(own.status).toBe(200)
    expect(own.body.events.length).toBeGreaterThan(0)
    for (const e of own.body.events) expect(e.gridCode.startsWith(STREET)).toBe(true)
    const changes = await call<{ changes: ApiChange[] }>(system.app, '/api/v1/changes?limit=2000', {
      token: scoped,
    })
    expect(changes.body.changes.length).toBeGreaterThan(0)
    for (const c of changes.body.changes) expect(c.gridCode.startsWith(STREET)).toBe(true)
    expect((await call(system.app, `/api/v1/kpis?region=${STREET}001`, { token: scoped })).status).toBe(200)
  })

  it('writes error messages in Chinese by default and in English with ?lang=en or Accept-Language', async () => {
    const zh = expectError(
      await call(system.app, '/api/v1/regions/430602999', { token: officer }),
      404,
      'not_found',
    )
    expect(zh.message).toMatch(CJK)
    const en = expectError(
      await call(system.app, '/api/v1/regions/430602999?lang=en', { token: officer }),
      404,
      'not_found',
    )
    expect(en.message).not.toMatch(CJK)
    expect(en.message).toMatch(/not found/)
    const header = expectError(
      await call(system.app, '/api/v1/events', { headers: { 'accept-language': 'en-US,en;q=0.9' } }),
      401,
      'unauthorized',
    )
    expect(header.message).not.toMatch(CJK)
  })

  it('mints tokens only for the admin, with a ttl as seconds or a duration', async () => {
    const r = await call<{ token: string; role: string; region: string | null; expiresAt: string }>(
      system.app,
      '/api/v1/tokens',
      { token: ADMIN_TOKEN, body: { role: 'leader', ttl: '30m', region: STREET } },
    )
    expect(r.status).toBe(201)
    expect(r.body).toMatchObject({ role: 'leader', region: STREET })
    const left = ms(r.body.expiresAt)! - Date.now()
    expect(left).toBeGreaterThan(29 * 60_000)
    expect(left).toBeLessThanOrEqual(30 * 60_000)
    expectError(
      await call(system.app, '/api/v1/tokens', { token: ADMIN_TOKEN, body: { role: 'leader', ttl: '0s' } }),
      400,
      'invalid_body',
    )
    expectError(
      await call(system.app, '/api/v1/tokens', {
        token: ADMIN_TOKEN,
        body: { role: 'leader', ttl: 60, region: '430602999' },
      }),
      404,
      'not_found',
    )
  })
})
