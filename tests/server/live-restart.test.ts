/**
 * A server killed with SIGKILL mid-stream (issue #3, acceptances 2 and 8): `server/main.ts` runs as
 * a child process with the simulator on; while clients stream its changes it is killed, then started
 * again on the same port and data directory. The web's `createLiveClient` and a raw socket.io-client
 * whose auth is a function sending its last seq both reconnect by themselves and end with every
 * committed change exactly once (compared with `/api/v1/changes` of the restarted server), those
 * committed while they were away included; the client's state goes live → reconnecting (stale since
 * the drop) → live.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { httpRequester, tempDir } from './helpers.ts'
import {
  backAtHead,
  commitWhileDown,
  expectExactlyTheLog,
  freePort,
  headOf,
  logAfter,
  restartEnv,
  spawnServer,
  streamingPair,
  until,
  waitReady,
  type ChildServer,
  type StreamingPair,
} from './live-helpers.ts'

/** Changes committed while the clients are away. */
const MISSED = 10

const dir = tempDir('live-restart')
let port: number
let base: string
let env: Record<string, string>
let server: ChildServer | null = null
/** What the clients saw. */
let p: StreamingPair
let killedAt = 0
let seqAtKill = 0
let seqAtRestart = 0
let headSeq = 0
let restartedAt = 0

beforeAll(async () => {
  port = await freePort()
  base = `http://127.0.0.1:${port}`
  env = restartEnv(port, dir.path)
  server = spawnServer(env)
  await waitReady(base, server)
  p = await streamingPair(base, { ahead: 40 })
  killedAt = Date.now()
  seqAtKill = p.client.state.lastSeq
  await server.kill('SIGKILL')
  await until(() => p.client.state.status === 'reconnecting' && !p.raw.socket.connected, 'the drop noticed')

  // While the clients are away, changes are committed that they never saw live: by the product's
  // own system on the same data directory, not by the restart's catch-up, which may commit none
  // (the simulated clock does not run while the server is down).
  await commitWhileDown(dir.path, MISSED)

  server = spawnServer(env)
  await waitReady(base, server)
  restartedAt = Date.now()
  seqAtRestart = await headOf(base)
  headSeq = await backAtHead(base, p)
}, 150_000)

afterAll(async () => {
  p?.close()
  await server?.kill('SIGTERM')
  dir.remove()
})

const upTo = <T extends { seq: number }>(xs: T[], seq: number): T[] => xs.filter((x) => x.seq <= seq)

describe('after kill -9 and a restart on the same port and data directory', () => {
  it('createLiveClient ends with every committed change exactly once', async () => {
    const log = upTo(await logAfter(httpRequester(base), p.clientStart), headSeq)
    // Labelled: when this fails under load, the message says which part and with what numbers.
    const at = `clientStart ${p.clientStart}, seqAtKill ${seqAtKill}, seqAtRestart ${seqAtRestart}, head ${headSeq}`
    expect(log.length, at).toBeGreaterThan(60)
    expectExactlyTheLog(upTo(p.applied, headSeq), log)
    // Changes committed while the clients were away came by replay, before the p.client was live.
    expect(seqAtRestart, at).toBeGreaterThanOrEqual(seqAtKill + MISSED)
    expect(
      p.applied.some((f) => f.seq > seqAtKill && f.seq <= seqAtRestart),
      `a change between the kill and the restart; ${at}`,
    ).toBe(true)
    // It subscribed again after reconnecting (a fresh snapshot).
    expect(p.snapshots(), 'snapshots').toBeGreaterThanOrEqual(2)
  })

  it('a raw socket.io-client with auth as a function sending its last seq does too', async () => {
    const log = upTo(await logAfter(httpRequester(base), p.rawStart), headSeq)
    expectExactlyTheLog(upTo(p.raw.changes(), headSeq), log)
    expect(['transport close', 'transport error']).toContain(p.raw.disconnects[0])
  })

  it('createLiveClient went live → reconnecting (stale since the drop) → live', () => {
    const first = p.states.findIndex((s) => s.status === 'live')
    const drop = p.states.findIndex((s, i) => i > first && s.status !== 'live')
    const back = p.states.findIndex((s, i) => i > drop && s.status === 'live')
    expect(
      [first, drop, back].every((i) => i >= 0),
      JSON.stringify(p.states.map((s) => s.status)),
    ).toBe(true)
    expect(p.states[first]!.staleSince).toBeNull()
    const down = p.states.slice(drop, back)
    expect(new Set(down.map((s) => s.status))).toEqual(new Set(['reconnecting']))
    const since = p.states[drop]!.staleSince!
    expect(since).toBeGreaterThanOrEqual(killedAt)
    expect(since).toBeLessThan(restartedAt)
    // Staleness runs from the drop, not from the last failed attempt.
    for (const s of down) expect(s.staleSince).toBe(since)
    expect(p.states[back]!.staleSince).toBeNull()
    expect(p.states[back]!.error).toBeNull()
    expect(p.states.slice(back).every((s) => s.status === 'live')).toBe(true)
  })
})
