/**
 * Least privilege (issue 9): a token's region bounds what it writes as well as what it reads (the
 * resolved grid of a report, the worker of each ping, the scope of a minted token); `ingest` takes
 * only the lifecycle actions its token names and never sees a reporter in full or a description;
 * an Idempotency-Key belongs to the principal that used it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { System } from '../../server/system.ts'
import {
  ADMIN_TOKEN,
  call,
  createTestSystem,
  FIXED_NOW,
  mintToken,
  type ApiEvent,
  type ErrorBody,
} from './helpers.ts'

const STREET = '430602001'
const OTHER_STREET = '430602002'
const CJK = /[\u4e00-\u9fff]/

let system: System
let cleanup: () => Promise<void>
let officer: string
let ingest: string
let scopedIngest: string

beforeAll(async () => {
  const t = await createTestSystem({ env: { SIMULATE: '0' } })
  system = t.system
  cleanup = t.cleanup
  officer = await mintToken(system.app, 'officer')
  ingest = await mintToken(system.app, 'ingest')
  scopedIngest = await mintToken(system.app, 'ingest', { region: STREET })
})
afterAll(async () => {
  await cleanup?.()
})

/** A point inside a grid of `street` (its centroid, when the centroid lies inside). */
const gridIn = (street: string) =>
  system.city.gridsOf(street).find((g) => system.city.inGrid(g.code, ...g.centroid))!

const report = (street: string, extra: Record<string, unknown> = {}) => {
  const g = gridIn(street)
  return {
    category: 'CG0101',
    description: '小区门口暴露垃圾',
    lng: g.centroid[0],
    lat: g.centroid[1],
    source: 'patrol',
    reporter: { name: '张三丰', phone: '13812341234' },
    ...extra,
  }
}

const post = <T = ApiEvent & ErrorBody>(
  path: string,
  token: string,
  body: unknown,
  headers: Record<string, string> = {},
) => call<T>(system.app, path, { token, body, headers })

const act = (id: string, token: string, body: Record<string, unknown>) =>
  post(`/api/v1/events/${id}/actions`, token, body)

/** An event reported and moved by an officer through `steps`. */
async function eventAt(steps: Record<string, unknown>[], street = STREET): Promise<ApiEvent> {
  let e = (await post<ApiEvent>('/api/v1/events', officer, report(street))).body
  for (const s of steps) {
    const r = await act(e.id, officer, s)
    expect(r.status, JSON.stringify(r.body)).toBe(200)
    e = r.body
  }
  return e
}
const DISPATCHED = [{ action: 'accept' }, { action: 'file' }, { action: 'dispatch', department: '环卫处' }]

describe('writes are checked against the token’s region', () => {
  it('refuses a report whose location resolves to a grid of another street, storing nothing', async () => {
    const before = await system.store.lastSeq()
    const r = await post('/api/v1/events', scopedIngest, report(OTHER_STREET))
    expect(r.status).toBe(403)
    expect(r.body.error.code).toBe('forbidden')
    expect(r.body.error.message).toMatch(CJK)
    expect(await system.store.lastSeq()).toBe(before)
  })

  it('refuses a report whose gridCode lies in another street, even with a location inside its own', async () => {
    const before = await system.store.lastSeq()
    const r = await post(
      '/api/v1/events',
      scopedIngest,
      report(STREET, { gridCode: gridIn(OTHER_STREET).code }),
    )
    expect(r.status).toBe(403)
    expect(r.body.error.code).toBe('forbidden')
    expect(await system.store.lastSeq()).toBe(before)
  })

  it('accepts a report inside its street', async () => {
    const r = await post('/api/v1/events', scopedIngest, report(STREET))
    expect(r.status).toBe(201)
    expect(r.body.gridCode.startsWith(STREET)).toBe(true)
  })

  it('stores the pings of workers inside the scope only and names the others in the answer', async () => {
    const workers = system.city.workers()
    const mine = workers.find((w) => w.gridCode.startsWith(STREET))!
    const theirs = workers.find((w) => w.gridCode.startsWith(OTHER_STREET))!
    const at = new Date(FIXED_NOW - 60_000).toISOString()
    const ping = (workerId: string) => ({ workerId, lat: 29.37, lng: 113.1, at })
    const r = await post<{ accepted: number; unknownWorkers: string[]; outOfScopeWorkers: string[] }>(
      '/api/v1/positions',
      scopedIngest,
      { positions: [ping(mine.id), ping(theirs.id), ping('nobody')] },
    )
    expect(r.status).toBe(202)
    expect(r.body).toEqual({
      accepted: 1,
      unknownWorkers: ['nobody'],
      outOfScopeWorkers: [theirs.id],
      refused: [],
    })

    const whole = await post<ErrorBody>('/api/v1/positions', scopedIngest, { positions: [ping(theirs.id)] })
    expect(whole.status).toBe(403)
    expect(whole.body.error.code).toBe('forbidden')

    const online = async (region: string) =>
      (
        await system.store.kpiSnapshot(
          region,
          0,
          FIXED_NOW,
          { start: 0, end: FIXED_NOW },
          FIXED_NOW - 3_600_000,
        )
      ).positions.map((p) => p.workerId)
    expect(await online(STREET)).toContain(mine.id)
    expect(await online(OTHER_STREET)).not.toContain(theirs.id)
  })

  it('lets a region-scoped admin mint only tokens within its region', async () => {
    const admin = await mintToken(system.app, 'admin', { region: STREET })
    const mint = (body: Record<string, unknown>) =>
      post<{ region: string | null } & ErrorBody>('/api/v1/tokens', admin, { ttl: '1h', ...body })

    const other = await mint({ role: 'officer', region: OTHER_STREET })
    expect(other.status).toBe(403)
    expect(other.body.error.code).toBe('forbidden')
    expect((await mint({ role: 'admin', region: '430602' })).status).toBe(403)

    // No region asked: the token gets the admin's own region, never the whole city.
    const unscoped = await mint({ role: 'officer' })
    expect(unscoped.status).toBe(201)
    expect(unscoped.body.region).toBe(STREET)
    const community = system.city.region(STREET)!.childCodes[0]!
    const inside = await mint({ role: 'leader', region: community })
    expect(inside.status).toBe(201)
    expect(inside.body.region).toBe(community)

    // The fixed (unscoped) admin mints anything.
    expect(
      (await post('/api/v1/tokens', ADMIN_TOKEN, { role: 'officer', ttl: '1h', region: OTHER_STREET }))
        .status,
    ).toBe(201)
    expect((await post('/api/v1/tokens', ADMIN_TOKEN, { role: 'officer', ttl: '1h' })).status).toBe(201)
  })
})

describe('ingest takes only the actions its token names', () => {
  it('may not accept, cancel, dispatch or verify without a named action; the event is untouched', async () => {
    const reported = await eventAt([])
    const filed = await eventAt(DISPATCHED.slice(0, 2))
    const handled = await eventAt([...DISPATCHED, { action: 'handle' }])
    for (const [e, body] of [
      [reported, { action: 'accept' }],
      [reported, { action: 'cancel' }],
      [filed, { action: 'dispatch', department: '环卫处' }],
      [handled, { action: 'verify', passed: true }],
    ] as const) {
      const r = await act(e.id, ingest, body)
      expect(r.status, body.action).toBe(403)
      expect(r.body.error.code).toBe('forbidden')
      const now = (await call<ApiEvent>(system.app, `/api/v1/events/${e.id}`, { token: officer })).body
      expect(now.seq).toBe(e.seq)
    }
  })

  it('takes the actions named in its token (handle) and no other', async () => {
    const mint = await post<{ token: string }>('/api/v1/tokens', ADMIN_TOKEN, {
      role: 'ingest',
      ttl: '1h',
      actions: ['handle'],
    })
    expect(mint.status).toBe(201)
    const handler = mint.body.token
    const e = await eventAt(DISPATCHED)
    expect((await act(e.id, handler, { action: 'extend' })).status).toBe(403)
    const handled = await act(e.id, handler, { action: 'handle' })
    expect(handled.status).toBe(200)
    expect(handled.body.status).toBe('handled')
    expect((await act(e.id, handler, { action: 'verify', passed: true })).status).toBe(403)
  })

  it('refuses unknown action names and actions on a token of another role', async () => {
    for (const body of [
      { role: 'ingest', ttl: '1h', actions: ['handle', 'delete'] },
      { role: 'ingest', ttl: '1h', actions: 'handle' },
      { role: 'officer', ttl: '1h', actions: ['handle'] },
    ]) {
      const r = await post<ErrorBody>('/api/v1/tokens', ADMIN_TOKEN, body)
      expect(r.status, JSON.stringify(body)).toBe(400)
      expect(r.body.error.code).toBe('invalid_body')
    }
  })
})

describe('ingest sees no reporter in full and no description', () => {
  it('gets the reporter masked and no description in the answer to its report', async () => {
    const r = await post('/api/v1/events', ingest, report(STREET))
    expect(r.status).toBe(201)
    expect(r.body.reporter).toEqual({ name: '张**', phone: '138****1234' })
    expect(r.body).not.toHaveProperty('description')
    // An officer still reads what was reported.
    const full = await call<ApiEvent>(system.app, `/api/v1/events/${r.body.id}`, { token: officer })
    expect(full.body.reporter).toEqual({ name: '张三丰', phone: '13812341234' })
    expect(full.body.description).toBe('小区门口暴露垃圾')
  })

  it('gets the reporter masked and no description in the answer to an action', async () => {
    const handler = (
      await post<{ token: string }>('/api/v1/tokens', ADMIN_TOKEN, {
        role: 'ingest',
        ttl: '1h',
        actions: ['handle'],
      })
    ).body.token
    const e = await eventAt(DISPATCHED)
    const r = await act(e.id, handler, { action: 'handle' })
    expect(r.status).toBe(200)
    expect(r.body.reporter).toEqual({ name: '张**', phone: '138****1234' })
    expect(r.body).not.toHaveProperty('description')
  })
})

describe('Idempotency-Key is scoped to the principal', () => {
  it('gives two ingest tokens using the same key two events, and one token its own event back', async () => {
    const other = await mintToken(system.app, 'ingest')
    const key = { 'idempotency-key': 'privilege-shared-key' }
    const a = await post('/api/v1/events', ingest, report(STREET), key)
    const b = await post('/api/v1/events', other, report(STREET), key)
    expect(a.status).toBe(201)
    expect(b.status).toBe(201)
    expect(b.body.id).not.toBe(a.body.id)
    const again = await post('/api/v1/events', ingest, report(STREET), key)
    expect(again.body.id).toBe(a.body.id)
    const asAdmin = await post('/api/v1/events', ADMIN_TOKEN, report(STREET), key)
    expect(asAdmin.status).toBe(201)
    expect([a.body.id, b.body.id]).not.toContain(asAdmin.body.id)
  })
})
