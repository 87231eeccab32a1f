/** Admin: mint tokens. Ingest: positions. */
import { Hono } from 'hono'
import { z } from 'zod'
import { positionsSchema, tokenRequestSchema } from '../../../shared/schemas.ts'
import { formatIsoWithOffset } from '../../../shared/working-time.ts'
import { AppError, notFound } from '../../errors.ts'
import type { AppDeps, AppEnv } from '../context.ts'
import { jsonBody, parse, requireRole } from '../middleware.ts'

const revokeSchema = z.object({ token: z.string().min(10).max(4096) })

export function adminRoutes(deps: AppDeps) {
  return new Hono<AppEnv>()
    .post('/tokens', requireRole(deps.tokens, ['admin']), async (c) => {
      const body = parse(tokenRequestSchema, await jsonBody(c), 'invalid_body')
      if (body.region && !deps.city.region(body.region))
        throw notFound({ zh: `区域 ${body.region}`, en: `region ${body.region}` })
      const { token, expiresAt } = await deps.tokens.mint({
        role: body.role,
        ttlSeconds: body.ttl,
        ...(body.region ? { region: body.region } : {}),
      })
      return c.json(
        {
          token,
          role: body.role,
          region: body.region ?? null,
          expiresAt: formatIsoWithOffset(expiresAt, deps.calendar.timeZone),
        },
        201,
      )
    })
    .post('/tokens/revoke', requireRole(deps.tokens, ['admin']), async (c) => {
      const body = parse(revokeSchema, await jsonBody(c), 'invalid_body')
      const v = await deps.tokens.verify(body.token)
      if (!v.ok && v.reason === 'revoked') return c.json({ revoked: true })
      if (!v.ok || !v.principal.jti || !v.principal.expiresAt)
        throw new AppError(422, 'invalid_field', {
          zh: '该令牌无效或不可吊销',
          en: 'the token is invalid or cannot be revoked',
        })
      await deps.tokens.revoke(v.principal.jti, v.principal.expiresAt)
      return c.json({ revoked: true })
    })
    .post('/positions', requireRole(deps.tokens, ['admin', 'ingest']), async (c) => {
      const body = parse(positionsSchema, await jsonBody(c), 'invalid_body')
      const r = await deps.patrol.ingest(body.positions)
      if (r.accepted === 0)
        throw new AppError(
          422,
          'invalid_field',
          { zh: '没有已知的网格员', en: 'no known worker in the batch' },
          { unknownWorkers: r.unknownWorkers },
        )
      return c.json({ accepted: r.accepted, unknownWorkers: r.unknownWorkers }, 202)
    })
}
