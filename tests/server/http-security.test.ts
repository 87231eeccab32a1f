/**
 * HTTP hardening (issue 9): security headers on every answer (no framing but for embeds, no
 * referrer, no sniffing, a CSP the client can live with), a body limit over a real socket too, rate
 * limits per IP and per token, private caching of every answer to a token, tokens in the URL only
 * for reads, and no person figure of a grid for the public.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { System } from '../../server/system.ts'
import { ADMIN_TOKEN, call, createTestSystem, FIXED_NOW, isoQ, mintToken, type ErrorBody } from './helpers.ts'
import { startLiveServer, type LiveTestServer } from './live-helpers.ts'

let system: System
let cleanup: () => Promise<void>
let officer: string
let publicToken: string

beforeAll(async () => {
  const t = await createTestSystem({ env: { SIMULATE: '0' } })
  system = t.system
  cleanup = t.cleanup
  officer = await mintToken(system.app, 'officer')
  publicToken = await mintToken(system.app, 'public')
})
afterAll(async () => {
  await cleanup?.()
})

/**
 * The headers of an answer, read before its body: once a test in this file has called `serve()`,
 * @hono/node-server's lightweight Response rebuilds its headers from the handler's when the body is
 * read outside node-server, dropping those middleware added (over a socket they are all written).
 */
const headersOf = async (path: string, token?: string): Promise<Headers> =>
  (await system.app.request(path, token ? { headers: { authorization: `Bearer ${token}` } } : {})).headers

/** A positions body of about `bytes` bytes (valid JSON, one huge note-free batch). */
const bigBody = (bytes: number): string =>
  JSON.stringify({
    positions: [{ workerId: 'x'.repeat(bytes), lat: 29.3, lng: 113.1, at: '2026-11-25T15:00:00+08:00' }],
  })

describe('security headers', () => {
  const pages = [
    '/',
    '/api/docs',
    '/wall',
    '/brief',
    '/healthz',
    '/api/v1/kpis?region=430602',
    '/no-such-path',
  ]

  it('forbid framing, sniffing and referrers on every page that is not an embed, with a same-origin CSP', async () => {
    for (const path of pages) {
      const h = await headersOf(path, officer)
      const csp = h.get('content-security-policy') ?? ''
      expect(csp, path).toContain("default-src 'self'")
      expect(csp, path).toContain("frame-ancestors 'none'")
      expect(csp, path).toContain("style-src 'self' 'unsafe-inline'")
      expect(csp, path).toContain("connect-src 'self'")
      expect(csp, path).toContain("object-src 'none'")
      expect(h.get('x-frame-options'), path).toBe('DENY')
      expect(h.get('x-content-type-options'), path).toBe('nosniff')
      expect(h.get('referrer-policy'), path).toBe('no-referrer')
    }
  })

  it('leave framing to the embeds: an embed panel is framed only by its token’s portals, the demo by this server', async () => {
    // Without a token an embed panel's refusal page has no portal to name; the embed tests check
    // that a token's origins, and only they, may frame its panel.
    const panel = await headersOf('/embed/kpis')
    expect(panel.get('content-security-policy')).toContain("default-src 'self'")
    expect(panel.get('content-security-policy')).toContain('frame-ancestors *')
    expect(panel.get('x-frame-options')).toBeNull()
    const demo = await headersOf('/embed')
    expect(demo.get('content-security-policy')).toContain("frame-ancestors 'self'")
    expect(demo.get('x-frame-options')).toBe('SAMEORIGIN')
    for (const h of [panel, demo]) {
      expect(h.get('x-content-type-options')).toBe('nosniff')
      expect(h.get('referrer-policy')).toBe('no-referrer')
    }
    // A path that merely starts with the same letters is not an embed.
    expect((await headersOf('/embedded')).get('x-frame-options')).toBe('DENY')
  })
})

describe('body limit', () => {
  let live: LiveTestServer
  beforeAll(async () => {
    live = await startLiveServer()
  })
  afterAll(async () => {
    await live?.stop()
  })

  it('answers a 20 MB body with 413 payload_too_large, in Chinese and in English', async () => {
    const body = bigBody(20 * 1024 * 1024)
    const headers = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }
    const zh = await system.app.request('/api/v1/positions', { method: 'POST', headers, body })
    expect(zh.status).toBe(413)
    const zhBody = (await zh.json()) as ErrorBody
    expect(zhBody.error.code).toBe('payload_too_large')
    expect(zhBody.error.message).toMatch(/[\u4e00-\u9fff]/)
    const en = await system.app.request('/api/v1/positions?lang=en', { method: 'POST', headers, body })
    expect(((await en.json()) as ErrorBody).error.message).toMatch(/too large/)
  })

  it('answers a 20 MB body over a real socket with 413, and the server keeps answering', async () => {
    const res = await fetch(`${live.base}/api/v1/positions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: bigBody(20 * 1024 * 1024),
    })
    expect(res.status).toBe(413)
    expect(((await res.json()) as ErrorBody).error.code).toBe('payload_too_large')
    // Streamed without a length (chunked): cut off at the limit as well.
    const chunks = new ReadableStream<Uint8Array>({
      start(ctl) {
        const piece = new TextEncoder().encode('x'.repeat(1024 * 1024))
        for (let i = 0; i < 20; i++) ctl.enqueue(piece)
        ctl.close()
      },
    })
    const streamed = await fetch(`${live.base}/api/v1/positions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: chunks,
      duplex: 'half',
    } as RequestInit)
    expect(streamed.status).toBe(413)
    expect((await fetch(`${live.base}/healthz`)).status).toBe(200)
  })

  it('still takes the largest positions batch (5,000 pings)', async () => {
    const workers = live.system.city.workers()
    const at = new Date(FIXED_NOW).toISOString()
    const positions = Array.from({ length: 5000 }, (_, i) => ({
      workerId: workers[i % workers.length]!.id,
      lat: 29.3571234,
      lng: 113.1291234,
      at,
    }))
    const body = JSON.stringify({ positions })
    expect(body.length).toBeGreaterThan(300_000)
    const res = await fetch(`${live.base}/api/v1/positions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body,
    })
    expect(res.status).toBe(202)
  })
})

describe('rate limits', () => {
  it('limit each client IP over a real socket: 429 rate_limited with Retry-After', async () => {
    const live = await startLiveServer({ env: { RATE_LIMIT_PER_IP: '5', RATE_LIMIT_PER_TOKEN: '1000' } })
    try {
      const get = () =>
        fetch(`${live.base}/api/v1/categories?lang=en`, {
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        })
      for (let i = 0; i < 5; i++) expect((await get()).status).toBe(200)
      const limited = await get()
      expect(limited.status).toBe(429)
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0)
      const body = (await limited.json()) as ErrorBody
      expect(body.error.code).toBe('rate_limited')
      expect(body.error.message).toMatch(/retry/)
      // X-Forwarded-For is not believed without TRUST_PROXY.
      const spoofed = await fetch(`${live.base}/api/v1/categories`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-forwarded-for': '203.0.113.9' },
      })
      expect(spoofed.status).toBe(429)
      // Pages and probes are not API calls.
      expect((await fetch(`${live.base}/healthz`)).status).toBe(200)
    } finally {
      await live.stop()
    }
  })

  it('with TRUST_PROXY=1 limit the client the proxy names in X-Forwarded-For', async () => {
    const live = await startLiveServer({ env: { RATE_LIMIT_PER_IP: '2', TRUST_PROXY: '1' } })
    try {
      const get = (ip: string) =>
        fetch(`${live.base}/api/v1/categories`, {
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-forwarded-for': `198.51.100.1, ${ip}` },
        })
      expect((await get('203.0.113.1')).status).toBe(200)
      expect((await get('203.0.113.1')).status).toBe(200)
      expect((await get('203.0.113.1')).status).toBe(429)
      expect((await get('203.0.113.2')).status).toBe(200)
    } finally {
      await live.stop()
    }
  })

  it('limit each token, whatever the IP', async () => {
    const t = await createTestSystem({ env: { SIMULATE: '0', RATE_LIMIT_PER_TOKEN: '3' } })
    try {
      const one = await mintToken(t.system.app, 'officer')
      const other = await mintToken(t.system.app, 'officer')
      for (let i = 0; i < 3; i++)
        expect((await call(t.system.app, '/api/v1/categories', { token: one })).status).toBe(200)
      const limited = await call<ErrorBody>(t.system.app, '/api/v1/categories', { token: one })
      expect(limited.status).toBe(429)
      expect(limited.body.error.code).toBe('rate_limited')
      expect(limited.headers.get('retry-after')).toMatch(/^\d+$/)
      expect((await call(t.system.app, '/api/v1/categories', { token: other })).status).toBe(200)
    } finally {
      await t.cleanup()
    }
  })

  it('leave the defaults far above what a wall does', async () => {
    // A wall's load (a dozen calls) repeated 20 times with one token: all answered.
    for (let i = 0; i < 20; i++)
      for (const path of [
        '/api/v1/whoami',
        '/api/v1/categories',
        '/api/v1/regions/430602',
        '/api/v1/kpis?region=430602',
      ])
        expect((await call(system.app, path, { token: officer })).status, path).toBe(200)
  })
})

describe('caching and tokens in URLs', () => {
  it('marks every answer to a token private, and no-store unless the route set a private lifetime', async () => {
    const kpis = await headersOf('/api/v1/kpis?region=430602', officer)
    expect(kpis.get('cache-control')).toBe('private, no-store')
    const geo = await headersOf('/api/v1/regions/430602/geo', officer)
    expect(geo.get('cache-control')).toBe('private, max-age=3600')
    const geoLevel = await headersOf('/api/v1/regions/430602/geo?level=street', officer)
    expect(geoLevel.get('cache-control')).toBe('private, max-age=3600')
    const denied = await headersOf('/api/v1/kpis?region=430602', 'garbage-token-0123456789')
    expect(denied.get('cache-control')).toBe('private, no-store')
    // The home page with ?token= writes the token into its links: never stored.
    const home = await system.app.request(`/?token=${officer}`)
    expect(home.headers.get('cache-control')).toBe('private, no-store')
    // Without a token nothing is marked.
    expect((await headersOf('/healthz')).get('cache-control')).toBeNull()
  })

  it('takes ?token= and ?api_key= on reads', async () => {
    expect((await system.app.request(`/api/v1/kpis?region=430602&token=${officer}`)).status).toBe(200)
    expect((await system.app.request(`/api/v1/categories?api_key=${officer}`)).status).toBe(200)
  })

  it('refuses a write whose token is in the URL with 401, and takes the same write with the header', async () => {
    const body = JSON.stringify({ role: 'leader', ttl: '1h' })
    const json = { 'content-type': 'application/json' }
    for (const q of [`token=${ADMIN_TOKEN}`, `api_key=${ADMIN_TOKEN}`]) {
      for (const path of ['/api/v1/tokens', '/api/v1/tokens/revoke', '/api/v1/positions', '/api/v1/events']) {
        const r = await system.app.request(`${path}?${q}&lang=en`, { method: 'POST', headers: json, body })
        expect(r.status, `${path}?${q}`).toBe(401)
        const e = (await r.json()) as ErrorBody
        expect(e.error.code).toBe('unauthorized')
        expect(e.error.message).toMatch(/Authorization header/)
      }
    }
    const zh = await call<ErrorBody>(system.app, `/api/v1/tokens?token=${ADMIN_TOKEN}`, {
      body: { role: 'leader', ttl: '1h' },
    })
    expect(zh.body.error.message).toMatch(/Authorization/)
    const ok = await call(system.app, '/api/v1/tokens', {
      token: ADMIN_TOKEN,
      body: { role: 'leader', ttl: '1h' },
    })
    expect(ok.status).toBe(201)
  })
})

describe('person figures for the public', () => {
  type Kpis = { values: Record<string, number | null> }
  const grid = () => system.city.gridsOf('430602')[0]!.code

  it('gives a public token no onlineWorkers or patrolCoverage of a grid, now or as of a past instant', async () => {
    const at = `&from=${isoQ(FIXED_NOW - 7_200_000)}&to=${isoQ(FIXED_NOW - 3_600_000)}&at=${isoQ(FIXED_NOW - 3_600_000)}`
    for (const q of [`region=${grid()}`, `region=${grid()}${at}`]) {
      const pub = await call<Kpis>(system.app, `/api/v1/kpis?${q}`, { token: publicToken })
      expect(pub.status, q).toBe(200)
      expect(pub.body.values.onlineWorkers, q).toBeNull()
      expect(pub.body.values.patrolCoverage, q).toBeNull()
      expect(pub.body.values.reported, q).toBeTypeOf('number')
      const off = await call<Kpis>(system.app, `/api/v1/kpis?${q}`, { token: officer })
      expect(off.body.values.onlineWorkers, q).toBeTypeOf('number')
      expect(off.body.values.patrolCoverage, q).toBeTypeOf('number')
    }
  })

  it('still gives the public the figures of a community, a street and the district', async () => {
    const community = system.city.children(system.city.children('430602')[0]!.code)[0]!.code
    for (const region of ['430602', '430602001', community]) {
      const pub = await call<Kpis>(system.app, `/api/v1/kpis?region=${region}`, { token: publicToken })
      expect(pub.body.values.onlineWorkers, region).toBeTypeOf('number')
    }
    const ranking = await call<{ rankings: Kpis[] }>(system.app, '/api/v1/rankings?level=community', {
      token: publicToken,
    })
    expect(ranking.body.rankings.length).toBeGreaterThan(100)
    expect(ranking.body.rankings.every((r) => typeof r.values.onlineWorkers === 'number')).toBe(true)
  })
})
