/**
 * What each audience sees on `/live` (issue #3, acceptance 3): a canary event with a known reporter
 * name, phone, description and notes goes through its whole lifecycle (with an overdue alert, a
 * surge and patrol positions on the way); no frame sent to a `public` socket, acknowledgements
 * included, carries any of it, and public sockets get no `change`, `positions` or `alert` at all,
 * while an officer gets the reporter in full and a leader gets it masked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AlertFrame, ChangeFrame, GridsFrame, KpiFrame, Snapshot } from '../../shared/live.ts'
import { maskReporter } from '../../shared/pii.ts'
import { ADMIN_TOKEN, call, FIXED_NOW, manualClock, mintToken, type ApiEvent } from './helpers.ts'
import {
  DISTRICT,
  liveSocket,
  startLiveServer,
  until,
  type LiveTestServer,
  type Recorder,
} from './live-helpers.ts'

const NAME = '欧阳金丝雀'
const PHONE = '13700429917'
const DESCRIPTION = 'CANARY-7f3a9 井盖缺失 at 金丝雀路 12 号'
const NOTE = 'CANARY-NOTE-b41c 联系欧阳先生'
const SECRETS = [NAME, PHONE, DESCRIPTION, 'CANARY', '金丝雀', '欧阳', '0429917']
const MIN = 60_000
const iso8 = (ms: number): string => new Date(ms + 8 * 3_600_000).toISOString().replace('Z', '+08:00')

let srv: LiveTestServer
const clock = manualClock()
let grid: string
let street: string
let canaryId: string
let lastSeq: number
const publicSockets: Recorder[] = []
const publicAcks: unknown[] = []
let officer: Recorder
let leader: Recorder
/** An officer on the canary's grid (person figures are theirs to see). */
let officerOnGrid: Recorder
let officerGridAck: unknown

async function connected(token: string, opts: { since?: number } = {}): Promise<Recorder> {
  const r = liveSocket(srv.base, { token, ...opts })
  await new Promise<void>((resolve, reject) => {
    r.socket.once('connect', () => resolve())
    r.socket.once('connect_error', reject)
    r.socket.connect()
  })
  return r
}

async function act(id: string, body: Record<string, unknown>): Promise<ApiEvent> {
  const r = await call<ApiEvent>(srv.http, `/api/v1/events/${id}/actions`, { token: ADMIN_TOKEN, body })
  expect(r.status, JSON.stringify(r.body)).toBe(200)
  return r.body
}

beforeAll(async () => {
  srv = await startLiveServer({ clock })
  street = srv.system.city.children(DISTRICT)[2]!.code
  const g = srv.system.city.gridsOf(street)[0]!
  grid = g.code
  const [pub, off, lead] = await Promise.all([
    mintToken(srv.http, 'public'),
    mintToken(srv.http, 'officer'),
    mintToken(srv.http, 'leader'),
  ])

  // Public sockets on the district, the street and the canary's grid (one also asks for a replay).
  for (const [region, since] of [
    [DISTRICT, undefined],
    [street, 0],
    [grid, undefined],
  ] as const) {
    const r = await connected(pub, since === undefined ? {} : { since })
    publicSockets.push(r)
    publicAcks.push(await r.subscribe(region))
  }
  officer = await connected(off)
  leader = await connected(lead)
  expect((await officer.subscribe(DISTRICT)).ok).toBe(true)
  expect((await leader.subscribe(DISTRICT)).ok).toBe(true)
  officerOnGrid = await connected(off)

  // The canary's whole lifecycle, over HTTP.
  const reported = await call<ApiEvent>(srv.http, '/api/v1/events', {
    token: ADMIN_TOKEN,
    body: {
      category: 'CG0103', // 道路保洁: 2 working hours
      description: DESCRIPTION,
      lat: g.centroid[1],
      lng: g.centroid[0],
      gridCode: grid,
      source: 'hotline',
      reporter: { name: NAME, phone: PHONE },
    },
  })
  expect(reported.status).toBe(201)
  canaryId = reported.body.id
  // A snapshot taken while the canary is open, by every public socket.
  for (const [i, region] of [DISTRICT, street, grid].entries())
    publicAcks.push(await publicSockets[i]!.subscribe(region))

  await act(canaryId, { action: 'accept', note: NOTE })
  await act(canaryId, { action: 'file', note: NOTE })
  await act(canaryId, { action: 'dispatch', department: '环卫处', note: NOTE })
  // Two more reports in the grid within the hour: a surge.
  for (let i = 0; i < 2; i++) {
    const r = await call(srv.http, '/api/v1/events', {
      token: ADMIN_TOKEN,
      body: {
        category: 'CG0101',
        description: `${DESCRIPTION} (${i})`,
        lat: g.centroid[1],
        lng: g.centroid[0],
        gridCode: grid,
        source: 'patrol',
        reporter: { name: NAME, phone: PHONE },
      },
    })
    expect(r.status).toBe(201)
  }
  // Patrol positions of the grid's worker.
  const worker = srv.system.city.workers().find((w) => w.gridCode === grid)!
  const pos = await call(srv.http, '/api/v1/positions', {
    token: ADMIN_TOKEN,
    body: {
      positions: [{ workerId: worker.id, lat: g.centroid[1], lng: g.centroid[0], at: iso8(FIXED_NOW) }],
    },
  })
  expect(pos.status).toBe(202)
  await until(() => officer.of('positions').length > 0, 'a positions frame for the officer')
  // Subscribed once the worker is on duty: its snapshot carries the grid's person figures.
  officerGridAck = await officerOnGrid.subscribe(grid)
  for (const [i, region] of [DISTRICT, street, grid].entries())
    publicAcks.push(await publicSockets[i]!.subscribe(region))

  // Extended (before the deadline, as the rule requires) by half a minute; then past it: overdue,
  // flashed on the wall.
  await act(canaryId, { action: 'extend', until: iso8(FIXED_NOW + 2 * 60 * MIN + 30_000), note: NOTE })
  clock.set(FIXED_NOW + 2 * 60 * MIN + MIN)
  await until(
    () => officer.of<AlertFrame>('alert').some((a) => a.kind === 'overdue' && a.eventId === canaryId),
    'the overdue alert',
  )
  await act(canaryId, { action: 'handle', note: NOTE })
  await act(canaryId, { action: 'verify', passed: false, note: NOTE })
  await act(canaryId, { action: 'handle', note: NOTE })
  await act(canaryId, { action: 'verify', passed: true, note: NOTE })
  const last = await act(canaryId, { action: 'evaluate', satisfaction: 'very_satisfied', note: NOTE })
  lastSeq = last.seq

  // Every public socket has seen the end of the lifecycle (a KPI frame at its seq).
  for (const [i, r] of publicSockets.entries())
    await until(
      () => r.of<KpiFrame>('kpis').some((k) => k.seq >= lastSeq),
      `public socket ${i}: a kpis frame at the last seq`,
    )
  await until(() => officer.lastSeq() >= lastSeq && leader.lastSeq() >= lastSeq, 'the internal sockets')
})

afterAll(async () => {
  for (const r of [...publicSockets, officer, leader, officerOnGrid]) r?.close()
  await srv?.stop()
})

describe('a public socket', () => {
  it('was live through the lifecycle: kpis and grids frames for its region', () => {
    for (const r of publicSockets) {
      expect(r.of('kpis').length).toBeGreaterThan(0)
      const grids = r.of<GridsFrame>('grids').flatMap((f) => f.grids)
      expect(grids.some((g) => g[0] === grid && g[3] >= 3)).toBe(true)
    }
  })

  it('gets only kpis and grids frames (and synced): no change, positions or alert', () => {
    for (const r of publicSockets) {
      const kinds = new Set(r.frames.map((f) => f.event))
      kinds.delete('synced')
      expect([...kinds].sort()).toEqual(['grids', 'kpis'])
    }
  })

  it('never receives the reporter, the phone, the description or a note, in any frame or ack', () => {
    const text = JSON.stringify([publicAcks, publicSockets.map((r) => r.frames)])
    expect(publicAcks).toHaveLength(9)
    for (const s of SECRETS) expect(text, s).not.toContain(s)
    expect(text).not.toContain(canaryId)
    expect(text).not.toContain('环卫处')
  })
})

describe('person figures (one grid, one worker)', () => {
  type Ack = { ok: true; data: Snapshot }
  const acks = () => publicAcks as Ack[]
  const gridFrames = (r: Recorder) => r.of<GridsFrame>('grids').flatMap((f) => f.grids)

  it('a public socket never gets a grid’s onlineWorkers or patrolCoverage, in frames or snapshots', () => {
    const onGrid = publicSockets[2]!
    const values = [
      ...onGrid.of<KpiFrame>('kpis').map((k) => k.values),
      ...acks()
        .filter((a) => a.data.region === grid)
        .map((a) => a.data.kpis.values),
    ]
    expect(values.length).toBeGreaterThan(3)
    for (const v of values) {
      expect(v.onlineWorkers).toBeNull()
      expect(v.patrolCoverage).toBeNull()
    }
    for (const r of publicSockets)
      for (const k of r.of<KpiFrame>('kpis'))
        if (k.region === grid) expect([k.values.onlineWorkers, k.values.patrolCoverage]).toEqual([null, null])
  })

  it('a public socket never gets a patrol figure per grid, on the grid or on the district', () => {
    for (const r of publicSockets) for (const g of gridFrames(r)) expect(g[4], g[0]).toBeNull()
    for (const a of acks()) for (const g of a.data.grids) expect(g[4], g[0]).toBeNull()
    expect(acks().flatMap((a) => a.data.grids).length).toBeGreaterThan(0)
  })

  it('the district’s own figures stay public (they describe no one)', () => {
    const district = publicSockets[0]!.of<KpiFrame>('kpis').at(-1)!
    expect(district.region).toBe(DISTRICT)
    expect(typeof district.values.onlineWorkers).toBe('number')
  })

  it('an officer gets them: the grid’s on-duty count, coverage and patrol figures', () => {
    const ack = officerGridAck as Ack
    expect(ack.ok).toBe(true)
    expect(ack.data.kpis.values.onlineWorkers).toBe(1)
    expect(typeof ack.data.kpis.values.patrolCoverage).toBe('number')
    expect(ack.data.grids.map((g) => g[4])).toEqual([0])
    const frames = gridFrames(officer)
    expect(frames.length).toBeGreaterThan(0)
    for (const g of frames) expect(typeof g[4], g[0]).toBe('number')
    for (const k of officerOnGrid.of<KpiFrame>('kpis')) expect(typeof k.values.onlineWorkers).toBe('number')
  })
})

describe('internal sockets', () => {
  const canary = (r: Recorder): ChangeFrame[] => r.changes().filter((c) => c.event.id === canaryId)
  const ACTIONS = [
    'report',
    'accept',
    'file',
    'dispatch',
    'extend',
    'handle',
    'verify',
    'handle',
    'verify',
    'evaluate',
  ]

  it('an officer gets every change of the canary with the reporter in full', () => {
    const frames = canary(officer)
    expect(frames.map((f) => f.event.action)).toEqual(ACTIONS)
    for (const f of frames) {
      expect(f.event.reporter).toEqual({ name: NAME, phone: PHONE })
      expect(f.event.description).toBe(DESCRIPTION)
    }
    expect(frames[3]!.event.data).toMatchObject({ department: '环卫处', note: NOTE })
  })

  it('a leader gets the same changes with the reporter masked', () => {
    const frames = canary(leader)
    expect(frames.map((f) => f.event.action)).toEqual(ACTIONS)
    const masked = maskReporter({ name: NAME, phone: PHONE })
    expect(masked).toEqual({ name: '欧****', phone: '137****9917' })
    for (const f of frames) expect(f.event.reporter).toEqual(masked)
    expect(JSON.stringify(leader.frames)).not.toContain(PHONE)
    expect(JSON.stringify(leader.frames)).not.toContain(NAME)
  })

  it('officers and leaders get the overdue and surge alerts and positions', () => {
    for (const r of [officer, leader]) {
      const alerts = r.of<AlertFrame>('alert')
      expect(alerts.some((a) => a.kind === 'overdue' && a.eventId === canaryId)).toBe(true)
      expect(alerts.some((a) => a.kind === 'surge' && a.gridCode === grid)).toBe(true)
      expect(r.of('positions').length).toBeGreaterThan(0)
    }
  })
})

describe('a token scoped to a street', () => {
  it('gets the positions of its own workers only, in the snapshot and in positions frames', async () => {
    const scoped = await connected(await mintToken(srv.http, 'officer', { region: street }))
    const workers = srv.system.city.workers()
    const inside = workers.filter((w) => w.gridCode.startsWith(street)).slice(0, 2)
    const outside = workers.filter((w) => !w.gridCode.startsWith(street)).slice(0, 2)
    const ping = async () => {
      const positions = [...inside, ...outside].map((w) => {
        const c = srv.system.city.region(w.gridCode)!.centroid
        return { workerId: w.id, lng: c[0], lat: c[1], at: iso8(clock.now()) }
      })
      expect(
        (await call(srv.http, '/api/v1/positions', { token: ADMIN_TOKEN, body: { positions } })).status,
      ).toBe(202)
    }
    await ping()
    try {
      const ack = await scoped.subscribe(street)
      if (!ack.ok) throw new Error(JSON.stringify(ack.error))
      const ids = ack.data.workerIds!
      const idsIn = (flat: number[]) => flat.filter((_, i) => i % 3 === 0).map((i) => ids[i]!)
      await ping()
      await until(() => scoped.of<{ workers: number[] }>('positions').length > 0, 'a positions frame')
      const seen = [
        ...idsIn(ack.data.positions!.workers),
        ...scoped.of<{ workers: number[] }>('positions').flatMap((f) => idsIn(f.workers)),
      ]
      expect(seen).toEqual(expect.arrayContaining(inside.map((w) => w.id)))
      expect(seen.filter((id) => outside.some((w) => w.id === id))).toEqual([])
    } finally {
      scoped.close()
    }
  })
})
