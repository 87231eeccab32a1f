/**
 * Every live figure names its instant (issue 10, item 7): `kpis` and `grids` frames carry `at`, the
 * instant their figures hold for, so each can be checked against `GET /api/v1/kpis?at=` over the
 * period the frame is for; and the subscribe snapshot runs the deadline clock at its own instant,
 * as the tick does (an event that fell overdue after the last tick is overdue in the snapshot).
 * The simulator is off and every event comes in over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { GridsFrame, KpiFrame } from '../../shared/live.ts'
import { formatIsoWithOffset } from '../../shared/working-time.ts'
import { ADMIN_TOKEN, call, FIXED_NOW, manualClock, mintToken, type ApiEvent } from './helpers.ts'
import {
  connectSynced,
  DISTRICT,
  startComposedLiveServer,
  startLiveServer,
  until,
  type LiveTestServer,
  type Recorder,
} from './live-helpers.ts'

const TZ = 'Asia/Shanghai'
const MIN = 60_000
const iso = (ms: number) => formatIsoWithOffset(ms, TZ)

interface HttpKpis {
  from: string
  to: string
  at: string
  seq: number
  values: KpiFrame['values']
}

/** Report an event in `grid` over HTTP and move it through `actions`; the event as last answered. */
async function post(
  srv: LiveTestServer,
  grid: string,
  category: string,
  actions: object[],
): Promise<ApiEvent> {
  const g = srv.system.city.region(grid)!
  const r = await call<ApiEvent>(srv.http, '/api/v1/events', {
    token: ADMIN_TOKEN,
    body: {
      category,
      description: 'frame-at event',
      lat: g.centroid[1],
      lng: g.centroid[0],
      source: 'hotline',
    },
  })
  expect(r.status, JSON.stringify(r.body)).toBe(201)
  let e = r.body
  for (const a of actions) {
    const x = await call<ApiEvent>(srv.http, `/api/v1/events/${e.id}/actions`, {
      token: ADMIN_TOKEN,
      body: a,
    })
    expect(x.status, JSON.stringify(x.body)).toBe(200)
    e = x.body
  }
  return e
}
const toDispatched = [{ action: 'accept' }, { action: 'file' }, { action: 'dispatch', department: '环卫处' }]

/** The HTTP figures of `region` as they stood at `frame.at`, over the frame's own period. */
async function httpAt(srv: LiveTestServer, token: string, frame: KpiFrame): Promise<HttpKpis> {
  const q = new URLSearchParams({ region: frame.region, at: frame.at, from: frame.from, to: frame.to })
  const r = await call<HttpKpis>(srv.http, `/api/v1/kpis?${q}`, { token })
  expect(r.status, JSON.stringify(r.body)).toBe(200)
  return r.body
}

describe('kpis and grids frames carry the instant their figures hold for', () => {
  const clock = manualClock()
  let srv: LiveTestServer
  let officer: string
  let street: string
  const sockets = new Map<string, Recorder>()

  beforeAll(async () => {
    srv = await startLiveServer({ clock })
    officer = await mintToken(srv.http, 'officer')
    street = srv.system.city.children(DISTRICT)[2]!.code
    for (const region of [DISTRICT, street]) {
      const r = await connectSynced(srv.base, { token: officer })
      expect((await r.subscribe(region)).ok).toBe(true)
      sockets.set(region, r)
    }
  })
  afterAll(async () => {
    for (const r of sockets.values()) r.close()
    await srv?.stop()
  })

  it('equal GET /api/v1/kpis?at=<frame.at> for the frame’s period, also once time has moved on', async () => {
    const grids = srv.system.city.gridsOf(street)
    const first = await post(srv, grids[0]!.code, 'CG0103', toDispatched)
    await post(srv, grids[1]!.code, 'CG0101', [...toDispatched, { action: 'handle' }])
    const last = await post(srv, grids[2]!.code, 'CG0102', [{ action: 'self_handle' }])
    const deadline = Date.parse(first.deadline!)
    expect(deadline).toBeGreaterThan(clock.now())

    for (const [region, r] of sockets)
      await until(
        () => r.of<KpiFrame>('kpis').at(-1)?.seq === last.seq,
        `a frame at seq ${last.seq} for ${region}`,
      )
    // The event falls overdue between ticks: the next tick's frame holds for its own instant.
    const t1 = deadline + 700
    clock.set(t1)
    for (const [region, r] of sockets)
      await until(() => r.of<KpiFrame>('kpis').at(-1)?.at === iso(t1), `a frame at ${iso(t1)} for ${region}`)
    // Time moves on: the frames still name the instant they were true at.
    clock.set(t1 + 30 * MIN)
    for (const [region, r] of sockets) {
      const frames = r.of<KpiFrame>('kpis')
      const frame = frames.at(-1)!
      expect(frame.at).toBe(iso(t1))
      expect(frame.values.overdueOpen, region).toBe(1)
      // Changes at one instant share its `at`: the last frame of each instant holds for it.
      const lastOfInstant = [...new Map(frames.map((f) => [f.at, f])).values()]
      expect(lastOfInstant.length).toBeGreaterThanOrEqual(2)
      for (const f of lastOfInstant) {
        const http = await httpAt(srv, officer, f)
        expect({ from: f.from, to: f.to, at: f.at }, region).toEqual({
          from: http.from,
          to: http.to,
          at: http.at,
        })
        expect(f.values, `${region} at ${f.at}`).toEqual(http.values)
      }
      const gridFrames = r.of<GridsFrame>('grids')
      expect(gridFrames.length).toBeGreaterThan(0)
      for (const g of gridFrames) {
        expect(Number.isNaN(Date.parse(g.at)), JSON.stringify(g)).toBe(false)
        expect(g.at).toMatch(/\+08:00$/)
      }
      // The grid that fell overdue: its frame holds for the same instant as the kpis frame.
      const overdueGrid = gridFrames.find((g) => g.at === iso(t1))
      expect(overdueGrid?.grids.find((x) => x[0] === first.gridCode)?.[2]).toBe(1)
    }
  })
})

describe('the subscribe snapshot', () => {
  const clock = manualClock()
  let srv: LiveTestServer
  let officer: string
  const sockets: Recorder[] = []

  beforeAll(async () => {
    // Ticks an hour apart: nothing but the subscribe itself can move the deadline clock here.
    srv = await startComposedLiveServer({ clock, live: { tickMs: 3_600_000 } })
    officer = await mintToken(srv.http, 'officer')
  })
  afterAll(async () => {
    for (const r of sockets) r.close()
    await srv?.stop()
  })

  it('runs the deadline clock at its own instant: an event overdue since the last tick is overdue in it', async () => {
    const street = srv.system.city.children(DISTRICT)[0]!.code
    const grid = srv.system.city.gridsOf(street)[0]!.code
    const e = await post(srv, grid, 'CG0103', toDispatched)
    const before = await connectSynced(srv.base, { token: officer })
    sockets.push(before)
    const ack0 = await before.subscribe(DISTRICT)
    if (!ack0.ok) throw new Error(JSON.stringify(ack0.error))
    expect(ack0.data.kpis.at).toBe(iso(FIXED_NOW))
    expect(ack0.data.kpis.values.overdueOpen).toBe(0)

    const at = Date.parse(e.deadline!) + 1500
    clock.set(at)
    for (const region of [DISTRICT, street, grid]) {
      const r = await connectSynced(srv.base, { token: officer })
      sockets.push(r)
      const ack = await r.subscribe(region)
      if (!ack.ok) throw new Error(JSON.stringify(ack.error))
      const k = ack.data.kpis
      expect(k.at, region).toBe(iso(at))
      expect(k.values.overdueOpen, region).toBe(1)
      expect(k.values.overdueRate, region).toBe(1)
      const http = await httpAt(srv, officer, k)
      expect(k.values, region).toEqual(http.values)
      // The grid aggregates and the alerts agree with the figures.
      expect(ack.data.grids.find((g) => g[0] === grid)?.[2], region).toBe(1)
      expect(
        ack.data.alerts?.map((a) => (a.kind === 'overdue' ? a.eventId : '')),
        region,
      ).toEqual([e.id])
    }
  })
})
