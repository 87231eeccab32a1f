/**
 * Tokens: HS256 JWTs (jose) carrying a role, an optional region scope, the lifecycle actions an
 * ingest source may take, an expiry and their kind in `aud`. An embed token (a portal's iframe) is
 * always `public`, of one region, and names its panels, the origins that may frame it and whether it
 * is a long-lived key or a short-lived signed URL. The signing secret lives in the store,
 * so tokens survive restarts and, with a shared store, work on every process. A fixed ADMIN_TOKEN
 * may also be configured.
 */
import { SignJWT, jwtVerify, errors, type JWTPayload } from 'jose'
import { timingSafeEqual, randomUUID } from 'node:crypto'
import {
  EMBED_TTL_CAP_SECONDS,
  isEmbedKind,
  isEmbedPanel,
  parseOrigin,
  type EmbedClaims,
} from '../../shared/embed.ts'
import { BEARER_TTL_MAX_SECONDS } from '../../shared/schemas.ts'
import type { EventAction, Role } from '../../shared/types.ts'
import { EVENT_ACTIONS, ROLES } from '../../shared/types.ts'
import type { IssuedToken } from '../store/store.ts'

/**
 * What a token is for, carried as its `aud`: a token of one kind never verifies as another.
 * `bearer` is the API's Authorization / `?token=` / handshake token; `embed` a portal page's
 * `?token=` and its live handshake, never an API bearer token.
 */
export const TOKEN_KINDS = ['bearer', 'embed'] as const
export type TokenKind = (typeof TOKEN_KINDS)[number]

/**
 * The longest lifetime of each kind, in seconds. An embed token's own kind caps it further
 * (EMBED_TTL_CAP_SECONDS: a key a year, a signed URL a day).
 */
export const TTL_CAP_SECONDS: Readonly<Record<TokenKind, number>> = {
  bearer: BEARER_TTL_MAX_SECONDS,
  embed: Math.max(...Object.values(EMBED_TTL_CAP_SECONDS)),
}

export interface Principal {
  role: Role
  /** Region code the token is limited to (the whole city when absent). */
  region?: string
  /** Epoch ms; undefined for the fixed admin token. */
  expiresAt?: number
  jti?: string
  /** Lifecycle actions an `ingest` token may take (none when absent). */
  actions?: EventAction[]
  /** An embed token's panels, origins and kind (its role is `public`, its region set). */
  embed?: EmbedClaims
}

/** A verified embed token's principal: `public`, one region, its embed claims. */
export type EmbedPrincipal = Principal & { role: 'public'; region: string; embed: EmbedClaims }

export type VerifyResult =
  { ok: true; principal: Principal } | { ok: false; reason: 'expired' | 'invalid' | 'revoked' }

/**
 * `verifyEmbed`: on a refusal for expiry or revocation, the claims of the token too (its signature
 * did verify), so a refusal page can still be framed by the token's own portals.
 */
export type EmbedVerifyResult =
  | { ok: true; principal: EmbedPrincipal }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'expired' | 'revoked'; principal: EmbedPrincipal }

export interface MintRequest {
  role: Role
  ttlSeconds: number
  region?: string
  actions?: readonly EventAction[]
  /** Default `bearer`. */
  kind?: TokenKind
  /** Required for kind `embed` (whose role must be `public` and region set), refused otherwise. */
  embed?: EmbedClaims
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
  /** Check an embed token, as `verify(token, 'embed')`, with the claims of an expired or revoked one. */
  verifyEmbed(token: string): Promise<EmbedVerifyResult>
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

/** An embed token's claims from its payload, or null when one is missing or malformed. */
function embedClaimsOf(payload: JWTPayload): EmbedClaims | null {
  const { panels, origins, embedKind } = payload
  if (!isEmbedKind(embedKind)) return null
  if (!Array.isArray(panels) || panels.length === 0 || !panels.every(isEmbedPanel)) return null
  if (!Array.isArray(origins) || origins.length === 0) return null
  // Exactly as minted (normalised): a claim a browser would never send as its Origin is refused.
  const exact = origins.every((o) => {
    if (typeof o !== 'string') return false
    const p = parseOrigin(o)
    return p.ok && p.origin === o
  })
  if (!exact) return null
  // A signed URL that would outlive its kind's cap was not made here.
  if (!payload.exp || !payload.iat || payload.exp - payload.iat > EMBED_TTL_CAP_SECONDS[embedKind])
    return null
  return { kind: embedKind, panels: [...panels], origins: [...(origins as string[])] }
}

/** The claims of a verified payload of `kind` as a principal, or null when a claim is malformed. */
function principalOf(payload: JWTPayload, kind: TokenKind): Principal | null {
  const role = payload.role as Role
  if (!ROLES.includes(role)) return null
  const actions = payload.actions
  if (
    actions !== undefined &&
    !(Array.isArray(actions) && actions.every((a) => (EVENT_ACTIONS as readonly unknown[]).includes(a)))
  )
    return null
  const principal: Principal = {
    role,
    ...(typeof payload.region === 'string' ? { region: payload.region } : {}),
    ...(payload.exp ? { expiresAt: payload.exp * 1000 } : {}),
    ...(payload.jti ? { jti: payload.jti } : {}),
    ...(actions ? { actions: actions as EventAction[] } : {}),
  }
  if (kind === 'bearer') return principal
  // An embed token is public, of one region, with no actions, and says what it embeds.
  const embed = embedClaimsOf(payload)
  if (!embed || role !== 'public' || !principal.region || actions !== undefined || !principal.jti) return null
  return { ...principal, embed }
}

/** Refuse a mint request the kind does not allow (a programming error: the routes check first). */
function checkMint({ role, ttlSeconds, region, actions, kind = 'bearer', embed }: MintRequest): void {
  if (ttlSeconds > TTL_CAP_SECONDS[kind])
    throw new RangeError(`a ${kind} token may live at most ${TTL_CAP_SECONDS[kind] / 86_400} days`)
  if (kind === 'bearer') {
    if (embed) throw new TypeError('a bearer token carries no embed claims')
    return
  }
  if (!embed || role !== 'public' || !region || actions?.length)
    throw new TypeError('an embed token is public, of one region, with embed claims and no actions')
  if (ttlSeconds > EMBED_TTL_CAP_SECONDS[embed.kind])
    throw new RangeError(
      `an embed ${embed.kind} may live at most ${EMBED_TTL_CAP_SECONDS[embed.kind] / 3_600} hours`,
    )
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

  /** Signature, issuer, kind and claims; then expiry and revocation, with the principal they refuse. */
  async function check(
    token: string,
    kind: TokenKind,
  ): Promise<{ principal: Principal | null; reason: 'expired' | 'invalid' | 'revoked' | null }> {
    try {
      const { payload } = await jwtVerify(token, opts.secret, {
        issuer: ISSUER,
        audience: kind,
        algorithms: ['HS256'],
        currentDate: new Date(now()),
      })
      return judge(payload, kind, null)
    } catch (err) {
      // jose checks the claims only once the signature has verified: an expired token's are ours.
      if (err instanceof errors.JWTExpired) return judge(err.payload, kind, 'expired')
      return { principal: null, reason: 'invalid' }
    }
  }
  function judge(payload: JWTPayload, kind: TokenKind, expired: 'expired' | null) {
    // jose accepts a list of audiences naming this kind among others: a token has one kind.
    if (payload.aud !== kind || payload.iss !== ISSUER) return { principal: null, reason: 'invalid' as const }
    const principal = principalOf(payload, kind)
    if (!principal) return { principal: null, reason: 'invalid' as const }
    if (principal.jti && revoked.has(principal.jti)) return { principal, reason: 'revoked' as const }
    return { principal, reason: expired }
  }

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
    async mint(req) {
      checkMint(req)
      const { role, ttlSeconds, region, actions, kind = 'bearer', embed } = req
      const iat = Math.floor(now() / 1000)
      const exp = iat + ttlSeconds
      const jti = randomUUID()
      const token = await new SignJWT({
        role,
        ...(region ? { region } : {}),
        ...(actions?.length ? { actions: [...actions] } : {}),
        ...(embed ? { embedKind: embed.kind, panels: [...embed.panels], origins: [...embed.origins] } : {}),
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
        ...(embed ? { embed } : {}),
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
      const { principal, reason } = await check(token, kind)
      if (reason) return { ok: false, reason }
      return { ok: true, principal: principal! }
    },
    async verifyEmbed(token) {
      const { principal, reason } = await check(token, 'embed')
      // principalOf made sure of the embed claims, the role and the region.
      const p = principal as EmbedPrincipal | null
      if (!p) return { ok: false, reason: 'invalid' }
      if (reason === 'expired' || reason === 'revoked') return { ok: false, reason, principal: p }
      return { ok: true, principal: p }
    },
  }
}
