/**
 * Two processes (`server/main.ts` children) when what they share goes away for 30 s, for real: a
 * Redis and a PostgreSQL of the test's own (private-services.ts) are stopped and started again.
 *
 * - Redis away: both keep ingesting and serving their own clients, changes still reach every
 *   process (they follow PostgreSQL's log); when Redis returns, the pings taken meanwhile reach the
 *   other process's walls, and no change was missed or doubled.
 * - PostgreSQL away: writes answer 503 with Retry-After, nothing acknowledged is lost, and the
 *   service resumes by itself when it returns (the live clients get what is written after).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { dropPgSchema } from '../../server/store/pg-store.ts'
import { PG_URL, city, newSchema, reportBody, sawPing, spawnProc } from './cluster-helpers.ts'
import { ADMIN_TOKEN, call, httpRequester, mintToken } from './helpers.ts'
import { connectSynced, duplicates, until, waitReady } from './live-helpers.ts'
import { startPrivatePg, startPrivateRedis } from './private-services.ts'

const OUTAGE_MS = 30_000

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined)
})

async function proc(env: Record<string, string>): Promise<{ base: string }> {
  const p = await spawnProc({ LOG_LEVEL: 'error', ...env })
  cleanups.push(() => p.server.kill('SIGKILL'))
  await waitReady(p.base, p.server, 60_000)
  return p
}

const report = reportBody

const pingAt = (i: number, t: number) => {
  const w = city.workers()[i]!
  const g = city.gridsOf('430602').find((x) => x.code === w.gridCode)!
  return {
    workerId: w.id,
    lng: g.centroid[0] + 0.00001 * (i % 7),
    lat: g.centroid[1] + 0.00003,
    at: new Date(t).toISOString(),
  }
}

describe('a cluster losing what it shares for 30 s', () => {
  it('Redis away: ingest and own clients go on; when it returns the other process catches up, no gap', async () => {
    const redis = await startPrivateRedis()
    cleanups.push(redis.remove)
    const schema = newSchema('faults')
    cleanups.push(() => dropPgSchema(PG_URL, schema))
    const env = { DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema, REDIS_URL: redis.url }
    const a = await proc(env)
    const b = await proc(env)
    const token = await mintToken(httpRequester(a.base), 'officer')
    const onA = await connectSynced(a.base, { token })
    const onB = await connectSynced(b.base, { token })
    cleanups.push(async () => (onA.close(), onB.close()))

    await redis.stop()
    const down = Date.now()
    // Changes reach both (PostgreSQL's log, not Redis).
    const created: string[] = []
    for (let n = 0; n < 3; n++) {
      const r = await call<{ id: string }>(httpRequester(n % 2 ? b.base : a.base), '/api/v1/events', {
        token,
        body: report(n),
      })
      expect(r.status).toBe(201)
      created.push(r.body.id)
    }
    await until(
      () => created.every((id) => onB.changes().some((c) => c.event.id === id)),
      'changes on B',
      5000,
    )
    await until(
      () => created.every((id) => onA.changes().some((c) => c.event.id === id)),
      'changes on A',
      5000,
    )
    // Pings posted to A: A's own wall shows them at once.
    const pings = [3, 4, 5].map((i) => pingAt(i, Date.now()))
    const r = await call(httpRequester(a.base), '/api/v1/positions', {
      token: ADMIN_TOKEN,
      body: { positions: pings },
    })
    expect(r.status).toBe(202)
    await until(() => pings.every((p) => sawPing(onA, p)), 'pings on A', 5000)
    expect((await fetch(`${b.base}/readyz`)).status).toBe(200)

    await new Promise((res) => setTimeout(res, Math.max(0, OUTAGE_MS - (Date.now() - down))))
    expect(pings.some((p) => sawPing(onB, p))).toBe(false)
    await redis.start()
    // Redis is back: the pings kept on A reach B's wall.
    await until(() => pings.every((p) => sawPing(onB, p)), 'the outage’s pings on B', 15_000)
    // Nothing missed, nothing twice.
    for (const c of [onA, onB]) {
      const seqs = c.changes().map((x) => x.seq)
      expect(duplicates(seqs)).toEqual([])
      expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i))
    }
  }, 90_000)

  it('PostgreSQL away: 503 with Retry-After, nothing acknowledged lost, service resumes by itself', async () => {
    const pg = await startPrivatePg()
    cleanups.push(pg.remove)
    const env = { DATABASE_URL: pg.url }
    const a = await proc(env)
    const b = await proc(env)
    const token = await mintToken(httpRequester(a.base), 'officer')
    const onB = await connectSynced(b.base, { token, reconnection: true, sinceFromLastSeq: true })
    cleanups.push(async () => onB.close())
    const acknowledged: string[] = []
    const post = async (n: number, base: string) => {
      const res = await call<{ id: string }>(httpRequester(base), '/api/v1/events', {
        token,
        body: report(n),
      })
      if (res.status === 201) acknowledged.push(res.body.id)
      return res
    }
    for (let n = 0; n < 4; n++) expect((await post(n, n % 2 ? b.base : a.base)).status).toBe(201)

    await pg.stop()
    const down = Date.now()
    const refused = await post(100, a.base)
    expect(refused.status).toBe(503)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    expect((await post(101, b.base)).status).toBe(503)
    await until(async () => (await fetch(`${a.base}/readyz`)).status === 503, 'A not ready', 10_000, 200)
    // Every try during the outage is refused, none hangs past its answer.
    while (Date.now() - down < OUTAGE_MS) {
      const r = await post(102, Date.now() % 2 ? a.base : b.base)
      expect([503]).toContain(r.status)
      await new Promise((res) => setTimeout(res, 2000))
    }

    await pg.start()
    const back = Date.now()
    await until(async () => (await post(200, a.base)).status === 201, 'writes on A again', 20_000, 500)
    await until(async () => (await post(201, b.base)).status === 201, 'writes on B again', 20_000, 500)
    expect(Date.now() - back).toBeLessThan(20_000)
    expect(acknowledged).toHaveLength(6)

    // Nothing acknowledged is lost; the log is gap-free; B's wall got the changes written after.
    const list = await call<{ changes: { seq: number; eventId: string }[] }>(
      httpRequester(b.base),
      '/api/v1/changes?after=0&limit=1000',
      { token },
    )
    expect(list.status).toBe(200)
    const seqs = list.body.changes.map((c) => c.seq)
    expect(seqs).toEqual(seqs.map((_, i) => i + 1))
    expect(new Set(list.body.changes.map((c) => c.eventId))).toEqual(new Set(acknowledged))
    await until(
      () => acknowledged.every((id) => onB.changes().some((c) => c.event.id === id)),
      'every acknowledged change on B’s wall',
      15_000,
    )
    expect(duplicates(onB.changes().map((c) => c.seq))).toEqual([])
  }, 120_000)
})
