/**
 * Tokens: HS256 JWTs (jose) carrying a role, an optional region scope, the lifecycle actions an
 * ingest source may take, an expiry and their kind in `aud`. The signing secret lives in the store,
 * so tokens survive restarts and, with a shared store, work on every process. A fixed ADMIN_TOKEN
 * may also be configured.
 */
import { SignJWT, jwtVerify, errors, type JWTPayload } from 'jose'
import { timingSafeEqual, randomUUID } from 'node:crypto'
import { BEARER_TTL_MAX_SECONDS } from '../../shared/schemas.ts'
import type { EventAction, Role } from '../../shared/types.ts'
import { EVENT_ACTIONS, ROLES } from '../../shared/types.ts'
import type { IssuedToken } from '../store/store.ts'

/**
 * What a token is for, carried as its `aud`: a token of one kind never verifies as another.
 * `bearer` is the API's Authorization / `?token=` / handshake token; the embeds issue adds `embed`.
 */
export const TOKEN_KINDS = ['bearer'] as const
export type TokenKind = (typeof TOKEN_KINDS)[number]

/** The longest lifetime of each kind, in seconds. */
export const TTL_CAP_SECONDS: Readonly<Record<TokenKind, number>> = { bearer: BEARER_TTL_MAX_SECONDS }

export interface Principal {
  role: Role
  /** Region code the token is limited to (the whole city when absent). */
  region?: string
  /** Epoch ms; undefined for the fixed admin token. */
  expiresAt?: number
  jti?: string
  /** Lifecycle actions an `ingest` token may take (none when absent). */
  actions?: EventAction[]
}

export type VerifyResult =
  { ok: true; principal: Principal } | { ok: false; reason: 'expired' | 'invalid' | 'revoked' }

export interface MintRequest {
  role: Role
  ttlSeconds: number
  region?: string
  actions?: readonly EventAction[]
  /** Default `bearer`. */
  kind?: TokenKind
}

export interface MintedToken {
  token: string
  jti: string
  /** Epoch ms. */
  issuedAt: number
  expiresAt: number
}

export interface TokenService {
  /** Sign a token and record it in the registry; throws for a ttl beyond its kind's cap. */
  mint(p: MintRequest): Promise<MintedToken>
  /** Check a token of `kind` (default `bearer`): signature, issuer, kind, expiry, revocation. */
  verify(token: string, kind?: TokenKind): Promise<VerifyResult>
  /** Revoke a token by its id; open live sockets holding it are dropped by the listeners. */
  revoke(jti: string, expiresAt: number): Promise<void>
  onRevoke(listener: (jti: string) => void): () => void
  /**
   * Learn revocations made elsewhere (another process on the same store): each jti not yet known
   * is refused from now on and its listeners hear it, as if revoked here.
   */
  learnRevoked(jtis: Iterable<string>): void
  /** The clock tokens run on: real time, never the simulated clock. */
  now(): number
}

const ISSUER = 'city-brain'

/** The claims of a verified payload as a principal, or null when a claim is malformed. */
function principalOf(payload: JWTPayload): Principal | null {
  const role = payload.role as Role
  if (!ROLES.includes(role)) return null
  const actions = payload.actions
  if (
    actions !== undefined &&
    !(Array.isArray(actions) && actions.every((a) => (EVENT_ACTIONS as readonly unknown[]).includes(a)))
  )
    return null
  return {
    role,
    ...(typeof payload.region === 'string' ? { region: payload.region } : {}),
    ...(payload.exp ? { expiresAt: payload.exp * 1000 } : {}),
    ...(payload.jti ? { jti: payload.jti } : {}),
    ...(actions ? { actions: actions as EventAction[] } : {}),
  }
}

export function createTokenService(opts: {
  secret: Uint8Array
  adminToken?: string
  now?: () => number
  /** jti already revoked (loaded from the store). */
  revoked?: Iterable<string>
  /** Persist a revocation. */
  persistRevocation?: (jti: string, expiresAt: number) => Promise<void>
  /** Record an issued token in the registry (never the token itself). */
  record?: (t: IssuedToken) => Promise<void>
}): TokenService {
  const now = opts.now ?? (() => Date.now())
  const admin = opts.adminToken ? Buffer.from(opts.adminToken) : null
  const revoked = new Set(opts.revoked ?? [])
  const listeners = new Set<(jti: string) => void>()
  return {
    now,
    async revoke(jti, expiresAt) {
      await opts.persistRevocation?.(jti, expiresAt)
      revoked.add(jti)
      for (const l of listeners) l(jti)
    },
    learnRevoked(jtis) {
      for (const jti of jtis) {
        if (revoked.has(jti)) continue
        revoked.add(jti)
        for (const l of listeners) l(jti)
      }
    },
    onRevoke(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    async mint({ role, ttlSeconds, region, actions, kind = 'bearer' }) {
      if (ttlSeconds > TTL_CAP_SECONDS[kind])
        throw new RangeError(`a ${kind} token may live at most ${TTL_CAP_SECONDS[kind] / 86_400} days`)
      const iat = Math.floor(now() / 1000)
      const exp = iat + ttlSeconds
      const jti = randomUUID()
      const token = await new SignJWT({
        role,
        ...(region ? { region } : {}),
        ...(actions?.length ? { actions: [...actions] } : {}),
      })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(ISSUER)
        .setAudience(kind)
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .setJti(jti)
        .sign(opts.secret)
      const issued = { issuedAt: iat * 1000, expiresAt: exp * 1000 }
      await opts.record?.({
        jti,
        role,
        region: region ?? null,
        aud: kind,
        actions: actions?.length ? [...actions] : null,
        ...issued,
      })
      return { token, jti, ...issued }
    },
    async verify(token, kind = 'bearer') {
      if (admin && kind === 'bearer') {
        const b = Buffer.from(token)
        if (b.length === admin.length && timingSafeEqual(b, admin))
          return { ok: true, principal: { role: 'admin' } }
      }
      try {
        const { payload } = await jwtVerify(token, opts.secret, {
          issuer: ISSUER,
          audience: kind,
          algorithms: ['HS256'],
          currentDate: new Date(now()),
        })
        // jose accepts a list of audiences naming this kind among others: a token has one kind.
        if (payload.aud !== kind) return { ok: false, reason: 'invalid' }
        const principal = principalOf(payload)
        if (!principal) return { ok: false, reason: 'invalid' }
        if (principal.jti && revoked.has(principal.jti)) return { ok: false, reason: 'revoked' }
        return { ok: true, principal }
      } catch (err) {
        return { ok: false, reason: err instanceof errors.JWTExpired ? 'expired' : 'invalid' }
      }
    },
  }
}
