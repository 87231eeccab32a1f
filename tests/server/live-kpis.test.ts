/**
 * Live KPI frames equal the HTTP KPIs (issue #3, acceptance 5): with a fixed injected clock, once a
 * `kpis` frame arrives and nothing else is being written, `GET /api/v1/kpis?region=` for the same
 * region answers the same seq, period and values — for the district, a street, a community and a
 * grid, after lifecycle changes of every kind, patrol rounds and pings, and after time moves on
 * (events fall overdue, workers go offline) without any new change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { KpiFrame } from '../../shared/live.ts'
import { ADMIN_TOKEN, call, FIXED_NOW, manualClock, mintToken, tempDir } from './helpers.ts'
import {
  changeDriver,
  connectSynced,
  DISTRICT,
  startLiveServer,
  until,
  type LiveTestServer,
  type Recorder,
} from './live-helpers.ts'

const MIN = 60_000
const DAY = 86_400_000
const iso8 = (ms: number): string => new Date(ms + 8 * 3_600_000).toISOString().replace('Z', '+08:00')

interface HttpKpis {
  region: string
  from: string
  to: string
  seq: number
  values: KpiFrame['values']
}

let srv: LiveTestServer
const dir = tempDir('live-kpis')
const clock = manualClock()
let officer: string
let regions: string[]
const sockets = new Map<string, Recorder>()

beforeAll(async () => {
  srv = await startLiveServer({ clock, dataDir: dir.path })
  officer = await mintToken(srv.http, 'officer')
  const street = srv.system.city.children(DISTRICT)[1]!.code
  const community = srv.system.city.children(street)[0]!.code
  const grid = srv.system.city.gridsOf(community)[0]!.code
  regions = [DISTRICT, street, community, grid]
  for (const region of regions) {
    const r = await connectSynced(srv.base, { token: officer })
    const ack = await r.subscribe(region)
    expect(ack.ok).toBe(true)
    sockets.set(region, r)
  }
})
afterAll(async () => {
  for (const r of sockets.values()) r.close()
  await srv?.stop()
  dir.remove()
})

const district = () => regions[0]!
const street = () => regions[1]!
const community = () => regions[2]!
const grid = () => regions[3]!
const gridNode = () => srv.system.city.region(grid())!

async function report(gridCode: string, opts: { category?: string; at?: number } = {}): Promise<string> {
  const g = srv.system.city.region(gridCode)!
  const r = await srv.system.events.report({
    category: opts.category ?? 'CG0101',
    description: 'kpi event',
    lat: g.centroid[1],
    lng: g.centroid[0],
    gridCode,
    source: 'patrol',
    ...(opts.at !== undefined ? { reportedAt: opts.at } : {}),
  })
  return r.event.id
}
const act = (id: string, body: Parameters<typeof srv.system.events.act>[1], at?: number) =>
  srv.system.events.act(id, body, at)

/**
 * Wait until every region's latest kpis frame is at `seq` and newer than `after` frames, then compare
 * each with the HTTP answer (nothing is written meanwhile, and the clock stands still).
 */
async function expectFramesEqualHttp(seq: number, after: Map<string, number>): Promise<void> {
  for (const region of regions) {
    const r = sockets.get(region)!
    await until(() => {
      const frames = r.of<KpiFrame>('kpis')
      return frames.length > after.get(region)! && frames.at(-1)!.seq === seq
    }, `a kpis frame at seq ${seq} for ${region}`)
  }
  for (const region of regions) {
    const frame = sockets.get(region)!.of<KpiFrame>('kpis').at(-1)!
    const http = await call<HttpKpis>(srv.http, `/api/v1/kpis?region=${region}`, { token: officer })
    expect(http.status).toBe(200)
    expect({ region: frame.region, seq: frame.seq, from: frame.from, to: frame.to }, region).toEqual({
      region: http.body.region,
      seq: http.body.seq,
      from: http.body.from,
      to: http.body.to,
    })
    expect(frame.values, region).toEqual(http.body.values)
  }
}
const frameCounts = () => new Map(regions.map((r) => [r, sockets.get(r)!.of('kpis').length]))

describe('kpis frames equal GET /api/v1/kpis at the same seq', () => {
  it('after lifecycle changes of every kind, patrol rounds and online pings', async () => {
    const before = frameCounts()
    const now = clock.now()
    // Patrol: the grid's worker walks two rounds (17 minutes each), one starting before the local
    // midday (10:00) and one after (14:52), and is online now (15:29).
    const worker = srv.system.city.workers().find((w) => w.gridCode === grid())!
    const [lng, lat] = gridNode().centroid
    const pings = [
      ...Array.from({ length: 17 }, (_, i) => now - (330 - i) * MIN),
      ...Array.from({ length: 17 }, (_, i) => now - (38 - i) * MIN),
      now - MIN,
    ].map((at) => ({ workerId: worker.id, lng, lat, at: iso8(at) }))
    const pos = await call(srv.http, '/api/v1/positions', { token: ADMIN_TOKEN, body: { positions: pings } })
    expect(pos.status).toBe(202)

    // Older events: dispatched two days ago and now overdue; handled late; evaluated today.
    const old = await report(grid(), { at: now - 3 * DAY })
    await act(old, { action: 'accept' }, now - 3 * DAY + MIN)
    await act(old, { action: 'file' }, now - 3 * DAY + 2 * MIN)
    await act(old, { action: 'dispatch', department: '城管执法局' }, now - 2 * DAY)
    const late = await report(srv.system.city.gridsOf(community())[1]!.code, { at: now - 3 * DAY })
    await act(late, { action: 'accept' }, now - 3 * DAY + MIN)
    await act(late, { action: 'file' }, now - 3 * DAY + 2 * MIN)
    await act(late, { action: 'dispatch', department: '环卫处' }, now - 3 * DAY + 3 * MIN)
    await act(late, { action: 'handle' }, now - DAY)
    await act(late, { action: 'verify', passed: true }, now - DAY + MIN)
    await act(late, { action: 'evaluate', satisfaction: 'dissatisfied' })

    // Today, in the grid: every kind of move.
    const ids: string[] = []
    for (let i = 0; i < 8; i++) ids.push(await report(grid(), { category: i % 2 ? 'CG0103' : 'CG0102' }))
    for (const id of ids.slice(0, 6)) {
      await act(id, { action: 'accept' })
      await act(id, { action: 'file' })
      await act(id, { action: 'dispatch', department: '环卫处' })
    }
    await act(ids[0]!, { action: 'handle' })
    await act(ids[0]!, { action: 'verify', passed: true })
    await act(ids[0]!, { action: 'evaluate', satisfaction: 'very_satisfied' })
    await act(ids[1]!, { action: 'handle' })
    await act(ids[1]!, { action: 'verify', passed: false })
    await act(ids[2]!, { action: 'extend' })
    await act(ids[3]!, { action: 'return' })
    await act(ids[4]!, { action: 'handle' })
    await act(ids[6]!, { action: 'cancel' })
    await act(ids[7]!, { action: 'self_handle' })
    const last = await srv.system.events.report({
      category: 'CG0201',
      description: 'the last one',
      lat,
      lng,
      gridCode: grid(),
      source: 'hotline',
    })
    await expectFramesEqualHttp(last.change.seq, before)
    const values = sockets.get(grid())!.of<KpiFrame>('kpis').at(-1)!.values
    expect(values.onlineWorkers).toBe(1)
    expect(values.patrolCoverage).toBe(1)
    expect(values.overdueOpen).toBe(1)
  })

  it('after a burst of 300 changes across the street', async () => {
    const before = frameCounts()
    await changeDriver(srv.system, { region: street(), seed: 5 }).run(300, { chunk: 20 })
    const seq = await srv.system.events
      .report({
        category: 'CG0101',
        description: 'end of burst',
        lat: gridNode().centroid[1],
        lng: gridNode().centroid[0],
        gridCode: grid(),
        source: 'video',
      })
      .then((r) => r.change.seq)
    await expectFramesEqualHttp(seq, before)
  })

  it('after time moves on with no new change: events fall overdue, workers go offline', async () => {
    const before = frameCounts()
    const seq = await srv.system.store.lastSeq()
    const overdueBefore = sockets.get(district())!.of<KpiFrame>('kpis').at(-1)!.values.overdueOpen
    clock.set(FIXED_NOW + 2 * 60 * MIN + 5 * MIN) // past the 2-hour limit of CG0103 dispatched at 15:30
    await expectFramesEqualHttp(seq, before)
    const now = sockets.get(grid())!.of<KpiFrame>('kpis').at(-1)!.values
    expect(now.onlineWorkers).toBe(0)
    expect(sockets.get(district())!.of<KpiFrame>('kpis').at(-1)!.values.overdueOpen).toBeGreaterThan(
      overdueBefore,
    )
  })

  it("after midnight: frames for the new day, then the new day's changes", async () => {
    let before = frameCounts()
    const oldFrom = sockets.get(district())!.of<KpiFrame>('kpis').at(-1)!.from
    clock.set(FIXED_NOW + 17 * 60 * MIN + 30 * MIN) // Thursday 09:00
    await expectFramesEqualHttp(await srv.system.store.lastSeq(), before)
    const frame = sockets.get(district())!.of<KpiFrame>('kpis').at(-1)!
    expect(frame.from).not.toBe(oldFrom)
    expect(frame.values.reported).toBe(0)
    before = frameCounts()
    await report(grid())
    const id = await report(grid(), { category: 'CG0103' })
    await act(id, { action: 'self_handle' })
    await expectFramesEqualHttp(await report(grid()).then(() => srv.system.store.lastSeq()), before)
    expect(sockets.get(grid())!.of<KpiFrame>('kpis').at(-1)!.values.reported).toBe(3)
  })

  it('after a restart: the rebuilt live state gives the same figures in the subscribe snapshot', async () => {
    for (const r of sockets.values()) r.close()
    sockets.clear()
    await srv.stop()
    srv = await startLiveServer({ clock, dataDir: dir.path })
    officer = await mintToken(srv.http, 'officer')
    for (const region of regions) {
      const r = await connectSynced(srv.base, { token: officer })
      sockets.set(region, r)
      const ack = await r.subscribe(region)
      if (!ack.ok) throw new Error(JSON.stringify(ack.error))
      const http = await call<HttpKpis>(srv.http, `/api/v1/kpis?region=${region}`, { token: officer })
      expect(ack.data.kpis.seq, region).toBe(http.body.seq)
      expect(ack.data.kpis.values, region).toEqual(http.body.values)
      // What is overdue now is listed as alerts, one per overdue open event (fewer than the cap here).
      const alerts = ack.data.alerts ?? []
      expect(alerts.length, region).toBe(http.body.values.overdueOpen)
      for (const a of alerts) expect(a.kind === 'overdue' && a.gridCode.startsWith(region)).toBe(true)
    }
  })
})
