/**
 * The public answers of the portal embeds' panels that the live stream does not carry: `trend`
 * (the last seven local days) and `ranking` (this month's units by score). Only an embed token
 * naming the panel reads them (`requireEmbed`); they hold aggregates only, and a count small enough
 * to point at one case (`PUBLIC_MIN_COUNT`, shared/privacy.ts) is withheld, with the figures made
 * from it.
 */
import { Hono } from 'hono'
import type { EmbedRankingResponse, EmbedTrendResponse, RegionRef } from '../../../shared/api.ts'
import { bucketsOf, periodOf } from '../../../shared/periods.ts'
import { PUBLIC_MIN_COUNT, publicCount } from '../../../shared/privacy.ts'
import type { KpiValues } from '../../../shared/kpis.ts'
import { addLocalDays, formatIsoWithOffset, startOfLocalDay } from '../../../shared/working-time.ts'
import type { RegionNode } from '../../city/city-index.ts'
import type { AppDeps, AppEnv } from '../context.ts'
import { requireEmbed } from '../embed.ts'

export function embedDataRoutes(deps: AppDeps) {
  const tz = deps.calendar.timeZone
  const iso = (ms: number) => formatIsoWithOffset(ms, tz)
  const ref = (n: RegionNode): RegionRef => ({ code: n.code, name: n.name, level: n.level })
  /** The region asked (within the token's, checked by requireEmbed), else the token's own. */
  const regionOf = (asked: string | undefined, own: string | undefined): RegionNode =>
    deps.city.region(asked ?? own ?? deps.city.district.code) ?? deps.city.district
  /** A rate as the public may see it: withheld where its count is. */
  const rateOf = (v: KpiValues, rate: 'disposalRate' | 'satisfactionRate') =>
    publicCount(v.reported) === null ? null : v[rate]

  return new Hono<AppEnv>()
    .get('/embed/trend', requireEmbed(deps, 'trend'), async (c) => {
      const node = regionOf(c.req.query('region'), c.get('principal').region)
      const now = deps.clock.now()
      const from = addLocalDays(startOfLocalDay(now, tz), -6, tz)
      const s = await deps.kpis.series(node.code, bucketsOf({ from, to: now }, tz, 'day'))
      c.header('Cache-Control', 'public, max-age=30')
      return c.json({
        region: ref(node),
        from: iso(from),
        to: iso(now),
        at: iso(s.at),
        minCount: PUBLIC_MIN_COUNT,
        points: s.points.map((p) => ({
          from: iso(p.from),
          to: iso(p.to),
          reported: publicCount(p.values.reported),
          disposalRate: rateOf(p.values, 'disposalRate'),
        })),
      } satisfies EmbedTrendResponse)
    })
    .get('/embed/ranking', requireEmbed(deps, 'ranking'), async (c) => {
      const node = regionOf(c.req.query('region'), c.get('principal').region)
      const now = deps.clock.now()
      const from = periodOf('month', now, tz).from
      const level = node.level === 'district' ? 'street' : node.level === 'street' ? 'community' : null
      let rows: EmbedRankingResponse['rows'] = []
      if (level) {
        const r = await deps.kpis.rankings(level, from, now)
        const mine = r.rows.filter((x) => x.code.startsWith(node.code))
        const shown = mine.filter((x) => publicCount(x.values.reported) !== null)
        const hidden = mine.filter((x) => publicCount(x.values.reported) === null)
        rows = [
          ...shown.map((x, i) => ({
            code: x.code,
            name: x.name,
            rank: i + 1,
            score: x.values.score,
            disposalRate: x.values.disposalRate,
            satisfactionRate: x.values.satisfactionRate,
          })),
          ...hidden.map((x) => ({
            code: x.code,
            name: x.name,
            rank: null,
            score: null,
            disposalRate: null,
            satisfactionRate: null,
          })),
        ]
      }
      c.header('Cache-Control', 'public, max-age=30')
      return c.json({
        region: ref(node),
        level,
        from: iso(from),
        to: iso(now),
        at: iso(now),
        minCount: PUBLIC_MIN_COUNT,
        rows,
      } satisfies EmbedRankingResponse)
    })
}
