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
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChangeFrame } from '../../shared/live.ts'
import { dropPgSchema } from '../../server/store/pg-store.ts'
import {
  PG_URL,
  REDIS_URL,
  SIMULATING,
  metric,
  newSchema,
  reportBody,
  spawnProc,
  type Proc,
} from './cluster-helpers.ts'
import { ADMIN_TOKEN, call, httpRequester, isoQ, mintToken } from './helpers.ts'
import { connectSynced, duplicates, until, waitReady, type Recorder } from './live-helpers.ts'
import { startNginx, type Nginx } from './private-services.ts'

const schema = newSchema('lb')
const procs: Proc[] = []
let lb: Nginx
let token: string
const walls: Recorder[] = []

async function startProc(): Promise<Proc> {
  const p = await spawnProc({
    DATABASE_SCHEMA: schema,
    REDIS_URL,
    ...SIMULATING,
    // As a deployment behind a balancer: the client's address is the one nginx names.
    TRUST_PROXY: '1',
    // Every test client comes from 127.0.0.1: let that one address carry them all.
    LIVE_MAX_CONNECTIONS_PER_IP: '10000',
    RATE_LIMIT_PER_IP: '100000',
  })
  procs.push(p)
  return p
}

const lease = (base: string): Promise<number> => metric(base, 'city_brain_simulator_lease')
const report = (n: number) => reportBody(n, '430602002')

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
    const perProcess = await Promise.all(procs.map((p) => metric(p.base, 'city_brain_live_sockets')))
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
