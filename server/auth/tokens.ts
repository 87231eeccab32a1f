/**
 * Bearer tokens: HS256 JWTs (jose) carrying a role, an optional region scope and an expiry.
 * The signing secret lives in the store, so tokens survive restarts and, with a shared store,
 * work on every process. A fixed ADMIN_TOKEN may also be configured.
 */
import { SignJWT, jwtVerify, errors } from 'jose'
import { timingSafeEqual, randomUUID } from 'node:crypto'
import type { Role } from '../../shared/types.ts'
import { ROLES } from '../../shared/types.ts'

export interface Principal {
  role: Role
  /** Region code the token is limited to (the whole city when absent). */
  region?: string
  /** Epoch ms; undefined for the fixed admin token. */
  expiresAt?: number
  jti?: string
}

export type VerifyResult =
  { ok: true; principal: Principal } | { ok: false; reason: 'expired' | 'invalid' | 'revoked' }

export interface TokenService {
  mint(p: { role: Role; ttlSeconds: number; region?: string }): Promise<{ token: string; expiresAt: number }>
  verify(token: string): Promise<VerifyResult>
  /** Revoke a token by its id; open live sockets holding it are dropped by the listeners. */
  revoke(jti: string, expiresAt: number): Promise<void>
  onRevoke(listener: (jti: string) => void): () => void
}

const ISSUER = 'city-brain'

export function createTokenService(opts: {
  secret: Uint8Array
  adminToken?: string
  now?: () => number
  /** jti already revoked (loaded from the store). */
  revoked?: Iterable<string>
  /** Persist a revocation. */
  persistRevocation?: (jti: string, expiresAt: number) => Promise<void>
}): TokenService {
  const now = opts.now ?? (() => Date.now())
  const admin = opts.adminToken ? Buffer.from(opts.adminToken) : null
  const revoked = new Set(opts.revoked ?? [])
  const listeners = new Set<(jti: string) => void>()
  return {
    async revoke(jti, expiresAt) {
      await opts.persistRevocation?.(jti, expiresAt)
      revoked.add(jti)
      for (const l of listeners) l(jti)
    },
    onRevoke(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    async mint({ role, ttlSeconds, region }) {
      const iat = Math.floor(now() / 1000)
      const exp = iat + ttlSeconds
      const token = await new SignJWT({ role, ...(region ? { region } : {}) })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(ISSUER)
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .setJti(randomUUID())
        .sign(opts.secret)
      return { token, expiresAt: exp * 1000 }
    },
    async verify(token) {
      if (admin) {
        const b = Buffer.from(token)
        if (b.length === admin.length && timingSafeEqual(b, admin))
          return { ok: true, principal: { role: 'admin' } }
      }
      try {
        const { payload } = await jwtVerify(token, opts.secret, {
          issuer: ISSUER,
          algorithms: ['HS256'],
          currentDate: new Date(now()),
        })
        const role = payload.role as Role
        if (!ROLES.includes(role)) return { ok: false, reason: 'invalid' }
        if (payload.jti && revoked.has(payload.jti)) return { ok: false, reason: 'revoked' }
        return {
          ok: true,
          principal: {
            role,
            ...(typeof payload.region === 'string' ? { region: payload.region } : {}),
            ...(payload.exp ? { expiresAt: payload.exp * 1000 } : {}),
            ...(payload.jti ? { jti: payload.jti } : {}),
          },
        }
      } catch (err) {
        return { ok: false, reason: err instanceof errors.JWTExpired ? 'expired' : 'invalid' }
      }
    },
  }
}
