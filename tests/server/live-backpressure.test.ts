/**
 * A slow client cannot grow the server's memory without bound (issue #3, acceptance 6; issue #9:
 * bounded in bytes, acknowledgements and every frame counted). A socket.io-client over websocket
 * stops reading (its ws is paused: the TCP window closes, the kernel's buffers fill, then the
 * server's own buffers would grow):
 * - while thousands of changes are committed live: the bytes queued for it in the process never
 *   pass the bound by more than a frame; past it the server cuts the connection, and the client,
 *   reconnecting by itself with its `since`, gets every change exactly once by replay;
 * - right after asking for a replay of a long backlog (`since` far back): the replay is paced by
 *   the same byte measure, so it neither queues the backlog nor trips the cut.
 * - asking for snapshots within the subscribe rate limit: acknowledgements count like frames.
 * A client that reads normally meanwhile misses nothing.
 */
import type { WebSocket } from 'ws'
import { afterEach, describe, expect, it } from 'vitest'
import { SUBSCRIBE_BURST } from '../../server/live/live-limits.ts'
import { mintToken } from './helpers.ts'
import {
  changeDriver,
  connectSynced,
  expectExactlyTheLog,
  liveSocket,
  logAfter,
  rawLiveClient,
  startComposedLiveServer,
  until,
  type ComposedLiveServer,
  DISTRICT,
  type Recorder,
} from './live-helpers.ts'

/** The byte bound of the live test (the production default is 2 MiB). */
const BOUND = 512 * 1024
/** Long descriptions make frames of ~1.7 kB, so the kernel's socket buffers fill sooner. */
const DESCRIPTION_LENGTH = 1200
/** What may be queued past the bound: the frame that crossed it. */
const SLACK = 16 * 1024

let srv: ComposedLiveServer
let officer: string
let driver: ReturnType<typeof changeDriver>

/** A server with the given byte bound, a fast tick, and a driver writing long descriptions. */
async function setUp(bound: number): Promise<void> {
  srv = await startComposedLiveServer({ live: { tickMs: 100, maxBufferedBytes: bound } })
  officer = await mintToken(srv.http, 'officer')
  driver = changeDriver(srv.system, { seed: 3, descriptionLength: DESCRIPTION_LENGTH })
  await driver.run(10)
}
afterEach(async () => {
  await srv?.stop()
})

interface EnginePacket {
  data?: string | Buffer
}

/** The server side of a client socket: whether it is still there, and what is queued for it. */
function serverSide(id: string) {
  const s = srv.live.io.of('/live').sockets.get(id)
  if (!s) throw new Error(`no server socket ${id}`)
  // Read from engine.io's internals: the test's own measure, independent of the server's.
  const conn = s.conn as unknown as {
    writeBuffer: EnginePacket[]
    transport: { socket?: { _socket?: { writableLength: number } } }
  }
  return {
    connected: () => s.connected,
    replaying: () => s.data.replaying,
    sent: () => s.data.sent,
    /** Bytes held in the process for this client: engine.io's write buffer plus the TCP socket's. */
    pendingBytes: () =>
      s.connected
        ? conn.writeBuffer.reduce(
            (n, p) => n + (typeof p.data === 'string' ? Buffer.byteLength(p.data) : (p.data?.length ?? 0)),
            0,
          ) + (conn.transport.socket?._socket?.writableLength ?? 0)
        : 0,
  }
}

/** The client's underlying ws WebSocket (engine.io-client's websocket transport). */
const wsOf = (r: Recorder): WebSocket => (r.socket.io.engine.transport as unknown as { ws: WebSocket }).ws

describe('a client that stops reading', () => {
  it('while changes stream live: is cut at the byte bound and replays every change exactly once', async () => {
    await setUp(BOUND)
    const stalled = await connectSynced(srv.base, {
      token: officer,
      sinceFromLastSeq: true,
      reconnection: true,
    })
    const reader = await connectSynced(srv.base, { token: officer })
    const start = stalled.lastSeq()
    expect(reader.lastSeq()).toBe(start)
    const side = serverSide(stalled.socket.id!)

    const ws = wsOf(stalled)
    ws.pause()
    let maxPending = 0
    const sample = () => (maxPending = Math.max(maxPending, side.pendingBytes()))
    // Commit until the server cuts it (the kernel's socket buffers absorb the first part).
    let committed = 0
    while (side.connected() && committed < 30_000) {
      await driver.run(100, { chunk: 10, onChunk: sample })
      committed += 100
    }
    expect(side.connected(), `cut after ${committed} changes`).toBe(false)
    expect(maxPending, 'bytes queued for it in the process').toBeLessThan(BOUND + SLACK)

    // More changes while it is away, then it reads again: it finds the cut and reconnects itself.
    // (Committed in bursts well under the bound: one burst is queued for every socket at once.)
    await driver.run(1500, { chunk: 100, batch: true })
    const last = await srv.system.store.lastSeq()
    await until(() => reader.lastSeq() === last, 'the reading client to get everything', 30_000)
    expectExactlyTheLog(reader.changes(), await logAfter(srv.http, start))

    ws.resume()
    await until(() => stalled.lastSeq() === last, 'the stalled client to catch up', 60_000)
    expect(stalled.disconnects[0]).toMatch(/^transport (close|error)$/)
    expect(stalled.synced()).toBe(2)
    expectExactlyTheLog(stalled.changes(), await logAfter(srv.http, start))
    console.info(
      `stalled live: cut after ${committed} changes; max ${(maxPending / 1e6).toFixed(2)} MB queued; ${last - start} changes in all`,
    )
    stalled.close()
    reader.close()
  })

  it('right after asking for a long replay: the replay is paced in bytes, never queued nor cut', async () => {
    const bound = BOUND
    await setUp(bound)
    const reader = await connectSynced(srv.base, { token: officer })
    const since = reader.lastSeq()
    const last = await driver.run(9000, { chunk: 100, batch: true })
    await until(() => reader.lastSeq() === last, 'the reader', 30_000)

    const before = new Set(srv.live.io.of('/live').sockets.keys())
    const stalled = liveSocket(srv.base, { token: officer, since })
    // Stop reading as soon as the transport is open, before the replay starts.
    stalled.socket.io.on('open', () => wsOf(stalled).pause())
    stalled.socket.connect()
    let id: string | undefined
    await until(
      () => (id = [...srv.live.io.of('/live').sockets.keys()].find((k) => !before.has(k))) !== undefined,
      'the server socket',
    )
    const side = serverSide(id!)
    // Watch what is queued for it until the replay is done, or for 3 s if the replay waits for it.
    let maxPending = 0
    const watchUntil = Date.now() + 3000
    await until(
      () => {
        maxPending = Math.max(maxPending, side.pendingBytes())
        return (!side.replaying() && side.sent() === last) || Date.now() > watchUntil
      },
      'the replay to be queued',
      30_000,
      1,
    )
    maxPending = Math.max(maxPending, side.pendingBytes())
    expect(side.connected()).toBe(true)

    wsOf(stalled).resume()
    await until(() => stalled.lastSeq() === last, 'the stalled client to catch up', 60_000)
    expectExactlyTheLog(stalled.changes(), await logAfter(srv.http, since))
    expect(stalled.disconnects).toEqual([])
    console.info(`stalled replay: max ${(maxPending / 1e6).toFixed(2)} MB queued for ${last - since} changes`)
    expect(maxPending, 'bytes queued in memory').toBeLessThan(bound)
    stalled.close()
    reader.close()
  })
})

describe('acknowledgements', () => {
  it('count in the bound: a client that asks for snapshots and never reads them is cut', async () => {
    await setUp(BOUND)
    // Open events with long descriptions: an officer's district snapshot of some hundreds of kB.
    await driver.run(1200, { chunk: 100, batch: true })
    const raw = rawLiveClient(srv.port, officer)
    const answer = await raw.connected
    const sid = (JSON.parse(answer.slice('40/live,'.length)) as { sid: string }).sid
    expect(srv.live.io.of('/live').sockets.has(sid)).toBe(true)
    raw.pause()
    // Within the rate limit: every one is answered with a full snapshot.
    for (let i = 0; i < SUBSCRIBE_BURST; i++) raw.emitWithAckId(i, 'subscribe', { region: DISTRICT })
    await until(() => !srv.live.io.of('/live').sockets.has(sid), 'the server to cut it')
    raw.resume()
    await raw.closed
    expect(raw.acks.size).toBeLessThan(SUBSCRIBE_BURST)
  })
})
