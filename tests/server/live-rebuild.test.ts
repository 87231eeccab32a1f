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
import type { Store } from '../../server/store/store.ts'
import { ADMIN_TOKEN, call, FIXED_NOW, manualClock, mintToken } from './helpers.ts'
import {
  changeDriver,
  connectSynced,
  DISTRICT,
  expectExactlyTheLog,
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
/** Reads of the change log that fail from now on. */
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
        return async () => {
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
