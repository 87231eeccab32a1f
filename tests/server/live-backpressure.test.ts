/**
 * A slow client cannot grow the server's memory without bound (issue #3, acceptance 6). A
 * socket.io-client over websocket stops reading (its ws is paused: the TCP window closes, the
 * kernel's buffers fill, then the server's own buffers would grow):
 * - while thousands of changes are committed live: it is taken out of the live rooms once its buffer
 *   passes the limit, its buffer then stops growing however many more changes come, and once it reads
 *   again it catches up by replay and ends with every change exactly once;
 * - right after asking for a replay of a long backlog (`since` far back): the replay must not queue
 *   the whole backlog for it either.
 * A client that reads normally meanwhile misses nothing.
 */
import type { WebSocket } from 'ws'
import { afterEach, describe, expect, it } from 'vitest'
import { mintToken } from './helpers.ts'
import {
  changeDriver,
  connectSynced,
  expectExactlyTheLog,
  liveSocket,
  logAfter,
  startComposedLiveServer,
  until,
  type ComposedLiveServer,
  type Recorder,
} from './live-helpers.ts'

/** The production default of `maxBufferedPackets`. */
const LIMIT = 2000
/** A small limit, so a modest backlog is already many times over it. */
const SMALL_LIMIT = 200
/** Changes per replay page (server/live/live-server.ts). */
const PAGE = 500
/** Long descriptions make frames of ~1.7 kB, so the kernel's socket buffers fill sooner. */
const DESCRIPTION_LENGTH = 1200

let srv: ComposedLiveServer
let officer: string
let driver: ReturnType<typeof changeDriver>

/** A server with the given buffer limit, a fast tick, and a driver writing long descriptions. */
async function setUp(limit: number): Promise<void> {
  srv = await startComposedLiveServer({ live: { tickMs: 100, maxBufferedPackets: limit } })
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

/** The server side of a client socket: lagging flag, rooms, and what is queued for it in memory. */
function serverSide(id: string) {
  const s = srv.live.io.of('/live').sockets.get(id)
  if (!s) throw new Error(`no server socket ${id}`)
  const conn = s.conn as unknown as {
    writeBuffer: EnginePacket[]
    transport: { name: string; socket?: { _socket?: { writableLength: number } } }
  }
  return {
    lagging: () => s.data.lagging,
    replaying: () => s.data.replaying,
    sent: () => s.data.sent,
    rooms: () => [...s.rooms].filter((x) => x !== s.id),
    /** Packets in engine.io's write buffer. */
    buffered: () => conn.writeBuffer.length,
    /** Bytes held in the process for this client: engine.io's write buffer plus the TCP socket's. */
    pendingBytes: () =>
      conn.writeBuffer.reduce(
        (n, p) => n + (typeof p.data === 'string' ? Buffer.byteLength(p.data) : (p.data?.length ?? 0)),
        0,
      ) + (conn.transport.socket?._socket?.writableLength ?? 0),
  }
}

/** The client's underlying ws WebSocket (engine.io-client's websocket transport). */
const wsOf = (r: Recorder): WebSocket => (r.socket.io.engine.transport as unknown as { ws: WebSocket }).ws

/** Average size of a change frame as the server encodes it. */
const frameBytes = (r: Recorder): number => {
  const frames = r.changes().slice(-200)
  return frames.reduce((n, f) => n + Buffer.byteLength(JSON.stringify(['change', f])), 0) / frames.length
}

describe('a client that stops reading', () => {
  it('while changes stream live: leaves the rooms, its buffer stays bounded, it catches up exactly once', async () => {
    await setUp(LIMIT)
    const stalled = await connectSynced(srv.base, { token: officer })
    const reader = await connectSynced(srv.base, { token: officer })
    const start = stalled.lastSeq()
    expect(reader.lastSeq()).toBe(start)
    const side = serverSide(stalled.socket.id!)
    expect(side.rooms().length).toBeGreaterThan(0)

    wsOf(stalled).pause()
    let maxBuffered = 0
    let maxPending = 0
    const sample = () => {
      maxBuffered = Math.max(maxBuffered, side.buffered())
      maxPending = Math.max(maxPending, side.pendingBytes())
    }
    // Commit until the server gives up on it (the kernel's socket buffers absorb the first part).
    let committed = 0
    while (!side.lagging() && committed < 30_000) {
      await driver.run(200, { chunk: 50, onChunk: sample })
      committed += 200
    }
    expect(side.lagging(), `lagging after ${committed} changes`).toBe(true)
    expect(side.rooms()).toEqual([])
    const atLagging = side.buffered()

    // However many more changes come, its buffer does not grow.
    await driver.run(2500, { chunk: 250, batch: true, onChunk: sample })
    expect(side.buffered()).toBeLessThanOrEqual(atLagging + 5)
    expect(maxBuffered).toBeLessThan(LIMIT + PAGE)
    const last = await srv.system.store.lastSeq()

    await until(() => reader.lastSeq() === last, 'the reading client to get everything', 30_000)
    expectExactlyTheLog(reader.changes(), await logAfter(srv.http, start))
    const bound = 2 * (LIMIT + PAGE) * frameBytes(reader)
    expect(maxPending, `pending bytes (bound ${Math.round(bound)})`).toBeLessThan(bound)

    wsOf(stalled).resume()
    await until(() => stalled.lastSeq() === last && !side.lagging(), 'the stalled client to catch up', 60_000)
    expectExactlyTheLog(stalled.changes(), await logAfter(srv.http, start))
    expect(side.rooms().length).toBeGreaterThan(0)
    console.info(
      `stalled live: lagging after ${committed} changes; max ${maxBuffered} packets / ${(maxPending / 1e6).toFixed(1)} MB queued; ${last - start} changes in all`,
    )
    stalled.close()
    reader.close()
  })

  it('right after asking for a long replay: the backlog is not queued in memory all at once', async () => {
    await setUp(SMALL_LIMIT)
    const reader = await connectSynced(srv.base, { token: officer })
    const since = reader.lastSeq()
    const last = await driver.run(9000, { chunk: 500, batch: true })
    await until(() => reader.lastSeq() === last, 'the reader', 30_000)
    // What the live path allows (the limit, plus a replay page, twice over): far below the backlog.
    const bound = 2 * (SMALL_LIMIT + PAGE) * frameBytes(reader)

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

    wsOf(stalled).resume()
    await until(() => stalled.lastSeq() === last, 'the stalled client to catch up', 60_000)
    expectExactlyTheLog(stalled.changes(), await logAfter(srv.http, since))
    console.info(`stalled replay: max ${(maxPending / 1e6).toFixed(1)} MB queued for ${last - since} changes`)
    expect(maxPending, `bytes queued in memory (bound ${Math.round(bound)})`).toBeLessThan(bound)
    stalled.close()
    reader.close()
  })
})
