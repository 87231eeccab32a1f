/**
 * Limits of `/live` against hostile clients (issue #9): repeated `subscribe`s share one snapshot
 * per region and seq instead of building one each, a flood of them is answered `rate_limited` and
 * then cut; connections are bounded per IP address and per token; after repeated bad tokens an
 * address is refused with `rate_limited` without its tokens being verified.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Response, Snapshot } from '../../shared/live.ts'
import { SUBSCRIBE_BURST } from '../../server/live/live-limits.ts'
import { mintToken } from './helpers.ts'
import {
  connectOutcome,
  connectSynced,
  DISTRICT,
  liveSocket,
  startComposedLiveServer,
  until,
  type ComposedLiveServer,
  type Recorder,
} from './live-helpers.ts'

const PER_IP = 5
const PER_TOKEN = 2
const FAILURES = 4

let srv: ComposedLiveServer
const opened: Recorder[] = []
const track = (r: Recorder): Recorder => (opened.push(r), r)

beforeAll(async () => {
  srv = await startComposedLiveServer({
    live: {
      // No tick during the test: the only snapshot builds are the ones subscribe makes.
      tickMs: 3_600_000,
      maxConnectionsPerIp: PER_IP,
      maxConnectionsPerToken: PER_TOKEN,
      maxFailedHandshakes: FAILURES,
    },
  })
})
afterAll(async () => {
  for (const r of opened) r.close()
  await srv?.stop()
})

afterEach(async () => {
  for (const r of opened.splice(0)) r.close()
  await until(() => srv.live.io.of('/live').sockets.size === 0, 'every socket closed')
})

describe('subscribe', () => {
  it('answers repeats at the same seq from one shared snapshot', async () => {
    const pub = await mintToken(srv.http, 'public')
    const a = track(liveSocket(srv.base, { token: pub }))
    const b = track(liveSocket(srv.base, { token: pub }))
    expect((await connectOutcome(a)).ok).toBe(true)
    expect((await connectOutcome(b)).ok).toBe(true)
    let builds = 0
    const kpis = srv.state.kpis
    srv.state.kpis = (region, now) => (region === DISTRICT && builds++, kpis(region, now))
    try {
      const acks = await Promise.all([a, b, a, b, a].map((r) => r.subscribe(DISTRICT)))
      expect(acks.every((x) => x.ok)).toBe(true)
      expect(new Set(acks.map((x) => JSON.stringify(x))).size).toBe(1)
      expect(builds).toBe(1)
    } finally {
      srv.state.kpis = kpis
    }
  })

  it('answers a flood with rate_limited, then cuts the socket', async () => {
    const r = track(await connectSynced(srv.base, { token: await mintToken(srv.http, 'officer') }))
    const answers: Response<Snapshot>[] = []
    for (let i = 0; i < 300; i++) r.socket.emit('subscribe', { region: DISTRICT }, (res) => answers.push(res))
    await until(() => r.disconnects.length > 0, 'the flooding socket to be cut')
    const ok = answers.filter((x) => x.ok).length
    const limited = answers.filter((x) => !x.ok && x.error.code === 'rate_limited').length
    // Answered in the order asked: the burst's snapshots first, then the refusals, then the cut.
    expect(ok).toBe(SUBSCRIBE_BURST)
    expect(answers.slice(0, ok).every((x) => x.ok)).toBe(true)
    expect(limited).toBeGreaterThan(0)
    expect(ok + limited).toBe(answers.length)
    expect(answers.length).toBeLessThan(300)
    expect(r.disconnects[0]).toMatch(/^transport (close|error)$/)
  })
})

describe('connections', () => {
  it(`are bounded per token (${PER_TOKEN}) and per address (${PER_IP}), and freed on close`, async () => {
    const officer = await mintToken(srv.http, 'officer')
    for (let i = 0; i < PER_TOKEN; i++) track(await connectSynced(srv.base, { token: officer }))
    const third = track(liveSocket(srv.base, { token: officer }))
    expect(await connectOutcome(third)).toMatchObject({ ok: false, code: 'rate_limited' })

    const others = await Promise.all(Array.from({ length: 3 }, () => mintToken(srv.http, 'leader')))
    for (const token of others.slice(0, PER_IP - PER_TOKEN)) track(await connectSynced(srv.base, { token }))
    const over = track(liveSocket(srv.base, { token: others[2]! }))
    expect((await connectOutcome(over)).ok).toBe(false)
    expect(srv.live.io.of('/live').sockets.size).toBe(PER_IP)

    opened[0]!.close()
    await until(() => srv.live.io.of('/live').sockets.size === PER_IP - 1, 'one closed')
    track(await connectSynced(srv.base, { token: officer }))
  })

  it(`refuse an address with rate_limited after ${FAILURES} bad tokens, good ones too`, async () => {
    const officer = await mintToken(srv.http, 'officer')
    const forged = officer.slice(0, -4) + 'AAAA'
    for (let i = 0; i < FAILURES; i++)
      expect(await connectOutcome(track(liveSocket(srv.base, { token: forged })))).toMatchObject({
        ok: false,
        code: 'unauthorized',
      })
    let verified = 0
    const verify = srv.system.tokens.verify
    srv.system.tokens.verify = (t) => (verified++, verify(t))
    try {
      for (const token of [forged, officer])
        expect(await connectOutcome(track(liveSocket(srv.base, { token })))).toMatchObject({
          ok: false,
          code: 'rate_limited',
        })
      expect(verified).toBe(0)
    } finally {
      srv.system.tokens.verify = verify
    }
  })
})
