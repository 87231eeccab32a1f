/**
 * A hostile client cannot grow the server's memory (issue #9, acceptance): against the real server
 * in a child process, a `public` socket that sends thousands of `subscribe`s with ack ids and never
 * reads (a raw engine.io/Socket.IO client whose TCP socket is paused) leaves the server's resident
 * memory within a stated bound, and the server cuts it; meanwhile an officer's socket still gets
 * every change and its KPI frames.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { KpiFrame } from '../../shared/live.ts'
import { ADMIN_TOKEN, call, httpRequester, mintToken, tempDir } from './helpers.ts'
import {
  connectSynced,
  DISTRICT,
  freePort,
  liveEnv,
  rawLiveClient,
  serverRss,
  spawnServer,
  until,
  waitReady,
  type ChildServer,
  type Recorder,
} from './live-helpers.ts'

/** Subscribes the attacker sends (each would be answered with a full district snapshot). */
const FLOOD = 6000
/** The bound on the server's RSS growth while it is attacked. */
const RSS_GROWTH_BOUND = 64 * 1024 * 1024

const dir = tempDir('live-attacker')
let server: ChildServer
let base: string
let port: number
let officer: Recorder

beforeAll(async () => {
  port = await freePort()
  base = `http://127.0.0.1:${port}`
  server = spawnServer(liveEnv(dir.path, { PORT: String(port), LOG_LEVEL: 'warn' }))
  await waitReady(base, server)
  officer = await connectSynced(base, { token: await mintToken(httpRequester(base), 'officer') })
  expect((await officer.subscribe(DISTRICT)).ok).toBe(true)
}, 90_000)

afterAll(async () => {
  officer?.close()
  await server?.kill()
  dir.remove()
})

/** Report an event over HTTP; resolves with its seq. */
async function report(i: number): Promise<number> {
  const r = await call<{ seq: number }>(httpRequester(base), '/api/v1/events', {
    token: ADMIN_TOKEN,
    body: {
      category: 'CG0101',
      description: `attack-time report ${i}`,
      lat: 29.37,
      lng: 113.13,
      source: 'hotline',
    },
  })
  expect(r.status, JSON.stringify(r.body)).toBe(201)
  return r.body.seq
}

describe('a public socket that floods subscribe and never reads', () => {
  it('keeps the server within the memory bound, is cut, and the officer still gets its frames', async () => {
    const rss0 = await serverRss(base)
    const attacker = rawLiveClient(port, await mintToken(httpRequester(base), 'public'))
    expect(await attacker.connected).toMatch(/^40\/live,/)
    attacker.pause()
    const kpisBefore = officer.of<KpiFrame>('kpis').length

    let maxRss = rss0
    const sample = async () => (maxRss = Math.max(maxRss, await serverRss(base)))
    const seqs: number[] = []
    for (let i = 0; i < FLOOD; i++) {
      attacker.emitWithAckId(i, 'subscribe', { region: DISTRICT })
      if (i % 500 === 499) {
        seqs.push(await report(i))
        await sample()
      }
    }
    // Let the server take in and answer all of it, sampling as it does.
    for (let i = 0; i < 20; i++) {
      seqs.push(await report(FLOOD + i))
      await sample()
    }

    const last = seqs.at(-1)!
    await until(() => officer.lastSeq() >= last, 'the officer to get every change', 30_000)
    const got = new Set(officer.changes().map((c) => c.seq))
    expect(
      seqs.filter((s) => !got.has(s)),
      'changes the officer missed',
    ).toEqual([])
    await until(() => officer.of<KpiFrame>('kpis').length > kpisBefore, 'a kpis frame for the officer')
    await sample()
    const growth = maxRss - rss0
    console.info(
      `attacker: server RSS ${(rss0 / 2 ** 20).toFixed(0)} MB → max ${(maxRss / 2 ** 20).toFixed(0)} MB`,
    )
    expect(growth, `RSS growth (bound ${RSS_GROWTH_BOUND / 2 ** 20} MB)`).toBeLessThan(RSS_GROWTH_BOUND)

    // Cut: once it reads again, it finds its connection closed, with most subscribes never answered.
    attacker.resume()
    await until(
      async () => {
        await Promise.race([attacker.closed, new Promise((r) => setTimeout(r, 100))])
        return attacker.ws.readyState === attacker.ws.CLOSED
      },
      'the server to have cut the attacker',
      15_000,
    )
    expect(attacker.acks.size).toBeLessThan(FLOOD / 10)
    expect(server.output()).toContain('live socket cut')
  }, 120_000)
})
