/**
 * Token lifetimes, kinds and the registry (issue 9): bearer tokens live at most 30 days, carry their
 * kind in `aud` (a token of another kind, or of none, never passes as a bearer token), are listed
 * without their secret part and can be revoked by id; the printed login is reused across starts;
 * `npm run token` lists and revokes over HTTP.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { SignJWT, decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTokenService } from '../../server/auth/tokens.ts'
import { loginTokens } from '../../server/login.ts'
import { createSystem } from '../../server/system.ts'
import { ADMIN_TOKEN, call, mintToken, tempDir, testConfig, type ErrorBody } from './helpers.ts'
import { startLiveServer, type LiveTestServer } from './live-helpers.ts'
import type { IssuedTokenEntry } from '../../shared/schemas.ts'

const STREET = '430602001'
const OTHER_STREET = '430602002'
const CJK = /[\u4e00-\u9fff]/
const DAY = 86_400

let srv: LiveTestServer
beforeAll(async () => {
  srv = await startLiveServer()
})
afterAll(async () => {
  await srv?.stop()
})

const mint = (body: Record<string, unknown>, token = ADMIN_TOKEN, lang = '') =>
  call<{ token: string; jti: string; expiresAt: string } & ErrorBody>(srv.http, `/api/v1/tokens${lang}`, {
    token,
    body,
  })
const revoke = (body: Record<string, unknown>, token = ADMIN_TOKEN) =>
  call<{ revoked: boolean } & ErrorBody>(srv.http, '/api/v1/tokens/revoke', { token, body })
const list = (token = ADMIN_TOKEN) =>
  call<{ tokens: IssuedTokenEntry[] } & ErrorBody>(srv.http, '/api/v1/tokens', { token })
const status = async (token: string) => (await call(srv.http, '/api/v1/events?limit=1', { token })).status

describe('lifetimes', () => {
  it('accepts a bearer token of 30 days and refuses a longer one with a bilingual 400 invalid_body', async () => {
    expect((await mint({ role: 'officer', ttl: '30d' })).status).toBe(201)
    expect((await mint({ role: 'officer', ttl: 30 * DAY })).status).toBe(201)
    for (const ttl of ['31d', 30 * DAY + 1, '721h']) {
      const zh = await mint({ role: 'officer', ttl })
      expect(zh.status, String(ttl)).toBe(400)
      expect(zh.body.error.code).toBe('invalid_body')
      expect(zh.body.error.message).toMatch(CJK)
      expect(zh.body.error.message).toMatch(/30/)
    }
    const en = await mint({ role: 'admin', ttl: '90d' }, ADMIN_TOKEN, '?lang=en')
    expect(en.body.error.message).not.toMatch(CJK)
    expect(en.body.error.message).toMatch(/30 days/)
  })

  it('refuses to mint a longer bearer token even inside the server', async () => {
    await expect(srv.system.tokens.mint({ role: 'officer', ttlSeconds: 31 * DAY })).rejects.toThrow(/30 days/)
  })
})

describe('kinds', () => {
  it('carries its kind in aud, and its named actions', async () => {
    const r = await mint({ role: 'ingest', ttl: '1h', actions: ['handle'] })
    expect(decodeJwt(r.body.token)).toMatchObject({ aud: 'bearer', role: 'ingest', actions: ['handle'] })
    expect(decodeJwt(r.body.token).jti).toBe(r.body.jti)
  })

  it('never lets a token of another kind, or of none, pass as a bearer token', async () => {
    const secret = Buffer.from((await srv.system.store.getMeta('token.secret'))!, 'base64')
    const signed = (aud?: string | string[]) => {
      const jwt = new SignJWT({ role: 'officer' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer('city-brain')
        .setIssuedAt()
        .setExpirationTime('1h')
        .setJti(`kind-test-${String(aud)}`)
      return (aud === undefined ? jwt : jwt.setAudience(aud)).sign(secret)
    }
    expect(await status(await signed('bearer'))).toBe(200)
    for (const aud of ['embed', undefined, ['embed', 'bearer'], 'Bearer'])
      expect(await status(await signed(aud)), String(aud)).toBe(401)
  })
})

describe('the registry and revocation by id', () => {
  it('lists issued tokens with their id, role, region, kind and times, never the token itself', async () => {
    const a = await mint({ role: 'leader', ttl: '2h', region: STREET })
    const b = await mint({ role: 'ingest', ttl: '1h', actions: ['handle'] })
    const r = await list()
    expect(r.status).toBe(200)
    const text = JSON.stringify(r.body)
    expect(text).not.toContain(a.body.token)
    expect(text).not.toContain(a.body.token.split('.')[2])
    for (const t of r.body.tokens) expect(Object.keys(t)).not.toContain('token')
    const la = r.body.tokens.find((t) => t.jti === a.body.jti)!
    expect(la).toMatchObject({ role: 'leader', region: STREET, aud: 'bearer', revoked: false })
    expect(Date.parse(la.expiresAt) - Date.parse(la.issuedAt)).toBe(2 * 3_600_000)
    expect(la.expiresAt).toBe(a.body.expiresAt)
    expect(r.body.tokens.find((t) => t.jti === b.body.jti)).toMatchObject({ actions: ['handle'] })
    expect((await list(await mintToken(srv.http, 'officer'))).status).toBe(403)
  })

  it('revokes by jti: the token stops working at once and is listed as revoked', async () => {
    const t = await mint({ role: 'officer', ttl: '1h' })
    expect(await status(t.body.token)).toBe(200)
    const r = await revoke({ jti: t.body.jti })
    expect(r.status).toBe(200)
    expect(r.body).toEqual({ revoked: true })
    expect(await status(t.body.token)).toBe(401)
    expect((await list()).body.tokens.find((x) => x.jti === t.body.jti)!.revoked).toBe(true)
    // Again, or by the token: still revoked, still 200.
    expect((await revoke({ jti: t.body.jti })).status).toBe(200)
    expect((await revoke({ token: t.body.token })).status).toBe(200)
  })

  it('answers an unknown jti with 404 and a body with neither jti nor token with 400', async () => {
    const unknown = await revoke({ jti: '00000000-0000-4000-8000-000000000000' })
    expect(unknown.status).toBe(404)
    expect(unknown.body.error.code).toBe('not_found')
    expect((await revoke({})).status).toBe(400)
  })

  it('keeps a region-scoped admin to the tokens of its region', async () => {
    const admin = (await mint({ role: 'admin', ttl: '1h', region: STREET })).body.token
    const mine = (await mint({ role: 'officer', ttl: '1h', region: STREET })).body
    const theirs = (await mint({ role: 'officer', ttl: '1h', region: OTHER_STREET })).body
    const seen = (await list(admin)).body.tokens
    expect(seen.map((t) => t.jti)).toContain(mine.jti)
    expect(seen.map((t) => t.jti)).not.toContain(theirs.jti)
    for (const t of seen) expect(t.region?.startsWith(STREET)).toBe(true)
    expect((await revoke({ jti: theirs.jti }, admin)).status).toBe(403)
    expect(await status(theirs.token)).toBe(200)
    expect((await revoke({ jti: mine.jti }, admin)).status).toBe(200)
    expect(await status(mine.token)).toBe(401)
  })
})

describe('across restarts', () => {
  it('keeps a revocation by jti, and reuses the printed login while it is valid', async () => {
    const dir = tempDir('tokens')
    // No fixed ADMIN_TOKEN: the login prints a minted admin token.
    const { adminToken: _fixed, ...config } = testConfig(dir.path, { SIMULATE: '0' })
    try {
      const first = await createSystem(config)
      await first.start()
      const login1 = await loginTokens(first)
      const extra = await first.tokens.mint({ role: 'officer', ttlSeconds: 3600 })
      await first.tokens.revoke(extra.jti, extra.expiresAt)
      await first.stop()

      const second = await createSystem(config)
      await second.start()
      const login2 = await loginTokens(second)
      expect(login2).toEqual(login1)
      expect(await second.tokens.verify(extra.token)).toEqual({ ok: false, reason: 'revoked' })
      const v = await second.tokens.verify(login2.admin)
      expect(v).toMatchObject({ ok: true, principal: { role: 'admin' } })

      // A revoked login token is replaced; the others are kept.
      const leader = await second.tokens.verify(login2.leader)
      if (!leader.ok) throw new Error('the reused leader login does not verify')
      await second.tokens.revoke(leader.principal.jti!, leader.principal.expiresAt!)
      const login3 = await loginTokens(second)
      expect(login3.leader).not.toBe(login2.leader)
      expect(login3.officer).toBe(login2.officer)
      expect(login3.admin).toBe(login2.admin)

      // A login with a day or less left is replaced too.
      const secret = Buffer.from((await second.store.getMeta('token.secret'))!, 'base64')
      const old = createTokenService({ secret, now: () => Date.now() - 29.5 * DAY * 1000 })
      const stale = (await old.mint({ role: 'officer', ttlSeconds: 30 * DAY })).token
      await second.store.setMeta('login.tokens', JSON.stringify({ ...login3, officer: stale }))
      const login4 = await loginTokens(second)
      expect(login4.officer).not.toBe(stale)
      expect(login4.leader).toBe(login3.leader)
      await second.stop()
    } finally {
      dir.remove()
    }
  })

  it('uses a fixed ADMIN_TOKEN as the admin login and does not store it', async () => {
    const login = await loginTokens(srv.system, { adminToken: ADMIN_TOKEN })
    expect(login.admin).toBe(ADMIN_TOKEN)
    expect(await srv.system.store.getMeta('login.tokens')).not.toContain(ADMIN_TOKEN)
  })
})

describe('npm run token', () => {
  const run = promisify(execFile)
  const cli = (args: string[], env: Record<string, string>) =>
    run('node_modules/.bin/tsx', ['server/tools/token.ts', ...args], {
      env: { ...process.env, ADMIN_TOKEN: '', PUBLIC_URL: '', ...env },
    }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    )

  it('lists tokens as a table and revokes one by jti over HTTP', async () => {
    const t = (await mint({ role: 'leader', ttl: '1h', region: STREET })).body
    const listed = await cli(['list'], { PUBLIC_URL: srv.base, ADMIN_TOKEN })
    expect(listed.code, listed.stderr).toBe(0)
    const [header, ...rows] = listed.stdout.trim().split('\n')
    expect(header).toMatch(/jti/)
    expect(header).toMatch(CJK)
    const row = rows.find((l) => l.includes(t.jti))!
    expect(row).toMatch(/leader/)
    expect(row).toContain(STREET)
    expect(listed.stdout).not.toContain(t.token)

    const revoked = await cli(['revoke', t.jti, '--admin', ADMIN_TOKEN], { PUBLIC_URL: srv.base })
    expect(revoked.code, revoked.stderr).toBe(0)
    expect(revoked.stdout).toContain(t.jti)
    expect(await status(t.token)).toBe(401)
  })

  it('fails clearly when the server is unreachable, the admin token is missing or wrong', async () => {
    const down = await cli(['list'], { PUBLIC_URL: 'http://127.0.0.1:1', ADMIN_TOKEN })
    expect(down.code).not.toBe(0)
    expect(down.stderr).toMatch(/无法连接/)
    expect(down.stderr).toContain('http://127.0.0.1:1')
    const none = await cli(['list'], { PUBLIC_URL: srv.base })
    expect(none.code).not.toBe(0)
    expect(none.stderr).toMatch(/ADMIN_TOKEN/)
    const wrong = await cli(['list'], { PUBLIC_URL: srv.base, ADMIN_TOKEN: 'wrong-admin-token-000000000' })
    expect(wrong.code).not.toBe(0)
    expect(wrong.stderr).toMatch(/401/)
    const unknown = await cli(['revoke', 'no-such-jti'], { PUBLIC_URL: srv.base, ADMIN_TOKEN })
    expect(unknown.code).not.toBe(0)
    expect(unknown.stderr).toMatch(/404/)
  })
})
