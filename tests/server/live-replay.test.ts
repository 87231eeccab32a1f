/**
 * Live stream, no gaps and no duplicates (issue #3, acceptance 1): a client that reconnects with
 * `since` receives exactly the changes of `/api/v1/changes` after it, in order, none twice, whether
 * it was away during a burst, reconnects while changes keep coming, stays connected throughout, or
 * is the web's `createLiveClient` (across sessions and across a network cut).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChangeFrame } from '../../shared/live.ts'
import { createLiveClient, type LiveConnectionState } from '../../web/src/realtime/live-client.ts'
import { manualClock, mintToken } from './helpers.ts'
import {
  changeDriver,
  connectSynced,
  DISTRICT,
  expectExactlyTheLog,
  logAfter,
  tcpProxy,
  turn,
  until,
  type LiveTestServer,
  startLiveServer,
} from './live-helpers.ts'

let srv: LiveTestServer
let officer: string
let driver: ReturnType<typeof changeDriver>
const head = async (): Promise<number> => srv.system.store.lastSeq()

beforeAll(async () => {
  srv = await startLiveServer({ clock: manualClock() })
  officer = await mintToken(srv.http, 'officer')
  driver = changeDriver(srv.system)
  await driver.run(25)
})
afterAll(async () => {
  await srv?.stop()
})

describe('a raw socket.io-client on /live', () => {
  it('reconnecting with since after a burst of 500 changes gets exactly the log after since', async () => {
    const c = await connectSynced(srv.base, { token: officer, sinceFromLastSeq: true })
    const start = c.lastSeq()
    expect(start).toBe(await head())
    await driver.run(30, { chunk: 5 })
    await until(async () => c.lastSeq() === (await head()), 'the live changes')

    c.socket.disconnect()
    const since = c.lastSeq()
    const before = c.changes().length
    const last = await driver.run(500)
    expect(last - since).toBe(500)

    c.socket.connect()
    await until(() => c.synced() === 2 && c.lastSeq() === last, 'the replay up to the burst end')
    expectExactlyTheLog(c.changes().slice(before), await logAfter(srv.http, since))
    expectExactlyTheLog(c.changes(), await logAfter(srv.http, start))
    c.close()
  })

  it('replay across pages while changes keep being committed hands over to live without a gap', async () => {
    const c = await connectSynced(srv.base, { token: officer, sinceFromLastSeq: true })
    const start = c.lastSeq()
    c.socket.disconnect()
    await driver.run(1234)

    // Reconnect while a writer keeps committing, one change per event-loop turn.
    let writing = true
    const writer = (async () => {
      for (let i = 0; i < 400 && writing; i++) {
        await driver.step()
        await turn()
      }
    })()
    c.socket.connect()
    await writer
    writing = false
    const last = await head()
    await until(() => c.lastSeq() === last, 'every change up to the head')
    expect(c.synced()).toBe(2)
    expectExactlyTheLog(c.changes(), await logAfter(srv.http, start))
    c.close()
  })

  it('a client connected throughout a burst of 500 gets exactly those 500 (live path)', async () => {
    const c = await connectSynced(srv.base, { token: officer })
    const start = c.lastSeq()
    const last = await driver.run(500, { chunk: 25 })
    await until(() => c.lastSeq() === last, 'the live burst')
    expect(c.changes()).toHaveLength(500)
    expectExactlyTheLog(c.changes(), await logAfter(srv.http, start))
    c.close()
  })

  it('a token scoped to a street gets exactly the street part of the log after since', async () => {
    const street = srv.system.city.children(DISTRICT)[0]!.code
    const scoped = await mintToken(srv.http, 'officer', { region: street })
    const since = await head()
    const streetDriver = changeDriver(srv.system, { region: street, seed: 11 })
    await driver.run(150)
    await streetDriver.run(80)
    await driver.run(150)
    const c = await connectSynced(srv.base, { token: scoped, since })
    const log = (await logAfter(srv.http, since)).filter((x) => x.gridCode.startsWith(street))
    expect(log.length).toBeGreaterThanOrEqual(80)
    await until(() => c.changes().length >= log.length, 'the street changes')
    expectExactlyTheLog(c.changes(), log)
    c.close()
  })

  it('a since ahead of the log (a store restored from backup) hands over at the head, then streams', async () => {
    const h = await head()
    const c = await connectSynced(srv.base, { token: officer, since: h + 1000 })
    // The server's head is the truth: synced says where the log is, and new changes are not
    // mistaken for ones the client already has.
    expect(c.of<{ seq: number }>('synced')[0]!.seq).toBe(h)
    const last = await driver.run(5)
    await until(() => c.changes().length >= 5, 'the new changes')
    expectExactlyTheLog(c.changes(), await logAfter(srv.http, h))
    expect(c.changes().at(-1)!.seq).toBe(last)
    c.close()
  })
})

describe('the web createLiveClient', () => {
  it('a new session with since = the previous lastSeq gets exactly the 500 changes in between', async () => {
    const first: ChangeFrame[] = []
    const a = createLiveClient({
      url: srv.base,
      token: officer,
      region: DISTRICT,
      handlers: { change: (f) => first.push(f) },
    })
    await until(() => a.state.status === 'live', 'the first session live')
    await driver.run(20, { chunk: 4 })
    const h = await head()
    await until(() => a.state.lastSeq === h, 'the first session to apply the head')
    const since = a.state.lastSeq
    a.close()

    const last = await driver.run(500)
    const second: ChangeFrame[] = []
    const b = createLiveClient({
      url: srv.base,
      token: officer,
      since,
      handlers: { change: (f) => second.push(f) },
    })
    await until(() => b.state.status === 'live' && b.state.lastSeq === last, 'the second session')
    expectExactlyTheLog(second, await logAfter(srv.http, since))
    b.close()
  })

  it('reconnects by itself after a network cut during a burst and applies every change once', async () => {
    const proxy = await tcpProxy(srv.port)
    const applied: ChangeFrame[] = []
    const states: LiveConnectionState[] = []
    const client = createLiveClient({
      url: proxy.base,
      token: officer,
      region: DISTRICT,
      transports: ['websocket'],
      handlers: { change: (f) => applied.push(f), state: (s) => states.push(s) },
    })
    try {
      await until(() => client.state.status === 'live', 'live through the proxy')
      const start = client.state.lastSeq
      await driver.run(40, { chunk: 8 })

      proxy.blocked = true
      proxy.cut()
      await until(() => client.state.status === 'reconnecting', 'the client to notice the cut')
      const last = await driver.run(500, { chunk: 50 })
      proxy.blocked = false

      await until(() => client.state.status === 'live' && client.state.lastSeq === last, 'live again')
      expectExactlyTheLog(applied, await logAfter(srv.http, start))

      const i = states.findIndex((s) => s.status === 'reconnecting')
      expect(states[i]!.staleSince).toEqual(expect.any(Number))
      expect(states.slice(i + 1).find((s) => s.status === 'live')?.staleSince).toBeNull()
    } finally {
      client.close()
      await proxy.close()
    }
  })

  it('a public client (an embed) goes live and gets its snapshot and kpis', async () => {
    const pub = await mintToken(srv.http, 'public')
    const kpis: unknown[] = []
    let snapshot = false
    const client = createLiveClient({
      url: srv.base,
      token: pub,
      region: DISTRICT,
      handlers: { kpis: (f) => kpis.push(f), snapshot: () => void (snapshot = true) },
    })
    try {
      await until(() => snapshot, 'the public snapshot')
      await driver.run(5)
      await until(() => kpis.length > 0, 'a kpis frame')
      await until(() => client.state.status === 'live', 'status live', 5_000)
      expect(client.state.staleSince).toBeNull()
    } finally {
      client.close()
    }
  })
})
