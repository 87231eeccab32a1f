/**
 * HTTP hardening, as middleware factories mounted by `app.ts`: security headers (CSP, framing,
 * nosniff, referrer), a request body limit, rate limits per client IP and per token, and private
 * caching of every answer to a request that carried a token.
 */
import { createHash } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Context, MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { secureHeaders } from 'hono/secure-headers'
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible'
import { isPublicRole } from '../../shared/privacy.ts'
import type { TokenService } from '../auth/tokens.ts'
import { AppError } from '../errors.ts'
import type { AppEnv } from './context.ts'
import { tokenOf } from './middleware.ts'

/**
 * What the built client needs: its own scripts, styles and API; inline styles (the pages' <style>,
 * Vue `style` bindings, ECharts' tooltips); data: images (the favicon); the live stream over
 * same-origin WebSocket (`'self'` covers ws: and wss: of the same host in CSP Level 3 browsers).
 */
const CSP = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'self'"],
  formAction: ["'self'"],
}

/** The CSP header's value with `frame-ancestors` (each a source expression, e.g. an exact origin). */
const cspWith = (frameAncestors: readonly string[]): string =>
  [...Object.entries(CSP), ['frameAncestors', frameAncestors] as const]
    .map(([k, v]) => `${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} ${v.join(' ')}`)
    .join('; ')

export interface SecurityHeaderOptions {
  /**
   * Path prefix of the pages other sites may frame (portal embeds): `<prefix>/<panel>` may be framed
   * by exactly the origins the embed page gate names (`allowFraming`), and by nobody when it names
   * none; `<prefix>` itself, the demo page, by this server's own pages only.
   */
  embedPrefix?: string
}

/**
 * Let the page being answered be framed by `origins` (an embed page, once its token is read):
 * `securityHeaders` puts them in its CSP `frame-ancestors`, and sends no X-Frame-Options.
 */
export function allowFraming(c: Context<AppEnv>, origins: readonly string[]): void {
  c.set('frameAncestors', origins)
}

/**
 * Security headers on every response. Pages may not be framed, except the embeds, each by the
 * portals its token names. No referrer ever leaves: page URLs carry `?token=`.
 */
export function securityHeaders(opts: SecurityHeaderOptions = {}): MiddlewareHandler<AppEnv> {
  const embedPrefix = opts.embedPrefix ?? '/embed'
  const common = {
    referrerPolicy: 'no-referrer',
    xContentTypeOptions: true,
    // Sent over HTTPS behind a proxy; browsers ignore it on plain HTTP. No includeSubDomains: the
    // server does not know what else runs under its parent domain.
    strictTransportSecurity: 'max-age=15552000',
  } as const
  const framed = secureHeaders({
    ...common,
    contentSecurityPolicy: CSP,
    xFrameOptions: false,
    crossOriginResourcePolicy: false,
  })
  const unframed = secureHeaders({
    ...common,
    contentSecurityPolicy: { ...CSP, frameAncestors: ["'none'"] },
    xFrameOptions: 'DENY',
  })
  const demo = secureHeaders({
    ...common,
    contentSecurityPolicy: { ...CSP, frameAncestors: ["'self'"] },
    xFrameOptions: 'SAMEORIGIN',
  })
  return async function securityHeaders(c, next) {
    const path = c.req.path
    if (path === embedPrefix) return demo(c, next)
    if (!path.startsWith(embedPrefix + '/')) return unframed(c, next)
    await framed(c, next)
    // Framed only by whom the page's own token names: nobody, unless the gate said otherwise.
    const ancestors = c.get('frameAncestors')
    c.res.headers.set('content-security-policy', cspWith(ancestors?.length ? ancestors : ["'none'"]))
    if (!ancestors?.length) c.res.headers.set('x-frame-options', 'DENY')
  }
}

/** The largest request body accepted by default: a positions batch of 5,000 pings is about 0.6 MB. */
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024

/** Refuse a body over `maxBytes` with 413 payload_too_large, before it is read. */
export function requestBodyLimit(maxBytes = DEFAULT_BODY_LIMIT_BYTES): MiddlewareHandler<AppEnv> {
  const mb = (maxBytes / 1024 / 1024).toFixed(maxBytes % (1024 * 1024) === 0 ? 0 : 1)
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new AppError(413, 'payload_too_large', {
        zh: `请求体过大：最多 ${mb} MB`,
        en: `the request body is too large: at most ${mb} MB`,
      })
    },
  })
}

export interface RateLimitOptions {
  /** Requests per window from one client IP. */
  perIp: number
  /** Requests per window with one token (a public token: per token and IP, it is shared by every viewer). */
  perToken: number
  windowSeconds: number
  /** How many reverse proxies in front append to X-Forwarded-For (0: the socket's peer is the client). */
  trustProxy: number
}

/** Enough for a wall (a dozen calls at load, a few a minute), a dozen walls behind one NAT and the tests. */
export const DEFAULT_RATE_LIMITS: RateLimitOptions = {
  perIp: 1200,
  perToken: 600,
  windowSeconds: 60,
  trustProxy: 0,
}

/**
 * The client's IP: the socket's peer, or with `trustProxy` n > 0 the n-th X-Forwarded-For entry from
 * the right (the one the outermost trusted proxy saw). Undefined in-process (`app.request()`).
 */
export function clientIp(c: Context, trustProxy: number): string | undefined {
  const peer = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket?.remoteAddress
  return forwardedClient(peer, c.req.header('x-forwarded-for'), trustProxy)
}

/** `clientIp` from a peer address and an X-Forwarded-For header (the live stream's handshake uses it too). */
export function forwardedClient<P extends string | undefined>(
  peer: P,
  forwardedFor: string | string[] | undefined,
  trustProxy: number,
): P | string {
  if (trustProxy <= 0 || peer === undefined) return peer
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? ''))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  return hops[hops.length - trustProxy] ?? hops[0] ?? peer
}

/** Rate limits per client IP and per token; over either, 429 rate_limited with Retry-After. */
export function rateLimits(tokens: TokenService, opts: RateLimitOptions): MiddlewareHandler<AppEnv> {
  const perIp = new RateLimiterMemory({ points: opts.perIp, duration: opts.windowSeconds })
  const perToken = new RateLimiterMemory({ points: opts.perToken, duration: opts.windowSeconds })
  const consume = async (limiter: RateLimiterMemory, key: string): Promise<void> => {
    try {
      await limiter.consume(key)
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err
      const seconds = Math.max(1, Math.ceil(err.msBeforeNext / 1000))
      throw new AppError(
        429,
        'rate_limited',
        { zh: `请求过于频繁，请 ${seconds} 秒后重试`, en: `too many requests: retry in ${seconds} s` },
        { retryAfterSeconds: seconds },
      )
    }
  }
  return async function rateLimits(c, next) {
    const ip = clientIp(c, opts.trustProxy)
    try {
      if (ip !== undefined) await consume(perIp, ip)
      const token = tokenOf(c)
      if (token !== undefined) {
        // Keyed by a digest: the limiter holds no usable token.
        let key = createHash('sha256').update(token).digest('base64url')
        const v = await tokens.verify(token)
        // A public token, or an embed token (public by its kind), is shared by every viewer.
        const shared = v.ok ? isPublicRole(v.principal.role) : (await tokens.verifyEmbed(token)).ok
        if (shared) key += `|${ip ?? ''}`
        await consume(perToken, key)
      }
    } catch (err) {
      if (err instanceof AppError && err.code === 'rate_limited')
        c.header('retry-after', String((err.details as { retryAfterSeconds: number }).retryAfterSeconds))
      throw err
    }
    await next()
  }
}

/**
 * An answer to a request that carried a token is for that token alone: `private` always, and
 * `no-store` unless the route chose a private lifetime or a revalidation rule itself.
 */
export function privateCaching(): MiddlewareHandler<AppEnv> {
  return async function privateCaching(c, next) {
    await next()
    if (tokenOf(c) === undefined && c.req.query('token') === undefined) return
    const set = c.res.headers.get('cache-control') ?? ''
    if (/\bprivate\b/.test(set)) return
    // A route's own revalidation rule (the page shell's no-cache) is kept, made private; anything
    // else (no rule, or public) is not stored at all.
    c.res.headers.set(
      'cache-control',
      set && !/\bpublic\b/.test(set) ? `private, ${set}` : 'private, no-store',
    )
  }
}
