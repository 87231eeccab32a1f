/**
 * The `subscribe` acknowledgement (issue #3, acceptance 7): one snapshot at one seq with the region's
 * KPIs, per-grid aggregates, open events (capped, newest first) and, for internal roles only,
 * worker ids and positions; refusals for an unknown region and for a region outside the token.
 */
import { rmSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { GridAggregate, Snapshot } from '../../shared/live.ts'
import { maskReporter } from '../../shared/pii.ts'
import type { GridEvent } from '../../shared/types.ts'
import { ADMIN_TOKEN, call, FIXED_NOW, manualClock, mintToken } from './helpers.ts'
import { DISTRICT, liveSocket, startLiveServer, type LiveTestServer, type Recorder } from './live-helpers.ts'

const MIN = 60_000
const EVENTS = 250
const iso8 = (ms: number): string => new Date(ms + 8 * 3_600_000).toISOString().replace('Z', '+08:00')

let srv: LiveTestServer
let streets: string[]
let opened: GridEvent[]
const tokens: Record<'officer' | 'leader' | 'public' | 'scoped', string> = {
  officer: '',
  leader: '',
  public: '',
  scoped: '',
}
const sockets: Recorder[] = []

/** A connected socket (public sockets never get `synced`, so wait for `connect`). */
async function open(token: string): Promise<Recorder> {
  const r = liveSocket(srv.base, { token })
  sockets.push(r)
  await new Promise<void>((resolve, reject) => {
    r.socket.once('connect', () => resolve())
    r.socket.once('connect_error', reject)
    r.socket.connect()
  })
  return r
}

async function snapshotOf(token: string, region: string): Promise<Snapshot> {
  const res = await (await open(token)).subscribe(region)
  if (!res.ok) throw new Error(`subscribe ${region}: ${JSON.stringify(res.error)}`)
  return res.data
}

beforeAll(async () => {
  srv = await startLiveServer({ clock: manualClock() })
  const { system } = srv
  streets = system.city.children(DISTRICT).map((s) => s.code)
  const grids = system.city.gridsOf(DISTRICT)
  opened = []
  // 250 events reported a minute apart over the last ~4 hours, every 7th self-handled (closed).
  for (let i = 0; i < EVENTS; i++) {
    const g = grids[(i * 37) % grids.length]!
    const r = await system.events.report({
      category: 'CG0101',
      description: `snapshot event ${i}`,
      lat: g.centroid[1],
      lng: g.centroid[0],
      gridCode: g.code,
      source: 'hotline',
      reporter: { name: '王小明', phone: '13912345678' },
      reportedAt: FIXED_NOW - i * MIN,
    })
    if (i % 7 === 0) await system.events.act(r.event.id, { action: 'self_handle' })
    else opened.push(r.event)
  }
  // Three workers pinged a minute ago (online), one ten minutes ago (not online any more).
  const workers = system.city.workers().slice(0, 4)
  const pos = await call(srv.http, '/api/v1/positions', {
    token: ADMIN_TOKEN,
    body: {
      positions: workers.map((w, i) => {
        const c = system.city.region(w.gridCode)!.centroid
        return { workerId: w.id, lng: c[0], lat: c[1], at: iso8(FIXED_NOW - (i === 3 ? 10 : 1) * MIN) }
      }),
    },
  })
  expect(pos.status).toBe(202)
  tokens.officer = await mintToken(srv.http, 'officer')
  tokens.leader = await mintToken(srv.http, 'leader')
  tokens.public = await mintToken(srv.http, 'public')
  tokens.scoped = await mintToken(srv.http, 'officer', { region: streets[0]! })
})
/** The first server, when a test restarted it: its data directory is removed at the end. */
let restartedFrom: LiveTestServer | null = null
afterAll(async () => {
  for (const s of sockets) s.close()
  await srv?.stop()
  if (restartedFrom) rmSync(restartedFrom.dataDir, { recursive: true, force: true })
})

const head = () => srv.system.store.lastSeq()
const byGrid = (grids: GridAggregate[]) => new Map(grids.map((g) => [g[0], g]))

describe('subscribe acknowledgement for internal roles', () => {
  it('holds everything at one seq: the head of the change log, with the KPIs of that seq', async () => {
    const s = await snapshotOf(tokens.officer, DISTRICT)
    expect(s.seq).toBe(await head())
    expect(s.region).toBe(DISTRICT)
    expect(s.kpis.seq).toBe(s.seq)
    expect(s.kpis.region).toBe(DISTRICT)
    const http = await call<{ seq: number; values: unknown }>(srv.http, `/api/v1/kpis?region=${DISTRICT}`, {
      token: tokens.officer,
    })
    expect(http.body.seq).toBe(s.seq)
    expect(s.kpis.values).toEqual(http.body.values)
  })

  it('has one aggregate per grid of the district (652) with open and reported-today counts', async () => {
    const s = await snapshotOf(tokens.officer, DISTRICT)
    const codes = srv.system.city.gridsOf(DISTRICT).map((g) => g.code)
    expect(codes).toHaveLength(652)
    expect(s.grids).toHaveLength(652)
    expect(s.grids.map((g) => g[0]).sort()).toEqual([...codes].sort())
    const want = new Map<string, { open: number; reported: number }>()
    for (let i = 0; i < EVENTS; i++) {
      const code = codes[(i * 37) % codes.length]!
      const w = want.get(code) ?? { open: 0, reported: 0 }
      w.reported++
      if (i % 7 !== 0) w.open++
      want.set(code, w)
    }
    const got = byGrid(s.grids)
    for (const code of codes) {
      const w = want.get(code) ?? { open: 0, reported: 0 }
      expect(got.get(code), code).toEqual([code, w.open, 0, w.reported, 0])
    }
  })

  it('lists open events newest first, capped at 200, with descriptions and full reporters', async () => {
    const s = await snapshotOf(tokens.officer, DISTRICT)
    expect(opened.length).toBeGreaterThan(200)
    const want = [...opened].sort((a, b) => b.reportedAt - a.reportedAt).slice(0, 200)
    expect(s.openEvents!.map((e) => e.id)).toEqual(want.map((e) => e.id))
    const times = s.openEvents!.map((e) => Date.parse(e.reportedAt))
    expect(times).toEqual([...times].sort((a, b) => b - a))
    for (const e of s.openEvents!) {
      expect(e.status).toBe('reported')
      expect(e.description).toMatch(/^snapshot event \d+$/)
      expect(e.reporter).toEqual({ name: '王小明', phone: '13912345678' })
    }
  })

  it('gives worker ids and the positions of online workers only', async () => {
    const s = await snapshotOf(tokens.officer, DISTRICT)
    const ids = srv.system.city
      .workers()
      .map((w) => w.id)
      .sort()
    expect(s.workerIds).toEqual(ids)
    const triples: number[][] = []
    for (let i = 0; i < s.positions!.workers.length; i += 3)
      triples.push(s.positions!.workers.slice(i, i + 3))
    const workers = srv.system.city.workers().slice(0, 3)
    expect(triples.map((t) => s.workerIds![t[0]!]).sort()).toEqual(workers.map((w) => w.id).sort())
    for (const t of triples) {
      const w = srv.system.city.workers().find((x) => x.id === s.workerIds![t[0]!])!
      const c = srv.system.city.region(w.gridCode)!.centroid
      expect([t[1], t[2]]).toEqual([Math.round(c[0] * 1e5), Math.round(c[1] * 1e5)])
    }
  })

  it('lists the last 40 changes up to its seq, newest first, as /changes has them', async () => {
    const s = await snapshotOf(tokens.officer, DISTRICT)
    const log = (
      await call<{ changes: { seq: number; eventId: string; action: string }[] }>(
        srv.http,
        `/api/v1/changes?after=0&limit=5000`,
        { token: tokens.officer },
      )
    ).body.changes.filter((c) => c.seq <= s.seq)
    const want = log.slice(-40).reverse()
    expect(s.recent!.map((f) => [f.seq, f.event.id, f.event.action])).toEqual(
      want.map((c) => [c.seq, c.eventId, c.action]),
    )
    expect(s.recent![0]!.event.description).toMatch(/^snapshot event \d+$/)
  })

  it('masks reporters for a leader', async () => {
    const s = await snapshotOf(tokens.leader, DISTRICT)
    expect(s.openEvents!.length).toBe(200)
    for (const e of s.openEvents!)
      expect(e.reporter).toEqual(maskReporter({ name: '王小明', phone: '13912345678' }))
    expect(s.recent!.length).toBe(40)
    for (const f of s.recent!)
      expect(f.event.reporter).toEqual(maskReporter({ name: '王小明', phone: '13912345678' }))
    expect(JSON.stringify(s)).not.toContain('13912345678')
  })

  it('for a street: only its grids and its open events', async () => {
    const street = streets[0]!
    const s = await snapshotOf(tokens.officer, street)
    const codes = srv.system.city.gridsOf(street).map((g) => g.code)
    expect(s.grids.map((g) => g[0]).sort()).toEqual([...codes].sort())
    const want = opened.filter((e) => e.gridCode.startsWith(street))
    expect(s.openEvents!.map((e) => e.id).sort()).toEqual(want.map((e) => e.id).sort())
    expect(s.recent!.length).toBeGreaterThan(0)
    for (const f of s.recent!) expect(f.event.gridCode.startsWith(street), f.event.gridCode).toBe(true)
    expect(s.kpis.region).toBe(street)
  })
})

describe('subscribe acknowledgement for public', () => {
  it('has only the seq, the region, the KPIs and the grid aggregates', async () => {
    const s = await snapshotOf(tokens.public, DISTRICT)
    expect(Object.keys(s).sort()).toEqual(['grids', 'kpis', 'region', 'seq'])
    expect(s.grids).toHaveLength(652)
    expect(s.kpis.seq).toBe(s.seq)
    const text = JSON.stringify(s)
    expect(text).not.toContain('snapshot event')
    expect(text).not.toContain('王')
    expect(text).not.toContain('1391234')
  })
})

describe('subscribe refusals', () => {
  it.each(['430602999', '430602001999', '999999', 'nonsense', ''])(
    'unknown region %j → not_found',
    async (region) => {
      const res = await (await open(tokens.officer)).subscribe(region)
      expect(res.ok).toBe(false)
      if (!res.ok) expect(res.error.code).toBe('not_found')
    },
  )

  it('a region outside a scoped token → forbidden; inside it → the snapshot', async () => {
    const r = await open(tokens.scoped)
    for (const region of [DISTRICT, streets[1]!]) {
      const res = await r.subscribe(region)
      expect(res.ok, region).toBe(false)
      if (!res.ok) expect(res.error.code).toBe('forbidden')
    }
    const community = srv.system.city.children(streets[0]!)[0]!.code
    const ok = await r.subscribe(community)
    expect(ok.ok).toBe(true)
    if (ok.ok) expect(ok.data.region).toBe(community)
  })
})

describe('recent changes after a restart', () => {
  it('come from the change log: the same list as before the restart', async () => {
    const before = await snapshotOf(tokens.officer, DISTRICT)
    for (const r of sockets.splice(0)) r.close()
    const old = srv
    await old.system.stop()
    srv = await startLiveServer({ clock: manualClock(), dataDir: old.dataDir })
    restartedFrom = old
    const after = await snapshotOf(tokens.officer, DISTRICT)
    expect(after.seq).toBe(before.seq)
    expect(after.recent!.map((f) => [f.seq, f.event.id, f.event.action])).toEqual(
      before.recent!.map((f) => [f.seq, f.event.id, f.event.action]),
    )
  })
})
