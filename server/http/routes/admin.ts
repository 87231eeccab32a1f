/**
 * Admin: mint, list and revoke tokens, each within the admin's own region. Ingest: positions, of
 * the workers within the token's region.
 */
import { Hono, type Context } from 'hono'
import { z } from 'zod'
import { isWithin } from '../../../shared/regions.ts'
import { positionsSchema, tokenRequestSchema, type IssuedTokenEntry } from '../../../shared/schemas.ts'
import type { Position } from '../../../shared/types.ts'
import { formatIsoWithOffset } from '../../../shared/working-time.ts'
import { TTL_CAP_SECONDS } from '../../auth/tokens.ts'
import { AppError, notFound } from '../../errors.ts'
import type { IssuedTokenState } from '../../store/store.ts'
import type { AppDeps, AppEnv } from '../context.ts'
import { jsonBody, parse, requireRole } from '../middleware.ts'

const revokeSchema = z.union([
  z.object({ jti: z.string().min(1).max(200) }),
  z.object({ token: z.string().min(10).max(4096) }),
])

/** Whether a token of `region` (null: the whole city) lies within an admin's `scope`. */
export const withinScope = (scope: string | undefined, region: string | null | undefined): boolean =>
  !scope || (!!region && isWithin(region, scope))

/** 403: an admin limited to `scope` may not manage a token beyond it. */
export const outsideScope = (scope: string) =>
  new AppError(403, 'forbidden', {
    zh: `此管理员令牌仅限区域 ${scope}，不能管理该区域以外的令牌`,
    en: `this admin token is limited to region ${scope} and cannot manage tokens beyond it`,
  })

const maxDays = TTL_CAP_SECONDS.bearer / 86_400
const ttlTooLong = () =>
  new AppError(
    400,
    'invalid_body',
    {
      zh: `令牌有效期最长 ${maxDays} 天（${TTL_CAP_SECONDS.bearer} 秒）`,
      en: `a bearer token may live at most ${maxDays} days (${TTL_CAP_SECONDS.bearer} s)`,
    },
    [{ path: 'ttl', message: `at most ${maxDays} days` }],
  )

export function adminRoutes(deps: AppDeps) {
  const tz = deps.calendar.timeZone
  const admins = requireRole(deps.tokens, ['admin'])
  const gridOfWorker = new Map(deps.city.workers().map((w) => [w.id, w.gridCode]))
  const iso = (ms: number) => formatIsoWithOffset(ms, tz)
  const listed = (t: IssuedTokenState): IssuedTokenEntry => ({
    jti: t.jti,
    role: t.role,
    region: t.region,
    aud: t.aud,
    ...(t.actions ? { actions: t.actions } : {}),
    issuedAt: iso(t.issuedAt),
    expiresAt: iso(t.expiresAt),
    revoked: t.revoked,
  })

  /**
   * What a revocation needs of its target: by id from the registry, or by the token itself; null
   * for a token already revoked (it says nothing more of itself).
   */
  async function target(
    body: z.output<typeof revokeSchema>,
  ): Promise<Pick<IssuedTokenState, 'jti' | 'expiresAt' | 'region' | 'revoked'> | null> {
    if ('jti' in body) {
      const t = await deps.store.issuedToken(body.jti)
      if (!t) throw notFound({ zh: `令牌 ${body.jti}`, en: `token ${body.jti}` })
      return t
    }
    const v = await deps.tokens.verify(body.token)
    if (!v.ok && v.reason === 'revoked') return null
    if (!v.ok || !v.principal.jti || !v.principal.expiresAt)
      throw new AppError(422, 'invalid_field', {
        zh: '该令牌无效或不可吊销',
        en: 'the token is invalid or cannot be revoked',
      })
    const { jti, expiresAt, region } = v.principal
    return { jti, expiresAt, region: region ?? null, revoked: false }
  }

  /** The pings of a batch whose workers lie outside the token's region, and the rest with their indexes. */
  function splitByScope(c: Context<AppEnv>, positions: Position[]) {
    const scope = c.get('principal').region
    const inside: Position[] = []
    const indexes: number[] = []
    const outside = new Set<string>()
    positions.forEach((p, i) => {
      const grid = gridOfWorker.get(p.workerId)
      // Unknown workers go on to the patrol service, which reports them as unknown.
      if (scope && grid !== undefined && !isWithin(grid, scope)) outside.add(p.workerId)
      else {
        inside.push(p)
        indexes.push(i)
      }
    })
    return { inside, indexes, outside: [...outside] }
  }

  return (
    new Hono<AppEnv>()
      .post('/tokens', admins, async (c) => {
        const body = parse(tokenRequestSchema, await jsonBody(c), 'invalid_body')
        if (body.ttl > TTL_CAP_SECONDS.bearer) throw ttlTooLong()
        const scope = c.get('principal').region
        // A region-scoped admin's token without a region gets the admin's own: never the whole city.
        const region = body.region ?? scope
        if (!withinScope(scope, region)) throw outsideScope(scope!)
        if (region && !deps.city.region(region))
          throw notFound({ zh: `区域 ${region}`, en: `region ${region}` })
        const minted = await deps.tokens.mint({
          role: body.role,
          ttlSeconds: body.ttl,
          ...(region ? { region } : {}),
          ...(body.actions?.length ? { actions: body.actions } : {}),
        })
        return c.json(
          {
            token: minted.token,
            jti: minted.jti,
            role: body.role,
            region: region ?? null,
            ...(body.actions?.length ? { actions: body.actions } : {}),
            expiresAt: iso(minted.expiresAt),
          },
          201,
        )
      })
      .get('/tokens', admins, async (c) => {
        const scope = c.get('principal').region
        const all = await deps.store.issuedTokens(deps.tokens.now())
        return c.json({ tokens: all.filter((t) => withinScope(scope, t.region)).map(listed) })
      })
      // Extends DESIGN.md §3: the live clients of every process, by role (the admin sees the whole
      // deployment's load, whichever process answers).
      .get('/live/clients', requireRole(deps.tokens, ['admin']), async (c) => {
        const counts = (await deps.liveClients?.()) ?? null
        if (!counts)
          throw new AppError(503, 'not_ready', {
            zh: '实时推送尚未启动',
            en: 'the live stream has not started yet',
          })
        return c.json(counts)
      })
      .post('/tokens/revoke', admins, async (c) => {
        const body = parse(revokeSchema, await jsonBody(c), 'invalid_body')
        const t = await target(body)
        const scope = c.get('principal').region
        if (t && !withinScope(scope, t.region)) throw outsideScope(scope!)
        // Revoking twice changes nothing and answers the same.
        if (t && !t.revoked) await deps.tokens.revoke(t.jti, t.expiresAt)
        return c.json({ revoked: true })
      })
      .post('/positions', requireRole(deps.tokens, ['admin', 'ingest']), async (c) => {
        const body = parse(positionsSchema, await jsonBody(c), 'invalid_body')
        const { inside, indexes, outside } = splitByScope(c, body.positions)
        if (inside.length === 0)
          throw new AppError(
            403,
            'forbidden',
            {
              zh: `令牌仅限区域 ${c.get('principal').region}，这些网格员不在其内`,
              en: `the token is limited to region ${c.get('principal').region}; these workers lie outside it`,
            },
            { outOfScopeWorkers: outside },
          )
        const r = await deps.patrol.ingest(inside, { group: true })
        // Each refused ping by its index in the body (DESIGN.md §2: > 2 min ahead of the server clock).
        const refused = r.refused.map((x) => ({ ...x, index: indexes[x.index]! }))
        if (r.accepted === 0)
          throw new AppError(
            422,
            'invalid_field',
            refused.length
              ? {
                  zh: '没有可接收的定位：其时间超前服务器时钟，或网格员未知',
                  en: 'no ping of the batch was taken: dated ahead of the server clock, or of unknown workers',
                }
              : { zh: '没有已知的网格员', en: 'no known worker in the batch' },
            { unknownWorkers: r.unknownWorkers, outOfScopeWorkers: outside, refused },
          )
        // Pings of workers outside the scope are refused one by one and named, like unknown workers;
        // a ping of a known worker refused by the rules is listed with its index, code and reason.
        return c.json(
          { accepted: r.accepted, unknownWorkers: r.unknownWorkers, outOfScopeWorkers: outside, refused },
          202,
        )
      })
  )
}
