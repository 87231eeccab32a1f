/**
 * Portal embed tokens (issue 13, items 2 and 3), tried as an attacker would: only an admin mints
 * them, with panels, a region, exact origins and a ttl within its kind's cap; they are listed
 * without their secret and revoked by id; an embed token is never a bearer token nor the other way
 * round; `/embed/<panel>` is served only for a token naming that panel and region, framed by exactly
 * its origins, and refused otherwise with a page saying why; on `/live` it is a public socket of its
 * region from its own origins, dropped within seconds when revoked; `npm run embed-token` mints,
 * lists and revokes over HTTP.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { Hono } from 'hono'
import { SignJWT, decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EMBED_TTL_CAP_SECONDS, type EmbedTokenEntry, type EmbedTokenMinted } from '../../shared/embed.ts'
import type { Snapshot } from '../../shared/live.ts'
import { createTokenService } from '../../server/auth/tokens.ts'
import type { AppEnv } from '../../server/http/context.ts'
import { requireEmbed } from '../../server/http/embed.ts'
import { detectLang, errorHandler } from '../../server/http/middleware.ts'
import { ADMIN_TOKEN, call, mintToken, type ErrorBody } from './helpers.ts'
import {
  DISTRICT,
  connectOutcome,
  liveSocket,
  startLiveServer,
  until,
  type LiveTestServer,
  type Recorder,
} from './live-helpers.ts'

const PORTAL = 'https://portal.example.gov.cn'
const OTHER_PORTAL = 'https://other.example.gov.cn'
const STREET = '430602001'
const OTHER_STREET = '430602002'
const CJK = /[\u4e00-\u9fff]/
const HOUR = 3_600
const DAY = 86_400

let srv: LiveTestServer
const opened: Recorder[] = []
const track = (r: Recorder): Recorder => (opened.push(r), r)

beforeAll(async () => {
  // Both portals pass the engine's origin check: the embed token's own check is what is tested.
  srv = await startLiveServer({ env: { ALLOWED_ORIGINS: `${PORTAL},${OTHER_PORTAL}` } })
})
afterAll(async () => {
  for (const r of opened) r.close()
  await srv?.stop()
})

type Minted = EmbedTokenMinted & ErrorBody
const mint = (body: Record<string, unknown>, token = ADMIN_TOKEN, q = '') =>
  call<Minted>(srv.http, `/api/v1/embed-tokens${q}`, { token, body })
const good = (extra: Record<string, unknown> = {}) => ({
  panels: ['kpis'],
  region: STREET,
  origins: [PORTAL],
  ttl: '1h',
  ...extra,
})
async function minted(extra: Record<string, unknown> = {}): Promise<EmbedTokenMinted> {
  const r = await mint(good(extra))
  if (r.status !== 201) throw new Error(`mint failed: ${r.status} ${JSON.stringify(r.body)}`)
  return r.body
}
const list = (token = ADMIN_TOKEN) =>
  call<{ tokens: EmbedTokenEntry[] } & ErrorBody>(srv.http, '/api/v1/embed-tokens', { token })
const revoke = (id: string, token = ADMIN_TOKEN) =>
  call<{ revoked: boolean; id: string } & ErrorBody>(srv.http, `/api/v1/embed-tokens/${id}`, {
    token,
    method: 'DELETE',
  })
/** A page as a browser asks for it (no Authorization header). */
const page = (path: string) => fetch(srv.base + path)
const frameAncestors = (res: Response): string | null =>
  /frame-ancestors ([^;]*)/.exec(res.headers.get('content-security-policy') ?? '')?.[1] ?? null
const secret = async () => Buffer.from((await srv.system.store.getMeta('token.secret'))!, 'base64')

/** Whether a page answer is the client's shell (the build's, or the not-built notice) and not a refusal. */
async function isShell(res: Response): Promise<boolean> {
  const text = await res.text()
  return (res.status === 200 || res.status === 503) && !text.includes('data-refusal')
}

describe('minting', () => {
  it('gives an admin a token, its page URL, its id and claims; the token is an embed token in aud', async () => {
    const r = await mint(good({ panels: ['map', 'kpis'], origins: [PORTAL, OTHER_PORTAL], ttl: '30d' }))
    expect(r.status).toBe(201)
    expect(r.body.url).toBe(`/embed/map?token=${r.body.token}`)
    expect(r.body.urls.kpis).toBe(`/embed/kpis?token=${r.body.token}`)
    expect(r.body).toMatchObject({ kind: 'key', region: STREET, panels: ['map', 'kpis'] })
    expect(r.body.origins).toEqual([PORTAL, OTHER_PORTAL])
    expect(Date.parse(r.body.expiresAt) - Date.parse(r.body.issuedAt)).toBe(30 * DAY * 1000)
    const claims = decodeJwt(r.body.token)
    expect(claims).toMatchObject({ aud: 'embed', role: 'public', region: STREET, jti: r.body.id })
    expect(claims.embedKind).toBe('key')
  })

  it('refuses everyone but an admin: no token 401, officer, leader, public and ingest 403', async () => {
    expect((await call(srv.http, '/api/v1/embed-tokens', { body: good() })).status).toBe(401)
    for (const role of ['officer', 'leader', 'public', 'ingest'] as const) {
      const r = await mint(good(), await mintToken(srv.http, role))
      expect(r.status, role).toBe(403)
      expect(r.body.error.code).toBe('forbidden')
    }
    // Nor can an embed token mint one, even as a bearer.
    expect((await mint(good(), (await minted()).token)).status).toBe(401)
  })

  it('refuses bad panels, origins, regions, kinds and ttls with 400 invalid_body naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ panels: [] }, 'panels'],
      [{ panels: ['wall'] }, 'panels.0'],
      [{ panels: 'kpis' }, 'panels'],
      [{ origins: [] }, 'origins'],
      [{ origins: ['https://portal.example.gov.cn/'] }, 'origins.0'],
      [{ origins: ['https://portal.example.gov.cn/news/index.html'] }, 'origins.0'],
      [{ origins: ['https://*.example.gov.cn'] }, 'origins.0'],
      [{ origins: ['*'] }, 'origins.0'],
      [{ origins: ['portal.example.gov.cn'] }, 'origins.0'],
      [{ origins: ['ftp://portal.example.gov.cn'] }, 'origins.0'],
      [{ origins: ['javascript://portal.example.gov.cn'] }, 'origins.0'],
      [{ origins: ['https://user@portal.example.gov.cn'] }, 'origins.0'],
      [{ origins: ["https://portal.example.gov.cn 'unsafe-inline'"] }, 'origins.0'],
      [{ origins: ['https://portal.example.gov.cn;script-src *'] }, 'origins.0'],
      [{ origins: ['https://portal.example.gov.cn:99999'] }, 'origins.0'],
      [{ origins: ['https://portal.example.gov.cn?x=1'] }, 'origins.0'],
      [{ origins: [PORTAL, 'null'] }, 'origins.1'],
      [{ origins: Array.from({ length: 21 }, (_, i) => `https://p${i}.example.gov.cn`) }, 'origins'],
      [{ region: '43060' }, 'region'],
      [{ region: undefined }, 'region'],
      [{ kind: 'forever' }, 'kind'],
      [{ ttl: 0 }, 'ttl'],
      [{ ttl: '-1h' }, 'ttl'],
      [{ ttl: '1y' }, 'ttl'],
      [{ ttl: undefined }, 'ttl'],
    ]
    for (const [extra, path] of cases) {
      const r = await mint(good(extra))
      expect(r.status, JSON.stringify(extra)).toBe(400)
      expect(r.body.error.code).toBe('invalid_body')
      const paths = (r.body.error.details as { path: string }[]).map((d) => d.path)
      expect(paths, JSON.stringify(extra)).toContain(path)
    }
  })

  it('answers an unknown region with 404 not_found, and a region-scoped admin beyond it with 403', async () => {
    const unknown = await mint(good({ region: '430602999' }))
    expect(unknown.status).toBe(404)
    expect(unknown.body.error.code).toBe('not_found')
    const scoped = (
      await call<{ token: string }>(srv.http, '/api/v1/tokens', {
        token: ADMIN_TOKEN,
        body: { role: 'admin', ttl: '1h', region: STREET },
      })
    ).body.token
    expect((await mint(good({ region: OTHER_STREET }), scoped)).status).toBe(403)
    expect((await mint(good({ region: DISTRICT }), scoped)).status).toBe(403)
    expect((await mint(good({ region: STREET }), scoped)).status).toBe(201)
  })

  it('normalises origins as browsers send them and drops duplicate panels and origins', async () => {
    const r = await minted({
      panels: ['kpis', 'kpis', 'trend'],
      origins: ['HTTPS://Portal.Example.gov.cn:443', PORTAL, 'http://127.0.0.1:8081', 'http://intranet:80'],
    })
    expect(r.panels).toEqual(['kpis', 'trend'])
    expect(r.origins).toEqual([PORTAL, 'http://127.0.0.1:8081', 'http://intranet'])
  })
})

describe('lifetimes per kind', () => {
  it(`caps a key at ${EMBED_TTL_CAP_SECONDS.key / DAY} days and a signed URL at 24 hours`, async () => {
    expect((await mint(good({ kind: 'key', ttl: '365d' }))).status).toBe(201)
    expect((await mint(good({ kind: 'signed', ttl: '24h' }))).status).toBe(201)
    expect((await mint(good({ kind: 'signed', ttl: 24 * HOUR }))).status).toBe(201)
    for (const [kind, ttl, words] of [
      ['key', '366d', /365/],
      ['signed', '25h', /24/],
      ['signed', 24 * HOUR + 1, /24/],
      ['signed', '30d', /24/],
    ] as const) {
      const zh = await mint(good({ kind, ttl }))
      expect(zh.status, `${kind} ${ttl}`).toBe(400)
      expect(zh.body.error.code).toBe('invalid_body')
      expect(zh.body.error.message).toMatch(CJK)
      expect(zh.body.error.message).toMatch(words)
      expect((zh.body.error.details as { path: string }[])[0]!.path).toBe('ttl')
    }
    const en = await mint(good({ kind: 'signed', ttl: '2d' }), ADMIN_TOKEN, '?lang=en')
    expect(en.body.error.message).toMatch(/signed embed URL may live at most 24 hours/)
  })

  it('refuses, inside the server, an embed token past its cap, of another role, or without claims', async () => {
    const embed = { kind: 'signed' as const, panels: ['kpis' as const], origins: [PORTAL] }
    const t = srv.system.tokens
    await expect(
      t.mint({ role: 'public', kind: 'embed', region: STREET, ttlSeconds: 25 * HOUR, embed }),
    ).rejects.toThrow(/24 hours/)
    await expect(
      t.mint({ role: 'officer', kind: 'embed', region: STREET, ttlSeconds: HOUR, embed }),
    ).rejects.toThrow(TypeError)
    await expect(
      t.mint({ role: 'public', kind: 'embed', region: STREET, ttlSeconds: HOUR }),
    ).rejects.toThrow()
    await expect(t.mint({ role: 'public', kind: 'embed', ttlSeconds: HOUR, embed })).rejects.toThrow()
    await expect(t.mint({ role: 'public', ttlSeconds: HOUR, embed })).rejects.toThrow(/no embed claims/)
  })

  it('never honours a forged claim set even when signed with the secret: over-long signed, wrong role, bad origin', async () => {
    const key = await secret()
    const forge = (claims: Record<string, unknown>, ttl = '1h') =>
      new SignJWT({
        role: 'public',
        region: STREET,
        embedKind: 'key',
        panels: ['kpis'],
        origins: [PORTAL],
        ...claims,
      })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer('city-brain')
        .setAudience('embed')
        .setIssuedAt()
        .setExpirationTime(ttl)
        .setJti(`forged-${Math.random()}`)
        .sign(key)
    // The control: a well-formed one passes, so the refusals below are for their claims.
    expect((await page(`/embed/kpis?token=${await forge({})}`)).status).not.toBe(401)
    for (const [label, token] of [
      ['signed for a week', await forge({ embedKind: 'signed' }, '7d')],
      ['officer', await forge({ role: 'officer' })],
      ['no region', await forge({ region: undefined })],
      ['wildcard origin', await forge({ origins: ['*'] })],
      ['origin with a CSP injection', await forge({ origins: [`${PORTAL}; script-src *`] })],
      ['no origins', await forge({ origins: [] })],
      ['unknown panel', await forge({ panels: ['wall'] })],
      ['actions', await forge({ actions: ['handle'] })],
    ] as const) {
      const res = await page(`/embed/kpis?token=${token}`)
      expect(res.status, label).toBe(401)
      expect(await res.text(), label).toContain('data-refusal="invalid"')
    }
  })
})

describe('listing and revocation', () => {
  it('lists embed tokens with their claims and never a token, to admins only', async () => {
    const a = await minted({ panels: ['ranking', 'satisfaction'], kind: 'signed', ttl: '2h' })
    const bearer = await mintToken(srv.http, 'public')
    const r = await list()
    expect(r.status).toBe(200)
    const text = JSON.stringify(r.body)
    expect(text).not.toContain(a.token)
    expect(text).not.toContain(a.token.split('.')[2])
    const row = r.body.tokens.find((t) => t.id === a.id)!
    expect(row).toEqual({
      id: a.id,
      kind: 'signed',
      panels: ['ranking', 'satisfaction'],
      region: STREET,
      origins: [PORTAL],
      issuedAt: a.issuedAt,
      expiresAt: a.expiresAt,
      revoked: false,
    })
    // Bearer tokens are not embed tokens.
    expect(r.body.tokens.map((t) => t.id)).not.toContain(decodeJwt(bearer).jti)
    for (const t of r.body.tokens) expect(Object.keys(t)).not.toContain('token')
    expect((await list(await mintToken(srv.http, 'leader'))).status).toBe(403)
    expect((await list(a.token)).status).toBe(401)
  })

  it('revokes by id: its page is refused at once with 401, and it is listed as revoked', async () => {
    const t = await minted()
    expect(await isShell(await page(t.url))).toBe(true)
    const r = await revoke(t.id)
    expect(r.status).toBe(200)
    expect(r.body).toEqual({ id: t.id, revoked: true })
    const res = await page(t.url)
    expect(res.status).toBe(401)
    expect(await res.text()).toContain('data-refusal="revoked"')
    // The refusal can still be read inside the portal's iframe, and only there.
    expect(frameAncestors(res)).toBe(PORTAL)
    expect((await list()).body.tokens.find((x) => x.id === t.id)!.revoked).toBe(true)
    expect((await revoke(t.id)).status).toBe(200)
  })

  it('answers an unknown id, a bearer token’s id and a non-admin with 404, 404 and 403', async () => {
    expect((await revoke('00000000-0000-4000-8000-000000000000')).body.error.code).toBe('not_found')
    const bearer = await call<{ jti: string; token: string }>(srv.http, '/api/v1/tokens', {
      token: ADMIN_TOKEN,
      body: { role: 'officer', ttl: '1h' },
    })
    expect((await revoke(bearer.body.jti)).status).toBe(404)
    expect((await call(srv.http, '/api/v1/events?limit=1', { token: bearer.body.token })).status).toBe(200)
    const t = await minted()
    expect((await revoke(t.id, await mintToken(srv.http, 'officer'))).status).toBe(403)
    expect((await revoke(t.id, t.token)).status).toBe(401)
    expect(await isShell(await page(t.url))).toBe(true)
  })

  it('keeps a region-scoped admin to the embed tokens of its region', async () => {
    const admin = (
      await call<{ token: string }>(srv.http, '/api/v1/tokens', {
        token: ADMIN_TOKEN,
        body: { role: 'admin', ttl: '1h', region: STREET },
      })
    ).body.token
    const mine = await minted({ region: STREET })
    const theirs = await minted({ region: OTHER_STREET })
    const seen = (await list(admin)).body.tokens.map((t) => t.id)
    expect(seen).toContain(mine.id)
    expect(seen).not.toContain(theirs.id)
    expect((await revoke(theirs.id, admin)).status).toBe(403)
    expect(await isShell(await page(theirs.url))).toBe(true)
    expect((await revoke(mine.id, admin)).status).toBe(200)
  })
})

describe('one kind never passes for the other', () => {
  it('refuses an embed token as Authorization: Bearer, as ?token= and as api_key on every API route', async () => {
    const { token } = await minted({ region: DISTRICT, panels: ['kpis', 'map', 'trend', 'ranking'] })
    for (const path of [
      '/api/v1/whoami',
      '/api/v1/kpis?region=430602',
      '/api/v1/rankings?level=street',
      '/api/v1/regions/430602',
      '/api/v1/events?limit=1',
      '/api/v1/changes',
    ]) {
      const r = await call<ErrorBody>(srv.http, path, { token })
      expect(r.status, path).toBe(401)
      expect(r.body.error.code).toBe('unauthorized')
      const sep = path.includes('?') ? '&' : '?'
      expect((await page(`${path}${sep}token=${token}`)).status, `${path} ?token=`).toBe(401)
      expect((await page(`${path}${sep}api_key=${token}`)).status, `${path} api_key`).toBe(401)
    }
  })

  it('refuses a bearer token (even public, even admin) on an embed page, saying it is not an embed token', async () => {
    for (const token of [await mintToken(srv.http, 'public', { region: STREET }), ADMIN_TOKEN]) {
      const res = await page(`/embed/kpis?token=${token}`)
      expect(res.status).toBe(401)
      const text = await res.text()
      expect(text).toContain('data-refusal="not_embed"')
      expect(text).toMatch(/不是嵌入令牌/)
      expect(text).not.toContain(token)
    }
  })
})

describe('the embed page', () => {
  it('serves a valid token’s panel framed by exactly its origins, with no X-Frame-Options', async () => {
    const t = await minted({ panels: ['kpis', 'map'], origins: [PORTAL, OTHER_PORTAL] })
    for (const url of [t.url, t.urls.kpis!, `${t.urls.kpis}&theme=dark&lang=en`, t.url.replace('?', '/?')]) {
      const res = await page(url)
      expect(frameAncestors(res), url).toBe(`${PORTAL} ${OTHER_PORTAL}`)
      expect(res.headers.get('x-frame-options'), url).toBeNull()
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'")
      expect(res.headers.get('referrer-policy')).toBe('no-referrer')
      expect(res.headers.get('cache-control')).toMatch(/private/)
      expect(await isShell(res), url).toBe(true)
    }
  })

  it('keeps every other page unframeable, and the /embed demo framed by this server only', async () => {
    const t = await minted()
    for (const path of [
      '/',
      '/wall',
      '/brief',
      '/api/docs',
      `/wall?token=${t.token}`,
      '/embedded',
      '/healthz',
    ]) {
      const res = await page(path)
      expect(frameAncestors(res), path).toBe("'none'")
      expect(res.headers.get('x-frame-options'), path).toBe('DENY')
    }
    const demo = await page('/embed')
    expect(frameAncestors(demo)).toBe("'self'")
    expect(demo.headers.get('x-frame-options')).toBe('SAMEORIGIN')
    // Anything deeper under /embed/ names no panel: refused (a page the portal may show), no shell.
    const deeper = await page(`/embed/kpis/x?token=${t.token}`)
    expect(deeper.status).toBe(404)
    expect(await deeper.text()).toContain('data-refusal="unknown_panel"')
  })

  it('refuses another panel and a region outside the token with 403, framed by its portals', async () => {
    const t = await minted({ panels: ['kpis'], region: STREET })
    const community = srv.system.city.children(STREET)[0]!.code
    const grid = srv.system.city.gridsOf(community)[0]!.code
    for (const [q, why] of [
      [`/embed/map?token=${t.token}`, 'panel'],
      [`/embed/ranking?token=${t.token}`, 'panel'],
      [`/embed/kpis?token=${t.token}&region=${OTHER_STREET}`, 'region'],
      [`/embed/kpis?token=${t.token}&region=${DISTRICT}`, 'region'],
      [`/embed/kpis?token=${t.token}&region=${srv.system.city.gridsOf(OTHER_STREET)[0]!.code}`, 'region'],
    ] as const) {
      const res = await page(q)
      expect(res.status, q).toBe(403)
      expect(frameAncestors(res)).toBe(PORTAL)
      expect(res.headers.get('cache-control')).toMatch(/no-store/)
      expect(await res.text()).toContain(`data-refusal="${why}"`)
    }
    for (const region of [STREET, community, grid])
      expect(await isShell(await page(`${t.url}&region=${region}`)), region).toBe(true)
    expect((await page(`${t.url}&region=12345`)).status).toBe(400)
    expect((await page(`${t.url}&region=430602001999`)).status).toBe(404)
    expect((await page(`/embed/wall?token=${t.token}`)).status).toBe(404)
  })

  it('refuses a missing, forged or expired token with 401 and a page in Chinese, or English with ?lang=en', async () => {
    const past = createTokenService({ secret: await secret(), now: () => Date.now() - 3 * HOUR * 1000 })
    const expired = await past.mint({
      role: 'public',
      kind: 'embed',
      region: STREET,
      ttlSeconds: HOUR,
      embed: { kind: 'signed', panels: ['kpis'], origins: [PORTAL] },
    })
    const valid = await minted()
    const forged = valid.token.slice(0, -4) + (valid.token.endsWith('AAAA') ? 'BBBB' : 'AAAA')
    for (const [q, why, portals] of [
      ['', 'missing', '*'],
      ['?token=', 'missing', '*'],
      ['?token=garbage', 'invalid', '*'],
      [`?token=${forged}`, 'invalid', '*'],
      [`?token=${expired.token}`, 'expired', PORTAL],
    ] as const) {
      const zh = await page(`/embed/kpis${q}`)
      expect(zh.status, why).toBe(401)
      const text = await zh.text()
      expect(text).toContain(`data-refusal="${why}"`)
      expect(text).toMatch(CJK)
      expect(text).toContain('lang="zh-CN"')
      expect(frameAncestors(zh), why).toBe(portals)
      const en = await page(`/embed/kpis${q}${q ? '&' : '?'}lang=en`)
      const enText = await en.text()
      expect(enText).toContain('lang="en"')
      expect(enText).not.toMatch(CJK)
    }
  })

  it('escapes what the path says: no markup of the request reaches the refusal page', async () => {
    const t = await minted()
    const res = await page(`/embed/${encodeURIComponent('<script>alert(1)</script>')}?token=${t.token}`)
    expect(res.status).toBe(404)
    const text = await res.text()
    expect(text).not.toContain('<script>')
    expect(text).not.toContain(t.token)
  })
})

describe('the live stream', () => {
  async function connected(token: string, headers?: Record<string, string>): Promise<Recorder> {
    const r = track(liveSocket(srv.base, { token, ...(headers ? { extraHeaders: headers } : {}) }))
    const out = await connectOutcome(r)
    if (!out.ok) throw new Error(`connect failed: ${JSON.stringify(out)}`)
    return r
  }

  it('takes an embed token as a public socket of its region: the same snapshot as a public bearer token', async () => {
    const t = await minted({ region: STREET })
    const embed = await connected(t.token)
    const pub = await connected(await mintToken(srv.http, 'public', { region: STREET }))
    const [a, b] = (await Promise.all([embed.subscribe(STREET), pub.subscribe(STREET)])) as {
      ok: true
      data: Snapshot
    }[]
    expect(a!.ok).toBe(true)
    expect(a!.data).toEqual(b!.data)
    for (const k of ['openEvents', 'workerIds', 'positions', 'alerts', 'recent'])
      expect(a!.data, k).not.toHaveProperty(k)
    const outside = await embed.subscribe(OTHER_STREET)
    expect(outside).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    expect(await embed.subscribe(DISTRICT)).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    const counts = await call<{ byRole: Record<string, number> }>(srv.http, '/api/v1/live/clients', {
      token: ADMIN_TOKEN,
    })
    expect(counts.body.byRole.public).toBeGreaterThanOrEqual(2)
  })

  it('accepts the handshake from its own origins, this server and no Origin; refuses another portal', async () => {
    const t = await minted({ origins: [PORTAL] })
    for (const origin of [PORTAL, srv.base, undefined])
      await connected(t.token, origin ? { origin } : undefined)
    const other = track(liveSocket(srv.base, { token: t.token, extraHeaders: { origin: OTHER_PORTAL } }))
    expect(await connectOutcome(other)).toMatchObject({ ok: false, code: 'forbidden' })
    const evil = track(
      liveSocket(srv.base, { token: t.token, extraHeaders: { origin: 'http://evil.example' } }),
    )
    expect((await connectOutcome(evil)).ok).toBe(false)
    // A bearer token from the other portal is still taken (the engine's ALLOWED_ORIGINS rule).
    await connected(await mintToken(srv.http, 'public'), { origin: OTHER_PORTAL })
  })

  it('refuses an expired or revoked embed token at the handshake', async () => {
    const past = createTokenService({ secret: await secret(), now: () => Date.now() - 3 * HOUR * 1000 })
    const expired = await past.mint({
      role: 'public',
      kind: 'embed',
      region: STREET,
      ttlSeconds: HOUR,
      embed: { kind: 'signed', panels: ['kpis'], origins: [PORTAL] },
    })
    const out = await connectOutcome(track(liveSocket(srv.base, { token: expired.token })))
    expect(out).toMatchObject({ ok: false, code: 'unauthorized', message: 'token expired' })
    const t = await minted()
    await revoke(t.id)
    const rev = await connectOutcome(track(liveSocket(srv.base, { token: t.token })))
    expect(rev).toMatchObject({ ok: false, code: 'unauthorized', message: 'token revoked' })
  })

  it('drops every open socket holding a revoked embed token within seconds, and no other', async () => {
    const t = await minted()
    const a = await connected(t.token)
    const b = track(liveSocket(srv.base, { token: t.token, transports: ['polling'] }))
    expect((await connectOutcome(b)).ok).toBe(true)
    const other = await connected((await minted()).token)
    const revokedAt = Date.now()
    expect((await revoke(t.id)).status).toBe(200)
    await until(() => a.disconnects.length > 0 && b.disconnects.length > 0, 'both dropped', 5_000)
    expect(Date.now() - revokedAt).toBeLessThan(5_000)
    expect(a.disconnects).toEqual(['io server disconnect'])
    expect(other.socket.connected).toBe(true)
    expect(await connectOutcome(a)).toMatchObject({ ok: false, code: 'unauthorized' })
  })
})

describe('requireEmbed, for a future public route', () => {
  const app = () =>
    new Hono<AppEnv>()
      .use(detectLang())
      .get('/data', requireEmbed(srv.system, 'kpis'), (c) => c.json({ region: c.get('principal').region }))
      .onError(errorHandler(() => undefined))

  it('takes an embed token naming the panel, by header or ?token=, and refuses the rest with JSON errors', async () => {
    const t = await minted({ panels: ['kpis'] })
    const ok = await call<{ region: string }>(app(), '/data', { token: t.token })
    expect(ok).toMatchObject({ status: 200, body: { region: STREET } })
    expect((await app().request(`/data?token=${t.token}`)).status).toBe(200)
    const map = await minted({ panels: ['map'] })
    const cases: [string, string | undefined, number, string][] = [
      ['/data', undefined, 401, 'unauthorized'],
      ['/data', await mintToken(srv.http, 'public'), 401, 'unauthorized'],
      ['/data', map.token, 403, 'forbidden'],
      [`/data?region=${OTHER_STREET}`, t.token, 403, 'forbidden'],
      ['/data?region=1', t.token, 400, 'invalid_query'],
    ]
    for (const [path, token, status, code] of cases) {
      const r = await call<ErrorBody>(app(), path, token ? { token } : {})
      expect(r.status, path).toBe(status)
      expect(r.body.error.code).toBe(code)
    }
  })
})

describe('npm run embed-token', () => {
  const run = promisify(execFile)
  const cli = (args: string[], env: Record<string, string> = {}) =>
    run('node_modules/.bin/tsx', ['server/tools/embed-token.ts', ...args], {
      env: { ...process.env, ADMIN_TOKEN, PUBLIC_URL: srv.base, ...env },
    }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    )

  it('mints with repeated and comma-listed panels and origins, printing a token and a working URL', async () => {
    const r = await cli([
      '--panel',
      'kpis',
      '--panel',
      'map,trend',
      '--region',
      STREET,
      '--origin',
      PORTAL,
      '--origin',
      `${OTHER_PORTAL},http://localhost:5173`,
      '--ttl',
      '30d',
    ])
    expect(r.code, r.stderr).toBe(0)
    const token = /token:\s+(\S+)/.exec(r.stdout)![1]!
    const url = /url:\s+(\S+)/.exec(r.stdout)![1]!
    expect(url).toBe(`${srv.base}/embed/kpis?token=${token}`)
    expect(r.stdout).toContain('<iframe')
    expect(decodeJwt(token)).toMatchObject({
      aud: 'embed',
      panels: ['kpis', 'map', 'trend'],
      origins: [PORTAL, OTHER_PORTAL, 'http://localhost:5173'],
      embedKind: 'key',
    })
    const res = await fetch(url)
    expect(frameAncestors(res)).toBe(`${PORTAL} ${OTHER_PORTAL} http://localhost:5173`)

    const signed = await cli([
      '--panel',
      'kpis',
      '--region',
      STREET,
      '--origin',
      PORTAL,
      '--ttl',
      '1h',
      '--kind',
      'signed',
    ])
    expect(signed.code, signed.stderr).toBe(0)
    const id = /id:\s+(\S+)/.exec(signed.stdout)![1]!
    const listed = await cli(['list'])
    expect(listed.code).toBe(0)
    expect(listed.stdout).toContain(id)
    expect(listed.stdout).not.toContain(token)
    const revoked = await cli(['revoke', id])
    expect(revoked.code, revoked.stderr).toBe(0)
    expect((await list()).body.tokens.find((t) => t.id === id)!.revoked).toBe(true)
  })

  it('fails clearly with a non-zero exit: bad flags before asking, the server’s refusals after', async () => {
    const base = ['--region', STREET, '--ttl', '1h']
    for (const [args, pattern] of [
      [['--origin', PORTAL, ...base], /--panel/],
      [['--panel', 'wall', '--origin', PORTAL, ...base], /wall/],
      [['--panel', 'kpis', ...base], /--origin/],
      [['--panel', 'kpis', '--origin', `${PORTAL}/news`, ...base], /path/],
      [['--panel', 'kpis', '--origin', 'https://*.gov.cn', ...base], /wildcard/],
      [['--panel', 'kpis', '--origin', PORTAL, '--region', STREET], /--ttl/],
      [
        ['--panel', 'kpis', '--origin', PORTAL, '--region', STREET, '--ttl', '2d', '--kind', 'signed'],
        /86400/,
      ],
      [['--panel', 'kpis', '--origin', PORTAL, ...base, '--kind', 'forever'], /key, signed/],
      [['--bogus'], /bogus/],
    ] as const) {
      const r = await cli([...args])
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stderr).toMatch(pattern)
    }
    const ok = ['--panel', 'kpis', '--origin', PORTAL, ...base]
    const unknownRegion = await cli([
      '--panel',
      'kpis',
      '--origin',
      PORTAL,
      '--region',
      '430602999',
      '--ttl',
      '1h',
    ])
    expect(unknownRegion.code).toBe(1)
    expect(unknownRegion.stderr).toMatch(/404/)
    const wrong = await cli(ok, { ADMIN_TOKEN: 'wrong-admin-token-000000000' })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toMatch(/401/)
    const none = await cli(ok, { ADMIN_TOKEN: '' })
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(/ADMIN_TOKEN/)
    const down = await cli(ok, { PUBLIC_URL: 'http://127.0.0.1:1' })
    expect(down.code).toBe(1)
    expect(down.stderr).toMatch(/无法连接/)
    const unknownId = await cli(['revoke', 'no-such-id'])
    expect(unknownId.code).toBe(1)
    expect(unknownId.stderr).toMatch(/404/)
  })
})
