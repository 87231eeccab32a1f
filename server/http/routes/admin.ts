/** Admin: mint tokens. Ingest: positions. */
import { Hono } from 'hono'
import { positionsSchema, tokenRequestSchema } from '../../../shared/schemas.ts'
import { formatIsoWithOffset } from '../../../shared/working-time.ts'
import { AppError, notFound } from '../../errors.ts'
import type { AppDeps, AppEnv } from '../context.ts'
import { jsonBody, parse, requireRole } from '../middleware.ts'

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
