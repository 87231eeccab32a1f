/**
 * The leaders' briefing (`GET /api/v1/brief`, and the PDF that prints it): a region's figures over a
 * period with 环比 and 同比 (shared/periods.ts), the period's sparkline, the region's children ranked,
 * and the events overdue the longest.
 *
 * Every compared figure is read as it stood at the end of its own span (the as-of reading of the
 * KPI service), so "this month so far" meets last month's same days with the same knowledge of
 * them: last month's events had no more time to be handled than this month's have had.
 */
import type { BriefRankingRow, BriefResponse, RegionRef } from '../../shared/api.ts'
import type { KpiValues } from '../../shared/kpis.ts'
import {
  bucketSizeOf,
  bucketsOf,
  periodAsOf,
  periodOf,
  previousPeriod,
  yearBefore,
  type PeriodKind,
  type Span,
} from '../../shared/periods.ts'
import { valuesForRole } from '../../shared/privacy.ts'
import type { Clock, Role } from '../../shared/types.ts'
import { formatIsoWithOffset } from '../../shared/working-time.ts'
import type { CityIndex, RegionNode } from '../city/city-index.ts'
import { renderEvent } from '../http/render.ts'
import type { Store } from '../store/store.ts'
import type { KpiService } from './kpi-service.ts'

export interface BriefRequest {
  region: string
  period: PeriodKind
  from?: number
  to?: number
  /** Read everything as it stood at this past instant. */
  at?: number
  role: Role
}

export interface BriefService {
  brief(q: BriefRequest): Promise<BriefResponse>
}

const OVERDUE_LISTED = 10

export function createBriefService(deps: {
  kpis: KpiService
  store: Pick<Store, 'listEvents' | 'firstReportedAt'>
  city: CityIndex
  clock: Clock
  timeZone: string
}): BriefService {
  const { kpis, store, city, clock, timeZone: tz } = deps
  const iso = (ms: number) => formatIsoWithOffset(ms, tz)
  const ref = (n: RegionNode): RegionRef => ({ code: n.code, name: n.name, level: n.level })
  const pathOf = (n: RegionNode): RegionRef[] => {
    const out: RegionRef[] = []
    for (let x: RegionNode | undefined = n; x; x = x.parentCode ? city.region(x.parentCode) : undefined)
      out.unshift(ref(x))
    return out
  }

  /** The children of `node` ranked over `span` (as of `at`), each with its previous period. */
  async function ranking(
    node: RegionNode,
    span: Span,
    prev: Span,
    at: number | undefined,
    role: Role,
  ): Promise<BriefResponse['ranking']> {
    const kids = city.children(node.code)
    if (kids.length === 0) return null
    const level = kids[0]!.level as 'street' | 'community' | 'grid'
    const forRole = (v: KpiValues) => valuesForRole(v, level, role)
    let rows: { code: string; name: string; values: KpiValues }[]
    let before = new Map<string, KpiValues>()
    if (level === 'street' || level === 'community') {
      // One read of the district for all its units (KpiService.rankings), then this region's.
      const [now, then] = await Promise.all([
        kpis.rankings(level, span.from, span.to, at),
        kpis.rankings(level, prev.from, prev.to, prev.to),
      ])
      const mine = new Set(kids.map((k) => k.code))
      rows = now.rows.filter((r) => mine.has(r.code))
      before = new Map(then.rows.map((r) => [r.code, r.values]))
    } else {
      // A community's grids: a handful of units, one read each.
      const [now, then] = await Promise.all([
        Promise.all(kids.map((k) => kpis.kpis(k.code, span.from, span.to, at))),
        Promise.all(kids.map((k) => kpis.kpis(k.code, prev.from, prev.to, prev.to))),
      ])
      rows = kids.map((k, i) => ({ code: k.code, name: k.name, values: now[i]!.values }))
      before = new Map(kids.map((k, i) => [k.code, then[i]!.values]))
    }
    const ranked = [...rows].sort(
      (a, b) => (b.values.score ?? -1) - (a.values.score ?? -1) || a.code.localeCompare(b.code),
    )
    return {
      level,
      rows: ranked.map((r, i): BriefRankingRow => ({
        code: r.code,
        name: r.name,
        level,
        rank: i + 1,
        values: forRole(r.values),
        previous: before.has(r.code) ? forRole(before.get(r.code)!) : null,
      })),
    }
  }

  return {
    async brief(q) {
      const node = city.region(q.region)
      if (!node) throw new Error(`unknown region ${q.region}`)
      const now = clock.now()
      const asOf = q.at !== undefined && q.at < now
      const at = asOf ? q.at! : now
      const custom = q.from !== undefined && q.to !== undefined ? { from: q.from, to: q.to } : undefined
      // A period is read up to the instant its figures hold for: a custom range ending later is cut.
      const period = periodAsOf(periodOf(q.period, at, tz, custom), at)
      const prev = previousPeriod(period, tz)
      const year = yearBefore(period, tz)
      const asOfAt = asOf ? at : undefined
      const [current, previous, firstAt, series, overdueRows] = await Promise.all([
        kpis.kpis(node.code, period.from, period.to, asOfAt),
        kpis.kpis(node.code, prev.from, prev.to, Math.min(prev.to, at)),
        store.firstReportedAt(),
        kpis.series(node.code, bucketsOf(period, tz), asOfAt),
        store.listEvents({ region: node.code, overdueAt: now, limit: 1000 }),
      ])
      // 同比 only where the data reaches back to the start of that span.
      const yearAgo =
        firstAt !== null && firstAt <= year.from
          ? await kpis.kpis(node.code, year.from, year.to, Math.min(year.to, at))
          : null
      const forRole = (v: KpiValues) => valuesForRole(v, node.level, q.role)
      const overdue = overdueRows
        .sort((a, b) => (a.deadline ?? 0) - (b.deadline ?? 0) || a.id.localeCompare(b.id))
        .slice(0, OVERDUE_LISTED)
        .map((e) => renderEvent(e, q.role, tz, now))
      return {
        region: { ...ref(node), parentCode: node.parentCode, synthetic: node.level !== 'district' },
        path: pathOf(node),
        children: city.children(node.code).map(ref),
        period: { kind: period.kind, from: iso(period.from), to: iso(period.to), end: iso(period.end) },
        at: iso(current.at),
        asOf,
        seq: current.seq,
        values: forRole(current.values),
        previous: {
          from: iso(prev.from),
          to: iso(prev.to),
          at: iso(previous.at),
          values: forRole(previous.values),
        },
        yearAgo: yearAgo && {
          from: iso(year.from),
          to: iso(year.to),
          at: iso(yearAgo.at),
          values: forRole(yearAgo.values),
        },
        dataFrom: firstAt === null ? null : iso(firstAt),
        bucket: bucketSizeOf(period),
        series: series.points.map((p) => ({ from: iso(p.from), to: iso(p.to), values: forRole(p.values) })),
        ranking: await ranking(node, period, prev, asOfAt, q.role),
        overdue,
        generatedAt: iso(now),
      }
    },
  }
}
