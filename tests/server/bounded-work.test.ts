/**
 * Bounded work (issue 9): no query may ask for more than 400 days, or for an instant outside the
 * kept history, and the heavy reads (a month's ranking, figures as of a past instant, a long period)
 * run off the event loop, in the KPI worker, with exactly the figures the store's own snapshot gives:
 * a real listening server keeps answering /healthz within 100 ms while they are in flight.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startOfLocalDay } from '../../shared/working-time.ts'
import { openKpiSnapshotReader } from '../../server/store/sqlite-kpi-snapshot.ts'
import { ADMIN_TOKEN, call, FIXED_NOW, isoQ, manualClock, mintToken, type ErrorBody } from './helpers.ts'
import { startLiveServer, type LiveTestServer } from './live-helpers.ts'

const DAY = 86_400_000
const DISTRICT = '430602'
const CENTURY = `from=${encodeURIComponent('1926-01-01T00:00:00+08:00')}&to=${encodeURIComponent('2026-11-25T00:00:00+08:00')}`

let server: LiveTestServer
let publicToken: string
let officer: string

beforeAll(async () => {
  // Two weeks of simulated history, the clock fixed: the heavy reads have real work to do.
  server = await startLiveServer({
    clock: manualClock(FIXED_NOW),
    env: { SIMULATE: '1', BACKFILL_DAYS: '14' },
  })
  await server.system.startSimulation()
  publicToken = await mintToken(server.system.app, 'public')
  officer = await mintToken(server.system.app, 'officer')
})
afterAll(async () => {
  await server?.stop()
})

const expectInvalid = async (path: string, token: string, field: string): Promise<void> => {
  const r = await call<ErrorBody>(server.system.app, path, { token })
  expect(r.status, path).toBe(400)
  expect(r.body.error.code, path).toBe('invalid_query')
  expect(
    (r.body.error.details as { path: string }[]).map((d) => d.path),
    path,
  ).toContain(field)
}

describe('periods are bounded', () => {
  it('answers a century-long period from a public token with 400 invalid_query naming from', async () => {
    await expectInvalid(`/api/v1/kpis?region=${DISTRICT}&${CENTURY}`, publicToken, 'from')
    await expectInvalid(`/api/v1/rankings?level=street&${CENTURY}`, publicToken, 'from')
    // One bound given, the other a default: the period is still a century.
    await expectInvalid(
      `/api/v1/kpis?region=${DISTRICT}&from=${isoQ(FIXED_NOW - 36_500 * DAY)}`,
      publicToken,
      'from',
    )
    await expectInvalid(
      `/api/v1/rankings?level=community&from=${isoQ(FIXED_NOW - 36_500 * DAY)}`,
      publicToken,
      'from',
    )
    await expectInvalid(`/api/v1/events?${CENTURY}`, officer, 'from')
  })

  it('answers an at outside the kept history or in the future with 400 naming at', async () => {
    const old = FIXED_NOW - 401 * DAY
    await expectInvalid(
      `/api/v1/kpis?region=${DISTRICT}&from=${isoQ(old - DAY)}&to=${isoQ(old)}&at=${isoQ(old)}`,
      publicToken,
      'at',
    )
    await expectInvalid(`/api/v1/kpis?region=${DISTRICT}&at=${isoQ(FIXED_NOW + 60_000)}`, publicToken, 'at')
  })

  it('answers a period of exactly 400 days', async () => {
    const q = `from=${isoQ(FIXED_NOW - 400 * DAY)}&to=${isoQ(FIXED_NOW)}`
    expect(
      (await call(server.system.app, `/api/v1/kpis?region=${DISTRICT}&${q}`, { token: publicToken })).status,
    ).toBe(200)
    expect((await call(server.system.app, `/api/v1/events?${q}&limit=1`, { token: officer })).status).toBe(
      200,
    )
  })
})

describe('heavy reads off the event loop', () => {
  it('reads the same snapshot over the worker’s read-only connection as the store does', async () => {
    const reader = openKpiSnapshotReader(join(server.dataDir, 'city-brain.sqlite'))
    try {
      const day = {
        start: startOfLocalDay(FIXED_NOW, 'Asia/Shanghai'),
        end: startOfLocalDay(FIXED_NOW, 'Asia/Shanghai') + DAY,
      }
      const yesterday = { start: day.start - DAY, end: day.start }
      const cases: [string, number, number, typeof day, number, number?][] = [
        [DISTRICT, day.start, day.end, day, FIXED_NOW - 300_000],
        ['430602001', FIXED_NOW - 14 * DAY, FIXED_NOW, day, FIXED_NOW - 300_000],
        [DISTRICT, yesterday.start, FIXED_NOW - DAY, yesterday, FIXED_NOW - DAY - 300_000, FIXED_NOW - DAY],
        [
          '430602002',
          FIXED_NOW - 10 * DAY,
          FIXED_NOW - 9 * DAY,
          { start: day.start - 9 * DAY, end: day.start - 8 * DAY },
          FIXED_NOW - 9 * DAY - 300_000,
          FIXED_NOW - 9 * DAY,
        ],
      ]
      for (const c of cases) {
        const mine = await reader.kpiSnapshot(...c)
        const store = await server.system.store.kpiSnapshot(...c)
        expect(store.events.length, c.join(' ')).toBeGreaterThan(0)
        const byId = <T extends { id: string }>(xs: T[]) => [...xs].sort((a, b) => a.id.localeCompare(b.id))
        expect({ ...mine, events: byId(mine.events) }, c.join(' ')).toEqual({
          ...store,
          events: byId(store.events),
        })
      }
    } finally {
      reader.close()
    }
  })

  it('keeps /healthz within 100 ms of a real server while a month’s rankings and as-of KPIs are in flight', async () => {
    const at = FIXED_NOW - DAY
    const heavy = [
      `/api/v1/rankings?level=street&from=${isoQ(FIXED_NOW - 30 * DAY)}&to=${isoQ(FIXED_NOW)}`,
      `/api/v1/rankings?level=community&from=${isoQ(FIXED_NOW - 30 * DAY)}&to=${isoQ(FIXED_NOW)}`,
      `/api/v1/kpis?region=${DISTRICT}&from=${isoQ(startOfLocalDay(at, 'Asia/Shanghai'))}&to=${isoQ(at)}&at=${isoQ(at)}`,
      `/api/v1/kpis?region=${DISTRICT}&from=${isoQ(FIXED_NOW - 400 * DAY)}&to=${isoQ(FIXED_NOW)}`,
    ]
    const headers = { authorization: `Bearer ${ADMIN_TOKEN}` }
    // Warm: the connection to /healthz and the KPI worker are up before anything is measured.
    await (await fetch(`${server.base}/healthz`)).arrayBuffer()
    await (await fetch(`${server.base}/api/v1/kpis?region=${DISTRICT}`, { headers })).arrayBuffer()
    let inFlight = 0
    const requests = [...heavy, ...heavy].map(async (path) => {
      inFlight++
      try {
        const r = await fetch(server.base + path, { headers })
        expect(r.status, path).toBe(200)
        await r.arrayBuffer()
      } finally {
        inFlight--
      }
    })
    const latencies: number[] = []
    while (inFlight > 0) {
      const start = performance.now()
      const r = await fetch(`${server.base}/healthz`)
      await r.arrayBuffer()
      latencies.push(performance.now() - start)
    }
    await Promise.all(requests)
    expect(latencies.length).toBeGreaterThan(5)
    // On the main thread each heavy read used to hold the loop for its whole run (0.1–0.7 s), so
    // every /healthz waited for all of them. Now 99% answer within 100 ms. A single /healthz can
    // still wait longer when the OS gives both cores to other processes: the bound holds for the
    // event loop, not for the CPU scheduler of a shared machine.
    latencies.sort((a, b) => a - b)
    const p99 = latencies[Math.floor(latencies.length * 0.99)]!
    expect(
      p99,
      `p99 of ${latencies.length} /healthz, max ${latencies.at(-1)!.toFixed(0)} ms`,
    ).toBeLessThanOrEqual(100)
    expect(latencies[latencies.length >> 1]!).toBeLessThanOrEqual(10)
  })
})
