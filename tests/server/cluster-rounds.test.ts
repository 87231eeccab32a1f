/**
 * Patrol rounds come out the same whichever process took each ping: two processes on one
 * PostgreSQL schema (real child processes), two workers walking at once, each worker's pings posted
 * to the two processes in turn (the other worker's to the other one at the same moment). The rounds
 * the store holds are exactly what `shared/patrol.ts` finds in each worker's pings as one process
 * would see them (each worker's open run lives in the store, locked by the process that moves it).
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { detectRounds } from '../../shared/patrol.ts'
import { createPgStore, dropPgSchema } from '../../server/store/pg-store.ts'
import { PG_URL, city, newSchema, spawnProc, type Proc } from './cluster-helpers.ts'
import { ADMIN_TOKEN, call, httpRequester } from './helpers.ts'
import { waitReady } from './live-helpers.ts'

const schema = newSchema('rounds')
const MIN = 60_000

const procs: Proc[] = []

beforeAll(async () => {
  for (let i = 0; i < 2; i++) procs.push(await spawnProc({ DATABASE_SCHEMA: schema }))
  await Promise.all(procs.map((p) => waitReady(p.base, p.server, 60_000)))
}, 90_000)

afterAll(async () => {
  await Promise.all(procs.map((p) => p.server.kill('SIGKILL')))
  await dropPgSchema(PG_URL, schema)
})

/** A walk: in the grid for 20 min, out for 8, in again for 18 (too short: no round), then 16 (a round). */
function walk(workerIndex: number, start: number) {
  const w = city.workers().filter((x) => {
    const g = city.gridsOf(x.gridCode.slice(0, 12)).find((y) => y.code === x.gridCode)
    return g && city.inGrid(x.gridCode, ...g.centroid)
  })[workerIndex]!
  const g = city.gridsOf(w.gridCode.slice(0, 12)).find((y) => y.code === w.gridCode)!
  const [lng, lat] = g.centroid
  const pings: { workerId: string; lng: number; lat: number; at: number; inside: boolean }[] = []
  const add = (at: number, inside: boolean) =>
    pings.push({ workerId: w.id, lng: inside ? lng : lng + 0.05, lat: inside ? lat : lat + 0.05, at, inside })
  for (let m = 0; m <= 20; m++) add(start + m * MIN, true)
  for (let m = 21; m <= 28; m += 7) add(start + m * MIN, false)
  for (let m = 30; m <= 44; m++) add(start + m * MIN, true)
  add(start + 45 * MIN, false)
  for (let m = 52; m <= 68; m += 2) add(start + m * MIN, true)
  return { worker: w, pings }
}

it('are the rounds one process would find, with each worker’s pings taken by the processes in turn', async () => {
  const start = Date.now() - 75 * MIN
  const walks = [walk(3, start), walk(11, start + 17_000)]
  const post = (base: string, p: { workerId: string; lng: number; lat: number; at: number }) =>
    call(httpRequester(base), '/api/v1/positions', {
      token: ADMIN_TOKEN,
      body: {
        positions: [{ workerId: p.workerId, lng: p.lng, lat: p.lat, at: new Date(p.at).toISOString() }],
      },
    })
  const steps = Math.max(...walks.map((w) => w.pings.length))
  for (let i = 0; i < steps; i++) {
    // Worker 0's ping i to one process while worker 1's goes to the other, at once.
    const answers = await Promise.all(
      walks.map((w, k) => (w.pings[i] ? post(procs[(i + k) % 2]!.base, w.pings[i]!) : null)),
    )
    for (const a of answers) if (a) expect(a.status).toBe(202)
  }

  const store = createPgStore({ connectionString: PG_URL, schema, poolSize: 2 })
  try {
    for (const { worker, pings } of walks) {
      const expected = detectRounds(pings).map((r) => ({ startedAt: r.startedAt, endedAt: r.endedAt }))
      expect(expected).toHaveLength(2)
      const snap = await store.kpiSnapshot(
        worker.gridCode,
        start - 60 * MIN,
        Date.now() + MIN,
        { start: start - 60 * MIN, end: Date.now() + 60 * MIN },
        Date.now() - 5 * MIN,
      )
      const stored = (snap.roundsByGrid.get(worker.gridCode) ?? [])
        .filter((r) => r.workerId === worker.id)
        .map((r) => ({ startedAt: r.startedAt, endedAt: r.endedAt }))
        .sort((a, b) => a.startedAt - b.startedAt)
      expect(stored).toEqual(expected)
    }
  } finally {
    await store.close()
  }
}, 60_000)
