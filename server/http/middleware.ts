/** Middleware factories: language, authentication and role checks, error rendering, input parsing. */
import type { Context, ErrorHandler, MiddlewareHandler } from 'hono'
import type { z } from 'zod'
import { MAX_PERIOD_DAYS, MAX_PERIOD_MS } from '../../shared/schemas.ts'
import type { Role } from '../../shared/types.ts'
import { isWithin, parseRegionCode } from '../../shared/regions.ts'
import type { CityIndex, RegionNode } from '../city/city-index.ts'
import type { TokenService } from '../auth/tokens.ts'
import { AppError, notFound, storeUnavailable } from '../errors.ts'
import { StoreUnavailable } from '../store/store.ts'
import type { AppEnv, Lang } from './context.ts'

/** `?lang=en` or an English Accept-Language selects English; Chinese is the default. */
export function detectLang(): MiddlewareHandler<AppEnv> {
  return async function detectLang(c, next) {
    const q = c.req.query('lang')
    const lang: Lang =
      q === 'en' || (!q && /^en\b/i.test(c.req.header('accept-language') ?? '')) ? 'en' : 'zh'
    c.set('lang', lang)
    await next()
  }
}

/** Methods that read only: the only ones that may carry the token in the URL. */
const isRead = (method: string): boolean => method === 'GET' || method === 'HEAD'

/**
 * The bearer token of a request: the Authorization header; on a read (GET, HEAD) also `?token=`
 * (page URLs) or Open311's `api_key`. A write never takes it from the URL, which ends up in logs.
 */
export function tokenOf(c: Context): string | undefined {
  const h = c.req.header('authorization')
  if (h?.startsWith('Bearer ')) return h.slice(7).trim()
  if (!isRead(c.req.method)) return undefined
  return c.req.query('token') ?? c.req.query('api_key') ?? undefined
}

/** Refuse, with a clear 401, a write that carries its token in the URL (`?token=`, `?api_key=`). */
export function headerTokenOnly(): MiddlewareHandler<AppEnv> {
  return async function headerTokenOnly(c, next) {
    if (!isRead(c.req.method) && (c.req.query('token') !== undefined || c.req.query('api_key') !== undefined))
      throw new AppError(401, 'unauthorized', {
        zh: '写操作的令牌只能放在 Authorization 请求头中（Bearer …），不接受地址中的 ?token=',
        en: 'a write takes its token only in the Authorization header (Bearer …), never as ?token= in the URL',
      })
    await next()
  }
}

/** Every role: for aggregate, non-personal data. */
export const ANY_ROLE = ['admin', 'officer', 'leader', 'ingest', 'public'] as const

/** A known region from a raw code, or 400 (invalid code) / 404 (unknown region). */
export function lookupRegion(city: CityIndex, raw: string): RegionNode {
  const p = parseRegionCode(raw)
  if (!p.ok)
    throw new AppError(400, 'invalid_query', {
      zh: `区域编码无效：${p.reason}`,
      en: `invalid region code: ${p.reason}`,
    })
  const node = city.region(p.code)
  if (!node) throw notFound({ zh: `区域 ${p.code}`, en: `region ${p.code}` })
  return node
}

/** Require a valid token whose role is one of `roles`. */
export function requireRole(tokens: TokenService, roles: readonly Role[]): MiddlewareHandler<AppEnv> {
  return async function requireRole(c, next) {
    const token = tokenOf(c)
    if (!token)
      throw new AppError(401, 'unauthorized', { zh: '缺少访问令牌', en: 'a bearer token is required' })
    const v = await tokens.verify(token)
    if (!v.ok) {
      throw new AppError(
        401,
        'unauthorized',
        v.reason === 'expired'
          ? { zh: '访问令牌已过期', en: 'the token has expired' }
          : v.reason === 'revoked'
            ? { zh: '访问令牌已被吊销', en: 'the token has been revoked' }
            : { zh: '访问令牌无效', en: 'the token is invalid' },
      )
    }
    if (!roles.includes(v.principal.role)) {
      throw new AppError(403, 'forbidden', {
        zh: `角色 ${v.principal.role} 无权访问此接口`,
        en: `role ${v.principal.role} may not use this endpoint`,
      })
    }
    c.set('principal', v.principal)
    await next()
  }
}

/** A 400 invalid_query naming `field`. */
const queryError = (field: string, zh: string, en: string): AppError =>
  new AppError(400, 'invalid_query', { zh, en }, [{ path: field, message: en }])

/**
 * Refuse a period (after its defaults are filled in) longer than MAX_PERIOD_DAYS, and an `at`
 * in the future or further back than MAX_PERIOD_DAYS before `now`: the work of a read stays bounded.
 */
export function assertBoundedPeriod(
  p: { from: number; to: number; at?: number | undefined },
  now: number,
): void {
  if (p.to - p.from > MAX_PERIOD_MS)
    throw queryError(
      'from',
      `查询时段最长 ${MAX_PERIOD_DAYS} 天`,
      `the period from–to may span at most ${MAX_PERIOD_DAYS} days`,
    )
  if (p.at === undefined) return
  if (p.at > now) throw queryError('at', 'at 不能晚于当前时间', 'at must not be in the future')
  if (p.at < now - MAX_PERIOD_MS)
    throw queryError(
      'at',
      `at 不能早于 ${MAX_PERIOD_DAYS} 天前（保留的历史）`,
      `at must lie within the kept history: at most ${MAX_PERIOD_DAYS} days ago`,
    )
}

/** Refuse a region outside the token's scope. */
export function assertRegionAllowed(c: Context<AppEnv>, region: string): void {
  const scope = c.get('principal').region
  if (scope && !isWithin(region, scope)) {
    throw new AppError(403, 'forbidden', {
      zh: `令牌仅限区域 ${scope}`,
      en: `the token is limited to region ${scope}`,
    })
  }
}

/** Parse `input` with `schema` or throw a 400 listing the issues. */
export function parse<S extends z.ZodType>(
  schema: S,
  input: unknown,
  code: 'invalid_query' | 'invalid_body',
): z.output<S> {
  const r = schema.safeParse(input)
  if (r.success) return r.data
  throw new AppError(
    400,
    code,
    code === 'invalid_query'
      ? { zh: '查询参数无效', en: 'invalid query parameters' }
      : { zh: '请求体无效', en: 'invalid request body' },
    r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
  )
}

/** Read a JSON body or throw 400 invalid_body. */
export async function jsonBody(c: Context): Promise<unknown> {
  try {
    return await c.req.json()
  } catch {
    throw new AppError(400, 'invalid_body', { zh: '请求体不是有效的 JSON', en: 'the body is not valid JSON' })
  }
}

/** Render every error as `{"error":{"code","message","details"?}}`. */
export function errorHandler(log: (err: unknown) => void): ErrorHandler<AppEnv> {
  return function errorHandler(thrown, c) {
    const lang = c.get('lang') ?? 'zh'
    // The store reported it already; the client retries after Retry-After with the same key.
    if (thrown instanceof StoreUnavailable) c.header('Retry-After', String(thrown.retryAfterSeconds))
    const err = thrown instanceof StoreUnavailable ? storeUnavailable(thrown) : thrown
    if (err instanceof AppError) {
      return c.json(
        {
          error: {
            code: err.code,
            message: err.messages[lang],
            ...(err.details ? { details: err.details } : {}),
          },
        },
        err.status,
      )
    }
    log(err)
    return c.json(
      { error: { code: 'internal', message: lang === 'en' ? 'internal error' : '服务器内部错误' } },
      500,
    )
  }
}
