/**
 * Several identical processes (`server/main.ts`, each a child process) on one PostgreSQL schema,
 * against the real server (PG_TEST_URL, default 127.0.0.1:5432/test; never skipped: a missing server
 * fails the run):
 *
 * - they start at once on an empty schema and agree on everything (one token secret, one log);
 * - exactly one runs the simulator (the lease); when it is killed with SIGKILL another takes over
 *   within 10 s and the simulation goes on;
 * - an event reported through one process reaches a live client of another within 1 s, once;
 * - every process answers the same /api/v1/kpis at the same seq.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChangeFrame } from '../../shared/live.ts'
import { dropPgSchema } from '../../server/store/pg-store.ts'
import {
  PG_URL,
  REDIS_URL,
  SIMULATING,
  city,
  metric,
  newSchema,
  reportBody,
  sawPing,
  spawnProc,
  type Proc,
} from './cluster-helpers.ts'
import { ADMIN_TOKEN, call, httpRequester, isoQ, mintToken } from './helpers.ts'
import { connectSynced, duplicates, until, waitReady } from './live-helpers.ts'

const schema = newSchema('cluster')
const procs: Proc[] = []

async function startProc(): Promise<Proc> {
  const p = await spawnProc({ DATABASE_SCHEMA: schema, REDIS_URL, ...SIMULATING })
  procs.push(p)
  return p
}

beforeAll(async () => {
  // Three at once on an empty schema: they race to migrate, to set the token secret, for the lease.
  const started = await Promise.all([startProc(), startProc(), startProc()])
  await Promise.all(started.map((p) => waitReady(p.base, p.server, 120_000)))
}, 180_000)

afterAll(async () => {
  await Promise.all(procs.map((p) => p.server.kill('SIGKILL')))
  await dropPgSchema(PG_URL, schema)
})

describe('three processes on one PostgreSQL', () => {
  it('honour a token minted by any of them (one secret)', async () => {
    const token = await mintToken(httpRequester(procs[0]!.base), 'officer')
    for (const p of procs) {
      const r = await call(httpRequester(p.base), '/api/v1/events?limit=1', { token })
      expect(r.status, p.base).toBe(200)
    }
  })

  it('deliver an event reported through the first to a live client of the third within 1 s, once', async () => {
    const [first, , third] = procs as [Proc, Proc, Proc]
    const token = await mintToken(httpRequester(first.base), 'officer')
    const client = await connectSynced(third.base, { token })
    try {
      const sent = Date.now()
      const r = await call<{ id: string; seq: number }>(httpRequester(first.base), '/api/v1/events', {
        token,
        body: reportBody(0),
      })
      expect(r.status).toBe(201)
      await until(
        () => client.changes().some((c) => c.event.id === r.body.id),
        'the change on the third',
        5000,
      )
      expect(Date.now() - sent).toBeLessThan(1000)
      // The simulator keeps writing meanwhile: every change the client got, it got once.
      await new Promise((res) => setTimeout(res, 1500))
      const seqs = client.changes().map((c: ChangeFrame) => c.seq)
      expect(duplicates(seqs)).toEqual([])
      expect(client.changes().filter((c) => c.event.id === r.body.id)).toHaveLength(1)
    } finally {
      client.close()
    }
  })

  it('drop a token revoked on one process from the live sockets of another within seconds, and refuse it everywhere', async () => {
    const [first, second, third] = procs as [Proc, Proc, Proc]
    const token = await mintToken(httpRequester(first.base), 'officer')
    const client = await connectSynced(third.base, { token })
    try {
      const jti = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti as string
      const r = await call(httpRequester(first.base), '/api/v1/tokens/revoke', {
        token: ADMIN_TOKEN,
        body: { jti },
      })
      expect(r.status).toBeLessThan(300)
      const revokedAt = Date.now()
      await until(() => client.disconnects.length > 0, 'the third dropping the socket', 10_000)
      expect(Date.now() - revokedAt).toBeLessThan(5000)
      await until(
        async () =>
          (await call(httpRequester(second.base), '/api/v1/events?limit=1', { token })).status === 401,
        'the second refusing the token',
        5000,
        100,
      )
    } finally {
      client.close()
    }
  })

  it('deliver positions posted to the first to a live client of the third', async () => {
    const [first, , third] = procs as [Proc, Proc, Proc]
    const token = await mintToken(httpRequester(first.base), 'officer')
    const client = await connectSynced(third.base, { token })
    try {
      const worker = city.workers()[7]!
      const grid = city.gridsOf('430602').find((g) => g.code === worker.gridCode)!
      // A spot no simulated ping uses: 0.000037° off the grid's centroid.
      const [lng, lat] = [grid.centroid[0] + 0.000037, grid.centroid[1] - 0.000037]
      const r = await call(httpRequester(first.base), '/api/v1/positions', {
        token: ADMIN_TOKEN,
        body: { positions: [{ workerId: worker.id, lng, lat, at: new Date().toISOString() }] },
      })
      expect(r.status).toBe(202)
      await until(() => sawPing(client, { lng, lat }), 'the ping on the third', 5000)
    } finally {
      client.close()
    }
  })

  it('count the live clients of every process, whichever answers', async () => {
    const token = await mintToken(httpRequester(procs[0]!.base), 'officer')
    const clients = await Promise.all(procs.map((p) => connectSynced(p.base, { token })))
    try {
      for (const p of procs) {
        const r = await call<{ total: number; byRole: Record<string, number>; processes: number }>(
          httpRequester(p.base),
          '/api/v1/live/clients',
          { token: ADMIN_TOKEN },
        )
        expect(r.status).toBe(200)
        expect(r.body.processes).toBe(3)
        expect(r.body.byRole.officer).toBeGreaterThanOrEqual(3)
      }
    } finally {
      for (const c of clients) c.close()
    }
  })

  it('answer the same /api/v1/kpis at the same seq', async () => {
    const token = await mintToken(httpRequester(procs[0]!.base), 'leader')
    // The simulator writes all the time: ask as of one past instant, whose figures are settled.
    const at = isoQ(Date.now() - 60_000)
    const answers = await Promise.all(
      procs.map((p) =>
        call<{ seq: number; values: unknown }>(httpRequester(p.base), `/api/v1/kpis?region=430602&at=${at}`, {
          token,
        }),
      ),
    )
    for (const a of answers) expect(a.status).toBe(200)
    expect(answers[0]!.body.seq).toBeGreaterThan(0)
    for (const a of answers.slice(1)) expect(a.body).toEqual(answers[0]!.body)
  })

  it('run the simulator on exactly one; when it is killed with SIGKILL another takes over within 10 s', async () => {
    const running = async () =>
      Promise.all(
        procs
          .filter((p) => p.server.child.exitCode === null)
          .map(async (p) => ({ p, lease: await metric(p.base, 'city_brain_simulator_lease') })),
      )
    const now = await running()
    expect(now.filter((r) => r.lease === 1)).toHaveLength(1)
    const holder = now.find((r) => r.lease === 1)!.p
    const others = procs.filter((p) => p !== holder)
    await holder.server.kill('SIGKILL')
    await holder.server.exited
    const killedAt = Date.now()
    await until(
      async () =>
        (await Promise.all(others.map((p) => metric(p.base, 'city_brain_simulator_lease')))).includes(1),
      'another process holding the lease',
      15_000,
      200,
    )
    expect(Date.now() - killedAt).toBeLessThan(10_000)
    const after = await Promise.all(others.map((p) => metric(p.base, 'city_brain_simulator_lease')))
    expect(after.filter((v) => v === 1)).toHaveLength(1)
    // And the simulation goes on there: the new holder's simulator follows the clock. (Not "the log
    // grows within 20 s": the simulator keeps the city's hours, and at dusk in Asia/Shanghai its
    // log was seen to rest for 158 s.) The lag gauge is sampled every 5 s: a simulator that stopped
    // would read at least 10 s more lag 15 s later.
    const newHolder = others[after.indexOf(1)]!
    const lag = () => metric(newHolder.base, 'city_brain_sim_lag_seconds')
    await until(async () => (await lag()) < 5, 'the new holder caught up with the clock', 20_000, 250)
    await new Promise((r) => setTimeout(r, 15_000))
    expect(await lag(), 'the simulator lag 15 s after it caught up').toBeLessThan(6)
  })
})
