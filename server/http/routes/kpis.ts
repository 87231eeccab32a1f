/** KPIs of a region and period, and rankings of streets or communities. */
import { Hono } from 'hono'
import { kpisQuerySchema, rankingsQuerySchema } from '../../../shared/schemas.ts'
import { formatIsoWithOffset, localDate, startOfLocalDay } from '../../../shared/working-time.ts'
import { AppError, notFound } from '../../errors.ts'
import type { AppDeps, AppEnv } from '../context.ts'
import { ANY_ROLE, assertRegionAllowed, parse, requireRole } from '../middleware.ts'

export function kpiRoutes(deps: AppDeps) {
  const tz = deps.calendar.timeZone
  const iso = (ms: number) => formatIsoWithOffset(ms, tz)
  /** Default period: today (local). */
  const today = () => deps.kpis.dayOf(deps.clock.now())
  /** Default ranking period: this month (local) up to the end of today. */
  const thisMonth = () => {
    const now = deps.clock.now()
    const day = Number(localDate(now, tz).slice(8, 10))
    return { start: startOfLocalDay(now - (day - 1) * 86_400_000, tz), end: today().end }
  }
  const anyRole = requireRole(deps.tokens, ANY_ROLE)
  return new Hono<AppEnv>()
    .get('/kpis', anyRole, async (c) => {
      const q = parse(kpisQuerySchema, c.req.query(), 'invalid_query')
      if (!deps.city.region(q.region)) throw notFound({ zh: `区域 ${q.region}`, en: `region ${q.region}` })
      assertRegionAllowed(c, q.region)
      const now = deps.clock.now()
      if (q.at !== undefined && q.at > now)
        throw new AppError(
          400,
          'invalid_query',
          { zh: 'at 不能晚于当前时间', en: 'at must not be in the future' },
          [{ path: 'at', message: 'at must not be in the future' }],
        )
      const d = today()
      const from = q.from ?? (q.to !== undefined ? q.to - 86_400_000 : d.start)
      const to = q.to ?? (q.from !== undefined ? Math.max(from + 1, now) : d.end)
      const r = await deps.kpis.kpis(q.region, from, to, q.at)
      return c.json({
        region: r.region,
        from: iso(r.from),
        to: iso(r.to),
        at: iso(r.at),
        seq: r.seq,
        values: r.values,
      })
    })
    .get('/rankings', anyRole, async (c) => {
      const q = parse(rankingsQuerySchema, c.req.query(), 'invalid_query')
      const m = thisMonth()
      const from = q.from ?? m.start
      const to = q.to ?? m.end
      const scope = q.region ?? c.get('principal').region
      if (scope) {
        if (!deps.city.region(scope)) throw notFound({ zh: `区域 ${scope}`, en: `region ${scope}` })
        assertRegionAllowed(c, scope)
      }
      const r = await deps.kpis.rankings(q.level, from, to)
      const rows = scope ? r.rows.filter((x) => x.code.startsWith(scope) || scope.startsWith(x.code)) : r.rows
      return c.json({ level: q.level, from: iso(from), to: iso(to), seq: r.seq, rankings: rows })
    })
}
