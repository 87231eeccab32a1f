/**
 * The live stream survives store errors (issue #9). At midnight the live state is rebuilt from the
 * store; when that read fails, the error is reported through `onError`, never left as an unhandled
 * rejection (which ends the process), and the rebuild is retried with back-off until it succeeds:
 * then the kpis frames cover the new day and equal `GET /api/v1/kpis`. A replay whose read fails
 * closes the transport (no "io server disconnect"), so the client retries by itself and gets every
 * change once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { KpiFrame } from '../../shared/live.ts'
import { formatIsoWithOffset, startOfLocalDay } from '../../shared/working-time.ts'
import { createKpiService } from '../../server/domain/kpi-service.ts'
import { createLiveServer } from '../../server/live/live-server.ts'
import { createLiveState } from '../../server/live/live-state.ts'
import type { Store } from '../../server/store/store.ts'
import { createSystem, type System } from '../../server/system.ts'
import {
  ADMIN_TOKEN,
  call,
  FIXED_NOW,
  httpRequester,
  manualClock,
  mintToken,
  tempDir,
  type Requester,
} from './helpers.ts'
import {
  changeDriver,
  connectSynced,
  DISTRICT,
  expectExactlyTheLog,
  liveConfig,
  liveSocket,
  logAfter,
  startComposedLiveServer,
  until,
  type ComposedLiveServer,
  type Recorder,
} from './live-helpers.ts'

const TZ = 'Asia/Shanghai'
const clock = manualClock()
/** Store reads of the day snapshot that fail from now on (the injected fault). */
let failing = 0
/**
 * Replay reads of the change log that fail from now on: reads from the start of the log only, so
 * that the change feed's own poll (reading from its position, past the first change) never takes
 * the fault meant for the replay.
 */
let failingLog = 0
const reported: { op: string; err: unknown }[] = []
const unhandled: unknown[] = []
const onUnhandled = (reason: unknown) => void unhandled.push(reason)

/** The real store, with `kpiSnapshot` failing while `failing` > 0 (a disk error, say). */
const faulty = (store: Store): Store =>
  new Proxy(store, {
    get(target, key, receiver) {
      if (key === 'kpiSnapshot' && failing > 0)
        return async () => {
          failing--
          throw new Error('SQLITE_IOERR: disk I/O error (injected)')
        }
      if (key === 'listChanges' && failingLog > 0)
        return async (after: number, limit: number) => {
          if (after !== 0) return target.listChanges(after, limit)
          failingLog--
          throw new Error('SQLITE_BUSY: database is locked (injected)')
        }
      const v = Reflect.get(target, key, receiver) as unknown
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
    },
  })

let srv: ComposedLiveServer
let officer: string
let socket: Recorder

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled)
  srv = await startComposedLiveServer({
    clock,
    wrapStore: faulty,
    live: { tickMs: 50, onError: (op, err) => void reported.push({ op, err }) },
  })
  officer = await mintToken(srv.http, 'officer')
  await changeDriver(srv.system, { seed: 5 }).run(30)
  socket = await connectSynced(srv.base, { token: officer })
  expect((await socket.subscribe(DISTRICT)).ok).toBe(true)
})
afterAll(async () => {
  socket?.close()
  await srv?.stop()
  process.off('unhandledRejection', onUnhandled)
})

describe('the midnight rebuild', () => {
  it('reports a store error, retries with back-off and then serves the new day', async () => {
    const today = startOfLocalDay(FIXED_NOW, TZ)
    const tomorrow = startOfLocalDay(today + 36 * 3_600_000, TZ)
    const tomorrowIso = formatIsoWithOffset(tomorrow, TZ)
    failing = 3
    clock.set(tomorrow + 60_000)

    await until(
      () => socket.of<KpiFrame>('kpis').some((k) => k.from === tomorrowIso),
      'a kpis frame for the new day',
      20_000,
    )
    expect(unhandled).toEqual([])
    expect(failing).toBe(0)
    expect(reported.map((r) => r.op)).toEqual(['rebuild', 'rebuild', 'rebuild'])
    expect(String(reported[0]!.err)).toContain('SQLITE_IOERR')

    const frame = socket.of<KpiFrame>('kpis').at(-1)!
    const http = await call<{ from: string; seq: number; values: KpiFrame['values'] }>(
      srv.http,
      `/api/v1/kpis?region=${DISTRICT}`,
      { token: officer },
    )
    expect(http.status).toBe(200)
    expect({ from: frame.from, seq: frame.seq }).toEqual({ from: http.body.from, seq: http.body.seq })
    expect(frame.values).toEqual(http.body.values)
    expect(frame.values.reported).toBe(0)
  })
})

describe('a replay', () => {
  it('whose log read fails closes the transport: the client retries by itself and gets every change once', async () => {
    reported.length = 0
    const last = await changeDriver(srv.system, { seed: 9 }).run(20)
    failingLog = 1
    const r = liveSocket(srv.base, {
      token: ADMIN_TOKEN,
      since: 0,
      sinceFromLastSeq: true,
      reconnection: true,
    })
    r.socket.connect()
    try {
      await until(() => r.lastSeq() >= last && r.synced() > 0, 'the replay after the retry', 20_000)
      expect(failingLog).toBe(0)
      expect(reported.map((x) => x.op)).toEqual(['replay'])
      expect(r.disconnects).toEqual(['transport close'])
      expectExactlyTheLog(r.changes(), await logAfter(srv.http, 0))
      expect(unhandled).toEqual([])
    } finally {
      r.close()
    }
  })
})

/**
 * Issue 10, item 6: while the new day is being built, nothing goes out (no kpis or grids frame, no
 * subscribe snapshot), the day switches once its figures are in, and the pings and changes that
 * arrive meanwhile are applied after it. The real system (HTTP, event service, patrol ingest), with
 * the live state reading a store whose day snapshot, once read, waits at a gate: the rebuild is
 * held open at will while pings, a report and a subscribe come in.
 */
describe('a rebuild in progress', () => {
  const wed = Date.parse('2026-11-25T23:58:00+08:00')
  const thuStart = Date.parse('2026-11-26T00:00:00+08:00')
  const mid = manualClock(wed)
  let gate: Promise<void> | null = null
  let open: () => void = () => undefined
  let held = 0
  let sys: System
  let base = ''
  let http: Requester
  let dir: { path: string; remove: () => void }
  const opened: Recorder[] = []

  /** The store as the live state reads it: the day snapshot waits at the gate after the read. */
  const gated = (store: Store): Store =>
    new Proxy(store, {
      get(target, key, receiver) {
        const v = Reflect.get(target, key, receiver) as unknown
        if (key === 'kpiSnapshot')
          return async (...args: Parameters<Store['kpiSnapshot']>) => {
            const snap = await target.kpiSnapshot(...args)
            if (gate) {
              held++
              await gate
            }
            return snap
          }
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
      },
    })

  beforeAll(async () => {
    dir = tempDir('live-midnight')
    const config = liveConfig(dir.path)
    sys = await createSystem(config, {
      clock: mid,
      live: (o) => {
        const store = gated(o.store)
        const dayOf = createKpiService({
          store,
          clock: mid,
          calendar: config.calendar,
          city: o.city,
          weights: config.weights,
        }).dayOf
        const state = createLiveState({
          store,
          clock: mid,
          calendar: config.calendar,
          city: o.city,
          weights: config.weights,
          dayOf,
        })
        return createLiveServer({ ...o, state, store, tickMs: 50 })
      },
    })
    await sys.start()
    base = `http://127.0.0.1:${await sys.listen()}`
    http = httpRequester(base)
  })
  afterAll(async () => {
    for (const r of opened) r.close()
    await sys?.stop()
    dir?.remove()
  })

  const report = async (i: number) => {
    const g = sys.city.gridsOf(DISTRICT)[i]!
    const r = await call(http, '/api/v1/events', {
      token: ADMIN_TOKEN,
      body: {
        category: 'CG0101',
        description: `midnight ${i}`,
        lat: g.centroid[1],
        lng: g.centroid[0],
        source: 'hotline',
      },
    })
    expect(r.status).toBe(201)
  }
  const ping = async (workerId: string, at: number) => {
    const w = sys.city.workers().find((x) => x.id === workerId)!
    const [lng, lat] = sys.city.region(w.gridCode)!.centroid
    const r = await call(http, '/api/v1/positions', {
      token: ADMIN_TOKEN,
      body: { positions: [{ workerId, lng, lat, at: formatIsoWithOffset(at, TZ) }] },
    })
    expect(r.status).toBe(202)
  }
  const httpKpis = async (token: string) => {
    const r = await call<{ from: string; seq: number; values: KpiFrame['values'] }>(
      http,
      `/api/v1/kpis?region=${DISTRICT}`,
      { token },
    )
    expect(r.status).toBe(200)
    return r.body
  }

  it('holds frames and snapshots, switches the day with its figures, then applies what came meanwhile', async () => {
    const token = await mintToken(http, 'officer')
    const worker = sys.city.workers()[0]!.id
    for (let i = 0; i < 3; i++) await report(i)
    await ping(worker, wed)
    const a = await connectSynced(base, { token })
    opened.push(a)
    expect((await a.subscribe(DISTRICT)).ok).toBe(true)
    await until(() => a.of<KpiFrame>('kpis').at(-1)?.values.reported === 3, "Wednesday's figures")

    // Midnight, with the new day's store read held at the gate.
    gate = new Promise<void>((resolve) => (open = resolve))
    mid.set(thuStart + 30_000)
    await until(() => held === 1, 'the rebuild reading the new day')
    const framesAtHold = a.frames.length

    // Meanwhile: a ping newer than the one the snapshot has, a report, and a subscribe.
    await ping(worker, thuStart + 20_000)
    await report(3)
    const b = await connectSynced(base, { token })
    opened.push(b)
    let acked: Awaited<ReturnType<Recorder['subscribe']>> | null = null
    const ack = b.subscribe(DISTRICT).then((x) => (acked = x))
    // A dozen ticks (50 ms each) go by: no snapshot, no frame while the day is being built.
    await new Promise((r) => setTimeout(r, 600))
    expect(acked === null, 'no snapshot while the new day is being built').toBe(true)
    const during = a.frames.slice(framesAtHold).filter((f) => f.event === 'kpis' || f.event === 'grids')
    expect(during).toEqual([])

    gate = null
    open()
    const res = await ack
    if (!res.ok) throw new Error(JSON.stringify(res.error))
    const thuIso = formatIsoWithOffset(thuStart, TZ)
    expect(res.data.kpis.from).toBe(thuIso)
    // The report made during the rebuild counts today; the snapshot equals the HTTP figures.
    expect(res.data.kpis.values.reported).toBe(1)
    const now = await httpKpis(token)
    expect({ from: res.data.kpis.from, seq: res.data.kpis.seq }).toEqual({ from: now.from, seq: now.seq })
    expect(res.data.kpis.values).toEqual(now.values)
    await until(() => a.of<KpiFrame>('kpis').at(-1)?.from === thuIso, 'a frame for Thursday')
    // After midnight, no frame ever carried Wednesday's counters (nor Wednesday's label).
    for (const f of a.frames.slice(framesAtHold))
      if (f.event === 'kpis') expect((f.payload as KpiFrame).from).toBe(thuIso)

    // The ping of 00:00:20 was kept: at 00:04 the worker is still on duty (the 23:58 one is not).
    const t = thuStart + 4 * 60_000
    mid.set(t)
    const again = await b.subscribe(DISTRICT)
    if (!again.ok) throw new Error(JSON.stringify(again.error))
    expect(again.data.kpis.at).toBe(formatIsoWithOffset(t, TZ))
    const later = await httpKpis(token)
    expect(later.values.onlineWorkers).toBe(1)
    expect(again.data.kpis.values).toEqual(later.values)
  })
})
