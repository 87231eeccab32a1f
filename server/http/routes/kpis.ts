/** KPIs of a region and period, and rankings of streets or communities. */
import type { KpisResponse, RankingsResponse } from '../../../shared/api.ts'
import { Hono } from 'hono'
import { kpisQuerySchema, rankingsQuerySchema } from '../../../shared/schemas.ts'
import { formatIsoWithOffset, localDate, startOfLocalDay } from '../../../shared/working-time.ts'
import { notFound } from '../../errors.ts'
import { valuesForRole } from '../../../shared/privacy.ts'
import type { AppDeps, AppEnv } from '../context.ts'
import { ANY_ROLE, assertBoundedPeriod, assertRegionAllowed, parse, requireRole } from '../middleware.ts'

const HOUR = 3_600_000

export function kpiRoutes(deps: AppDeps) {
  const tz = deps.calendar.timeZone
  const iso = (ms: number) => formatIsoWithOffset(ms, tz)
  /** Default period: today (local). */
  const today = () => deps.kpis.dayOf(deps.clock.now())
  /**
   * The start of the local day `days` calendar days before the one containing `t` (days ≥ 0). Local
   * days last 23–25 h where daylight saving changes, so the step lands at the middle of each day,
   * never on a fixed 24 h from `t`.
   */
  const dayStartBefore = (t: number, days: number): number => {
    let start = startOfLocalDay(t, tz)
    for (let i = 0; i < days; i++) start = startOfLocalDay(start - 12 * HOUR, tz)
    return start
  }
  /** The same local time one calendar day before `t`. */
  const oneDayBefore = (t: number): number => {
    const start = startOfLocalDay(t, tz)
    return dayStartBefore(t, 1) + (t - start)
  }
  /** Default ranking period: this month (local) up to the end of today. */
  const thisMonth = () => {
    const now = deps.clock.now()
    const day = Number(localDate(now, tz).slice(8, 10))
    return { start: dayStartBefore(now, day - 1), end: today().end }
  }
  const anyRole = requireRole(deps.tokens, ANY_ROLE)
  return new Hono<AppEnv>()
    .get('/kpis', anyRole, async (c) => {
      const q = parse(kpisQuerySchema, c.req.query(), 'invalid_query')
      const node = deps.city.region(q.region)
      if (!node) throw notFound({ zh: `区域 ${q.region}`, en: `region ${q.region}` })
      assertRegionAllowed(c, q.region)
      const now = deps.clock.now()
      // Without a period: the local day of `at` up to `at` (DESIGN.md §2), or today.
      const d = q.at !== undefined ? deps.kpis.dayOf(q.at) : today()
      const from = q.from ?? (q.to !== undefined ? oneDayBefore(q.to) : d.start)
      const to = q.to ?? (q.from !== undefined ? Math.max(from + 1, now) : q.at !== undefined ? q.at : d.end)
      assertBoundedPeriod({ from, to, at: q.at }, now)
      const r = await deps.kpis.kpis(q.region, from, to, q.at)
      return c.json({
        region: r.region,
        from: iso(r.from),
        to: iso(r.to),
        at: iso(r.at),
        seq: r.seq,
        values: valuesForRole(r.values, node.level, c.get('principal').role),
      } satisfies KpisResponse)
    })
    .get('/rankings', anyRole, async (c) => {
      const q = parse(rankingsQuerySchema, c.req.query(), 'invalid_query')
      const m = thisMonth()
      const from = q.from ?? m.start
      const to = q.to ?? m.end
      assertBoundedPeriod({ from, to }, deps.clock.now())
      const scope = q.region ?? c.get('principal').region
      if (scope) {
        if (!deps.city.region(scope)) throw notFound({ zh: `区域 ${scope}`, en: `region ${scope}` })
        assertRegionAllowed(c, scope)
      }
      const r = await deps.kpis.rankings(q.level, from, to)
      const role = c.get('principal').role
      const rows = (
        scope ? r.rows.filter((x) => x.code.startsWith(scope) || scope.startsWith(x.code)) : r.rows
      ).map((x) => ({ ...x, values: valuesForRole(x.values, q.level, role) }))
      return c.json({
        level: q.level,
        from: iso(from),
        to: iso(to),
        seq: r.seq,
        rankings: rows,
      } satisfies RankingsResponse)
    })
}
