/**
 * Three processes on one PostgreSQL (a schema of this test's) and one Redis, behind a real load
 * balancer (Debian's nginx, private-services.ts), reached only through it as a city would:
 *
 * - walls connected through the balancer (spread over the three) get every change exactly once,
 *   within 1 s of the POST that made it, whichever process took the POST;
 * - every answer of /api/v1/kpis as of one instant is the same, at the same seq, whichever
 *   process answers;
 * - `kill -9` of one process: its walls reconnect through the balancer to the others and miss
 *   nothing; the simulator's lease moves within 10 s.
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChangeFrame } from '../../shared/live.ts'
import { createCityIndex, loadCityFile } from '../../server/city/city-index.ts'
import { dropPgSchema } from '../../server/store/pg-store.ts'
import { ADMIN_TOKEN, call, httpRequester, isoQ, mintToken } from './helpers.ts'
import {
  connectSynced,
  duplicates,
  freePort,
  spawnServer,
  until,
  waitReady,
  type ChildServer,
  type Recorder,
} from './live-helpers.ts'
import { startNginx, type Nginx } from './private-services.ts'

const PG_URL = process.env.PG_TEST_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const REDIS_URL = process.env.REDIS_TEST_URL ?? 'redis://127.0.0.1:6379'
const schema = `lb_${randomBytes(6).toString('hex')}`
const city = createCityIndex(loadCityFile(join(import.meta.dirname, '../../server/cities/430602.json')))

interface Proc {
  port: number
  base: string
  server: ChildServer
}
const procs: Proc[] = []
let lb: Nginx
let token: string
const walls: Recorder[] = []

async function startProc(): Promise<Proc> {
  const port = await freePort()
  const server = spawnServer({
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: PG_URL,
    DATABASE_SCHEMA: schema,
    REDIS_URL,
    SIMULATE: '1',
    SIM_SPEED: '1',
    BACKFILL_DAYS: '0.05',
    SIM_EVENTS_PER_DAY: '3000',
    // The balancer's address is the client's for the connection limits: let it carry them all.
    LIVE_MAX_CONNECTIONS_PER_IP: '10000',
    RATE_LIMIT_PER_IP: '100000',
    LOG_LEVEL: 'warn',
    ADMIN_TOKEN,
  })
  const p = { port, base: `http://127.0.0.1:${port}`, server }
  procs.push(p)
  return p
}

const lease = async (base: string): Promise<number> => {
  const text = await (
    await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
  ).text()
  return Number(text.match(/^city_brain_simulator_lease (\d)/m)?.[1] ?? NaN)
}

const report = (n: number) => {
  const grid = city.gridsOf('430602002').filter((g) => city.inGrid(g.code, ...g.centroid))[n % 4]!
  return {
    category: 'CG0101',
    description: `负载均衡 ${n}`,
    lng: grid.centroid[0],
    lat: grid.centroid[1],
    source: 'hotline',
  }
}

/** The log through the balancer, every page. */
async function logFrom(after: number): Promise<{ seq: number; eventId: string }[]> {
  const out: { seq: number; eventId: string }[] = []
  for (let next = after; ;) {
    const r = await call<{ changes: { seq: number; eventId: string }[]; next: number | null }>(
      httpRequester(lb.url),
      `/api/v1/changes?after=${next}&limit=1000`,
      { token },
    )
    out.push(...r.body.changes)
    if (r.body.changes.length < 1000) return out
    next = r.body.changes.at(-1)!.seq
  }
}

/** What a wall received is exactly the log from its first change on: no gap, nothing twice. */
async function expectExactlyTheLog(w: Recorder): Promise<void> {
  const seqs = w.changes().map((c: ChangeFrame) => c.seq)
  expect(duplicates(seqs)).toEqual([])
  expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i))
  const log = await logFrom(seqs[0]! - 1)
  const last = seqs.at(-1)!
  expect(log.filter((c) => c.seq <= last).map((c) => c.seq)).toEqual(seqs)
}

beforeAll(async () => {
  const started = await Promise.all([startProc(), startProc(), startProc()])
  await Promise.all(started.map((p) => waitReady(p.base, p.server, 120_000)))
  lb = await startNginx(started.map((p) => p.port))
  token = await mintToken(httpRequester(lb.url), 'officer')
  for (let i = 0; i < 6; i++)
    walls.push(await connectSynced(lb.url, { token, reconnection: true, sinceFromLastSeq: true }))
}, 180_000)

afterAll(async () => {
  for (const w of walls) w.close()
  await lb?.stop()
  await Promise.all(procs.map((p) => p.server.kill('SIGKILL')))
  await dropPgSchema(PG_URL, schema)
})

describe('three processes behind nginx', () => {
  it('spread the walls over the processes', async () => {
    const r = await call<{ total: number; processes: number }>(
      httpRequester(lb.url),
      '/api/v1/live/clients',
      {
        token: ADMIN_TOKEN,
      },
    )
    expect(r.body.processes).toBe(3)
    expect(r.body.total).toBeGreaterThanOrEqual(6)
    const perProcess = await Promise.all(
      procs.map(async (p) => {
        const text = await (
          await fetch(`${p.base}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
        ).text()
        return Number(text.match(/^city_brain_live_sockets (\d+)/m)?.[1] ?? 0)
      }),
    )
    expect(perProcess.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2)
  })

  it('deliver every change to every wall exactly once, within 1 s of the POST, whichever process took it', async () => {
    for (let n = 0; n < 6; n++) {
      const sent = Date.now()
      const r = await call<{ id: string }>(httpRequester(lb.url), '/api/v1/events', {
        token,
        body: report(n),
      })
      expect(r.status).toBe(201)
      await until(
        () => walls.every((w) => w.changes().some((c) => c.event.id === r.body.id)),
        `event ${n} on every wall`,
        5000,
      )
      expect(Date.now() - sent).toBeLessThan(1000)
    }
    for (const w of walls) await expectExactlyTheLog(w)
  })

  it('answer the same /api/v1/kpis as of one instant, at the same seq, whichever process answers', async () => {
    const leader = await mintToken(httpRequester(lb.url), 'leader')
    const path = `/api/v1/kpis?region=430602&at=${isoQ(Date.now() - 30_000)}`
    const answers = await Promise.all(
      [lb.url, lb.url, lb.url, ...procs.map((p) => p.base)].map((b) =>
        call<{ seq: number }>(httpRequester(b), path, { token: leader }),
      ),
    )
    expect(answers[0]!.status).toBe(200)
    expect(answers[0]!.body.seq).toBeGreaterThan(0)
    for (const a of answers) expect(a.body).toEqual(answers[0]!.body)
  })

  it('kill -9 of one process: its walls reconnect to the others and miss nothing; the lease moves within 10 s', async () => {
    const holder = (await Promise.all(procs.map(async (p) => ({ p, held: await lease(p.base) })))).find(
      (x) => x.held === 1,
    )!.p
    await holder.server.kill('SIGKILL')
    const killed = Date.now()
    const others = procs.filter((p) => p !== holder)
    // Meanwhile changes go on (the simulator, once it has moved, and these reports).
    for (let n = 10; n < 14; n++) {
      await until(
        async () =>
          (await call(httpRequester(lb.url), '/api/v1/events', { token, body: report(n) })).status === 201,
        'a report through the balancer',
        10_000,
        200,
      )
    }
    await until(
      async () => (await Promise.all(others.map((p) => lease(p.base)))).includes(1),
      'the lease moving',
      15_000,
      200,
    )
    expect(Date.now() - killed).toBeLessThan(10_000)
    // Every wall is live again and at the head.
    const head = (await logFrom(0)).at(-1)!.seq
    await until(
      () => walls.every((w) => w.socket.connected && w.lastSeq() >= head),
      'every wall at the head',
      20_000,
      100,
    )
    for (const w of walls) await expectExactlyTheLog(w)
    expect(walls.some((w) => w.disconnects.length > 0)).toBe(true)
  })
})
