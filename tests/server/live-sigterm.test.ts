/**
 * A graceful restart (a deploy): `server/main.ts` runs as a child process with the simulator on;
 * while clients stream its changes it gets SIGTERM, exits 0, and is started again on the same port
 * and data directory. Its shutdown closes the live transports without a disconnect packet, so the
 * clients see "transport close" (not "io server disconnect", after which socket.io-client never
 * comes back): the web's `createLiveClient` and a raw socket.io-client both reconnect by themselves,
 * get `synced`, and end with every change after their first `since` exactly once.
 *
 * In process: the stop closes the port first (a new connection is refused at once), answers the
 * request in flight, and does not wait for idle keep-alive connections to time out.
 */
import { request, Agent } from 'node:http'
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SHUTDOWN_GRACE_MS } from '../../server/system.ts'
import { ADMIN_TOKEN, httpRequester, mintToken, tempDir } from './helpers.ts'
import {
  backAtHead,
  connectSynced,
  expectExactlyTheLog,
  freePort,
  logAfter,
  rawLiveClient,
  restartEnv,
  spawnServer,
  startLiveServer,
  streamingPair,
  until,
  waitReady,
  type ChildServer,
  type StreamingPair,
} from './live-helpers.ts'

const dir = tempDir('live-sigterm')
let port: number
let base: string
let server: ChildServer | null = null
/** What the clients saw. */
let p: StreamingPair
let exitCode: number | null = null
let seqAtStop = 0
let headSeq = 0

beforeAll(async () => {
  port = await freePort()
  base = `http://127.0.0.1:${port}`
  const env = restartEnv(port, dir.path)
  server = spawnServer(env)
  await waitReady(base, server)
  p = await streamingPair(base, { ahead: 30, transports: ['websocket'] })

  await server.kill('SIGTERM')
  exitCode = await server.exited
  seqAtStop = p.client.state.lastSeq
  await until(() => p.client.state.status === 'reconnecting' && !p.raw.socket.connected, 'the drop noticed')

  server = spawnServer(env)
  await waitReady(base, server)
  headSeq = await backAtHead(base, p)
}, 150_000)

afterAll(async () => {
  p?.close()
  await server?.kill('SIGTERM')
  dir.remove()
})

const upTo = <T extends { seq: number }>(xs: T[], seq: number): T[] => xs.filter((x) => x.seq <= seq)

describe('SIGTERM, then a restart on the same port and data directory', () => {
  it('the server exits 0 and the clients were dropped by a closed transport, not told to go', () => {
    expect(exitCode).toBe(0)
    expect(p.raw.disconnects[0]).toBe('transport close')
  })

  it('createLiveClient comes back by itself with every change after its since exactly once', async () => {
    const log = upTo(await logAfter(httpRequester(base), p.clientStart), headSeq)
    expect(log.length).toBeGreaterThan(50)
    expect(headSeq).toBeGreaterThan(seqAtStop)
    expectExactlyTheLog(upTo(p.applied, headSeq), log)
    const statuses = p.states.map((s) => s.status).filter((s, i, a) => s !== a[i - 1])
    expect(statuses).toEqual(['connecting', 'live', 'reconnecting', 'live'])
  })

  it('a raw socket.io-client with its last seq as since does too', async () => {
    const log = upTo(await logAfter(httpRequester(base), p.rawStart), headSeq)
    expectExactlyTheLog(upTo(p.raw.changes(), headSeq), log)
    expect(p.raw.synced()).toBeGreaterThanOrEqual(2)
  })
})

describe('system.stop()', () => {
  it('refuses new connections at once, answers the request in flight, then closes promptly', async () => {
    const s = await startLiveServer()
    const sock = await connectSynced(s.base, { token: ADMIN_TOKEN })
    // An idle keep-alive connection, and a request whose body is still coming when the stop begins.
    const agent = new Agent({ keepAlive: true })
    await new Promise<void>((resolve) =>
      request(`${s.base}/healthz`, { agent }, (r) => r.resume().on('end', resolve)).end(),
    )
    const req = request(`${s.base}/api/v1/tokens`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        'content-type': 'application/json',
        expect: '100-continue',
      },
    })
    const answer = new Promise<number>((resolve, reject) => {
      req.on('response', (r) => r.resume().on('end', () => resolve(r.statusCode ?? 0)))
      req.on('error', reject)
    })
    // "100 Continue": the server has the request and waits for its body.
    await new Promise<void>((resolve) => req.once('continue', resolve).flushHeaders())
    req.write('{"role":"officer",')
    const started = Date.now()
    const stopped = s.stop()
    const refused = await new Promise<string>((resolve) => {
      const c = connect(s.port, '127.0.0.1')
      c.once('connect', () => (c.destroy(), resolve('accepted')))
      c.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'))
    })
    req.end('"ttl":"1h"}')
    expect(await answer).toBe(201)
    await stopped
    expect(refused).toBe('ECONNREFUSED')
    // Not held by the keep-alive connection (its timeout is 5 s) nor by the live socket.
    expect(Date.now() - started).toBeLessThan(2000)
    await until(() => sock.disconnects.length > 0, 'the live socket closed')
    expect(sock.disconnects).toEqual(['transport close'])
    agent.destroy()
  })

  it('is not held for the WebSocket close handshake by a client that never reads', async () => {
    // A wall on a frozen network, or a hostile client: it takes the connection and stops reading,
    // so the close frame is never answered (the ws library would wait 30 s for it).
    const s = await startLiveServer()
    const token = await mintToken(httpRequester(s.base), 'officer')
    const stuck = rawLiveClient(s.port, token)
    expect(await stuck.connected).toMatch(/^40\/live,/)
    stuck.pause()
    stuck.ws.pause()
    ;(stuck.ws as unknown as { _socket: { pause(): void } })._socket.pause()
    const started = Date.now()
    await s.stop()
    expect(Date.now() - started).toBeLessThan(SHUTDOWN_GRACE_MS + 3000)
    // The server cut it: the client finds its connection gone as soon as it reads again.
    ;(stuck.ws as unknown as { _socket: { resume(): void } })._socket.resume()
    stuck.resume()
    await stuck.closed
  }, 60_000)
})
