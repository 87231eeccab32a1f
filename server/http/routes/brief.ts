/** The leaders' briefing data (`GET /api/v1/brief`): see server/domain/brief-service.ts. */
import { Hono, type Context } from 'hono'
import type { BriefResponse } from '../../../shared/api.ts'
import { briefQuerySchema } from '../../../shared/schemas.ts'
import { createBriefService } from '../../domain/brief-service.ts'
import type { AppDeps, AppEnv } from '../context.ts'
import { assertBoundedPeriod, assertRegionAllowed, lookupRegion, parse, requireRole } from '../middleware.ts'

/** The briefing is the leaders' screen; officers and admins may open it too. */
export const BRIEF_READERS = ['admin', 'officer', 'leader'] as const

/**
 * The briefing a request asks for, its query parsed and checked (region known and in the token's
 * scope, period bounded): one reading for the JSON route and its PDF (routes/reports.ts).
 */
export function briefReader(deps: AppDeps): (c: Context<AppEnv>) => Promise<BriefResponse> {
  const service = createBriefService({
    kpis: deps.kpis,
    store: deps.store,
    city: deps.city,
    clock: deps.clock,
    timeZone: deps.calendar.timeZone,
  })
  return (c) => {
    const q = parse(briefQuerySchema, c.req.query(), 'invalid_query')
    const node = lookupRegion(deps.city, q.region)
    assertRegionAllowed(c, node.code)
    const now = deps.clock.now()
    assertBoundedPeriod({ from: q.from ?? now, to: q.to ?? now + 1, at: q.at }, now)
    return service.brief({
      region: node.code,
      period: q.period,
      ...(q.from !== undefined ? { from: q.from } : {}),
      ...(q.to !== undefined ? { to: q.to } : {}),
      ...(q.at !== undefined ? { at: q.at } : {}),
      role: c.get('principal').role,
    })
  }
}

export function briefRoutes(deps: AppDeps) {
  const read = briefReader(deps)
  return new Hono<AppEnv>().get('/brief', requireRole(deps.tokens, BRIEF_READERS), async (c) => {
    const body = await read(c)
    c.header('cache-control', 'no-store')
    return c.json(body)
  })
}
