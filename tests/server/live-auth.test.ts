/**
 * Who may open `/live` (issue #3, acceptance 4): a foreign browser Origin is refused on both
 * transports while no Origin, the server's own origin and an ALLOWED_ORIGINS origin are accepted;
 * bad, expired and ingest tokens are refused at the handshake; an open socket is dropped when its
 * token expires or is revoked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTokenService } from '../../server/auth/tokens.ts'
import { ADMIN_TOKEN, call, mintToken } from './helpers.ts'
import {
  connectOutcome,
  connectSynced,
  liveSocket,
  startLiveServer,
  until,
  type LiveTestServer,
  type Recorder,
} from './live-helpers.ts'

const PORTAL = 'https://portal.example.gov.cn'
const EVIL = 'http://evil.example'
const TRANSPORTS = ['polling', 'websocket'] as const

let srv: LiveTestServer
let officer: string
const opened: Recorder[] = []
const track = (r: Recorder): Recorder => (opened.push(r), r)

beforeAll(async () => {
  srv = await startLiveServer({ env: { ALLOWED_ORIGINS: PORTAL } })
  officer = await mintToken(srv.http, 'officer')
})
afterAll(async () => {
  for (const r of opened) r.close()
  await srv?.stop()
})

/** The engine.io polling handshake as a browser on `origin` would send it. */
const pollingHandshake = (origin?: string) =>
  fetch(`${srv.base}/socket.io/?EIO=4&transport=polling`, { headers: origin ? { origin } : {} })

describe('origin check', () => {
  for (const transport of TRANSPORTS) {
    it(`refuses a foreign Origin over ${transport}`, async () => {
      const r = track(
        liveSocket(srv.base, { token: officer, transports: [transport], extraHeaders: { origin: EVIL } }),
      )
      const out = await connectOutcome(r)
      expect(out.ok).toBe(false)
      expect(r.frames).toEqual([])
    })

    it(`refuses a look-alike of an allowed origin and another port of the host over ${transport}`, async () => {
      for (const origin of [
        `${PORTAL}.evil.example`,
        'http://127.0.0.1:1',
        `http://127.0.0.1:${srv.port}.evil.example`,
      ]) {
        const r = track(
          liveSocket(srv.base, { token: officer, transports: [transport], extraHeaders: { origin } }),
        )
        expect((await connectOutcome(r)).ok, origin).toBe(false)
      }
    })

    for (const [label, origin] of [
      ['no Origin (not a browser)', undefined],
      ['the server’s own origin', 'SELF'],
      ['an ALLOWED_ORIGINS origin', PORTAL],
    ] as const) {
      it(`accepts ${label} over ${transport}`, async () => {
        const headers = origin === undefined ? undefined : { origin: origin === 'SELF' ? srv.base : origin }
        const r = track(
          await connectSynced(srv.base, {
            token: officer,
            transports: [transport],
            ...(headers ? { extraHeaders: headers } : {}),
          }),
        )
        expect(r.synced()).toBe(1)
        expect(r.socket.io.engine.transport.name).toBe(transport)
      })
    }
  }

  it('answers the polling handshake of a foreign Origin with 403 and of no Origin with 200', async () => {
    expect((await pollingHandshake(EVIL)).status).toBe(403)
    expect((await pollingHandshake()).status).toBe(200)
  })

  it('lets a browser on an ALLOWED_ORIGINS origin read the polling responses (CORS header)', async () => {
    const res = await pollingHandshake(PORTAL)
    expect(res.status).toBe(200)
    expect(res.headers.get('access-control-allow-origin')).toBe(PORTAL)
  })
})

describe('handshake tokens', () => {
  it('refuses an expired token with connect_error data.code unauthorized', async () => {
    const secret = await srv.system.store.getMeta('token.secret')
    const past = createTokenService({
      secret: Buffer.from(secret!, 'base64'),
      now: () => Date.now() - 2 * 3_600_000,
    })
    const { token, expiresAt } = await past.mint({ role: 'officer', ttlSeconds: 60 })
    expect(expiresAt).toBeLessThan(Date.now())
    const out = await connectOutcome(track(liveSocket(srv.base, { token })))
    expect(out).toMatchObject({ ok: false, code: 'unauthorized' })
  })

  it('refuses a missing, forged or ingest token, and a bad since', async () => {
    const cases: [string, Parameters<typeof liveSocket>[1], string][] = [
      ['missing', { token: undefined as unknown as string }, 'unauthorized'],
      ['forged', { token: officer.slice(0, -4) + 'AAAA' }, 'unauthorized'],
      ['ingest', { token: await mintToken(srv.http, 'ingest') }, 'forbidden'],
      ['since -1', { token: officer, since: -1 }, 'invalid_query'],
      ['since 1.5', { token: officer, since: 1.5 }, 'invalid_query'],
    ]
    for (const [label, o, code] of cases) {
      const out = await connectOutcome(track(liveSocket(srv.base, o)))
      expect(out, label).toMatchObject({ ok: false, code })
    }
  })
})

describe('open sockets', () => {
  it('are dropped when their token expires (ttl 2 s), and cannot come back with it', async () => {
    const { token, expiresAt } = await srv.system.tokens.mint({ role: 'officer', ttlSeconds: 2 })
    const r = track(await connectSynced(srv.base, { token }))
    const other = track(await connectSynced(srv.base, { token: officer }))
    await until(() => r.disconnects.length > 0, 'the expiry disconnect', 5_000)
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt - 50)
    expect(r.disconnects).toEqual(['io server disconnect'])
    expect(other.socket.connected).toBe(true)
    expect(await connectOutcome(r)).toMatchObject({ ok: false, code: 'unauthorized' })
  })

  it('are dropped when their token is revoked, every socket holding it and no other', async () => {
    const token = await mintToken(srv.http, 'leader')
    const a = track(await connectSynced(srv.base, { token }))
    const b = track(await connectSynced(srv.base, { token, transports: ['polling'] }))
    const other = track(await connectSynced(srv.base, { token: officer }))
    const res = await call<{ revoked: boolean }>(srv.http, '/api/v1/tokens/revoke', {
      token: ADMIN_TOKEN,
      body: { token },
    })
    expect(res.status).toBe(200)
    await until(() => a.disconnects.length > 0 && b.disconnects.length > 0, 'both sockets dropped', 5_000)
    expect(a.disconnects).toEqual(['io server disconnect'])
    expect(b.disconnects).toEqual(['io server disconnect'])
    expect(other.socket.connected).toBe(true)
    expect(await connectOutcome(a)).toMatchObject({ ok: false, code: 'unauthorized' })
  })

  it('are dropped when their token is revoked by its id alone (jti)', async () => {
    const minted = await call<{ token: string; jti: string }>(srv.http, '/api/v1/tokens', {
      token: ADMIN_TOKEN,
      body: { role: 'officer', ttl: '1h' },
    })
    const { token, jti } = minted.body
    const r = track(await connectSynced(srv.base, { token }))
    const other = track(await connectSynced(srv.base, { token: officer }))
    const res = await call(srv.http, '/api/v1/tokens/revoke', { token: ADMIN_TOKEN, body: { jti } })
    expect(res.status).toBe(200)
    await until(() => r.disconnects.length > 0, 'the revoked socket dropped', 5_000)
    expect(r.disconnects).toEqual(['io server disconnect'])
    expect(other.socket.connected).toBe(true)
    expect(await connectOutcome(r)).toMatchObject({ ok: false, code: 'unauthorized' })
  })
})
