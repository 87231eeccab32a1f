/**
 * What the big-screen wall reads besides the live stream: who the token is, the GeoJSON of every
 * unit of one level under a region, today's event mix and the hourly activity, the facilities
 * with their one-kilometre service-circle coverage, and what the KPI tiles compare with.
 */
import type {
  ComparisonResponse,
  FacilitiesResponse,
  RegionGeo,
  StatsResponse,
  WhoAmI,
} from '../../../shared/api.ts'
import { Hono, type Context } from 'hono'
import { CATEGORY_BY_CODE } from '../../../shared/categories.ts'
import { comparisonPeriod } from '../../../shared/comparison.ts'
import { valuesForRole } from '../../../shared/privacy.ts'
import { REGION_LEVELS, type RegionLevel } from '../../../shared/regions.ts'
import { facilitiesQuerySchema, regionGeoQuerySchema, statsQuerySchema } from '../../../shared/schemas.ts'
import { formatIsoWithOffset, zoneOffset } from '../../../shared/working-time.ts'
import type { RegionNode } from '../../city/city-index.ts'
import { buildServiceCircles } from '../../city/service-circles.ts'
import { AppError } from '../../errors.ts'
import type { ActivitySnapshot } from '../../store/store.ts'
import type { AppDeps, AppEnv } from '../context.ts'
import { ANY_ROLE, assertRegionAllowed, lookupRegion, parse, requireRole } from '../middleware.ts'

const HOUR = 3_600_000
const LEVEL_NAMES: Record<RegionLevel, { zh: string; en: string }> = {
  district: { zh: '区', en: 'district' },
  street: { zh: '街道', en: 'street' },
  community: { zh: '社区', en: 'community' },
  grid: { zh: '网格', en: 'grid' },
}

/** The instant the local hour containing `ms` began (zones with half-hour offsets included). */
function startOfLocalHour(ms: number, tz: string): number {
  const offset = zoneOffset(ms, tz)
  return Math.floor((ms + offset) / HOUR) * HOUR - offset
}

/** Per-category counts → the wall's byCategory and byGroup lists, largest first, zeros left out. */
function buildMix(rows: ActivitySnapshot['reportedToday']) {
  const byCategory = rows
    .filter((r) => r.count > 0)
    .map((r) => {
      const k = CATEGORY_BY_CODE.get(r.category)
      return {
        code: r.category,
        group: k?.group.code ?? r.category.slice(0, 4),
        zh: k?.zh ?? r.category,
        en: k?.en ?? r.category,
        count: r.count,
      }
    })
    .sort((a, b) => b.count - a.count || a.code.localeCompare(b.code))
  const groups = new Map<string, { code: string; zh: string; en: string; count: number }>()
  for (const r of byCategory) {
    const g = CATEGORY_BY_CODE.get(r.code)?.group ?? { code: r.group, zh: r.group, en: r.group }
    const acc = groups.get(g.code) ?? { code: g.code, zh: g.zh, en: g.en, count: 0 }
    acc.count += r.count
    groups.set(g.code, acc)
  }
  const byGroup = [...groups.values()].sort((a, b) => b.count - a.count || a.code.localeCompare(b.code))
  return { byCategory, byGroup }
}

/** Count instants into `hours` one-hour buckets starting at `start`. */
function buckets(times: readonly number[], start: number, hours: number): number[] {
  const out = new Array<number>(hours).fill(0)
  for (const t of times) {
    const i = Math.floor((t - start) / HOUR)
    if (i >= 0 && i < hours) out[i]! += 1
  }
  return out
}

export function wallDataRoutes(deps: AppDeps) {
  const { city } = deps
  const tz = deps.calendar.timeZone
  const iso = (ms: number) => formatIsoWithOffset(ms, tz)
  const anyRole = requireRole(deps.tokens, ANY_ROLE)
  // Once per process: the city file is immutable while it runs.
  const circles = buildServiceCircles(city.file)

  const lookup = (raw: string): RegionNode => lookupRegion(city, raw)
  /** The asked region, else the token's scope, else the whole district; known and in scope. */
  const regionOf = (c: Context<AppEnv>, asked: string | undefined): RegionNode => {
    const node = lookup(asked ?? c.get('principal').region ?? city.district.code)
    assertRegionAllowed(c, node.code)
    return node
  }

  return (
    new Hono<AppEnv>()
      .get('/whoami', anyRole, (c) => {
        const p = c.get('principal')
        c.header('cache-control', 'no-store')
        return c.json({
          role: p.role,
          region: p.region ?? null,
          expiresAt: p.expiresAt === undefined ? null : iso(p.expiresAt),
          district: deps.city.district.code,
          timeZone: deps.calendar.timeZone,
          // The product's clock (simulated time runs faster with SIM_SPEED), for the screens' clocks.
          now: iso(deps.clock.now()),
          clockSpeed: deps.clockSpeed,
        } satisfies WhoAmI)
      })
      // Mounted before the region routes: with `?level=` it answers, without it the existing
      // children GeoJSON route does. Authentication runs only on the branch that answers here.
      .get('/regions/:code/geo', async (c, next) => {
        if (c.req.query('level') === undefined) return next()
        await anyRole(c, async () => {})
        const node = lookup(c.req.param('code'))
        assertRegionAllowed(c, node.code)
        const { level } = parse(regionGeoQuerySchema, c.req.query(), 'invalid_query')
        if (!level) return next()
        if (REGION_LEVELS.indexOf(level) <= REGION_LEVELS.indexOf(node.level)) {
          const [l, r] = [LEVEL_NAMES[level], LEVEL_NAMES[node.level]]
          throw new AppError(400, 'invalid_query', {
            zh: `层级 ${l.zh} 不在区域 ${node.code}（${r.zh}）之下`,
            en: `level ${l.en} does not lie below region ${node.code} (a ${r.en})`,
          })
        }
        // Filtered by the token's scope: a shared cache must not hand it to another token.
        c.header('cache-control', 'private, max-age=3600')
        return c.json(city.geoAt(node.code, level) satisfies RegionGeo)
      })
      // byCategory / byGroup: events reported on the local day so far. hourly: per local hour,
      // events reported, handled and closed in it. Handled and closed read the events' current
      // handledAt / closedAt: a handling undone by rework (返工) no longer counts, and an event
      // handled twice counts once, in the hour of its latest handling.
      .get('/stats', anyRole, async (c) => {
        const q = parse(statsQuerySchema, c.req.query(), 'invalid_query')
        const node = regionOf(c, q.region)
        const now = deps.clock.now()
        const day = deps.kpis.dayOf(now)
        // The last `hours` whole local hours, the current (partial) one last.
        const start = startOfLocalHour(now, tz) - (q.hours - 1) * HOUR
        const snap = await deps.store.activitySnapshot(node.code, day, {
          start,
          end: start + q.hours * HOUR,
        })
        const reported = buckets(snap.reportedAt, start, q.hours)
        const handled = buckets(snap.handledAt, start, q.hours)
        const closed = buckets(snap.closedAt, start, q.hours)
        return c.json({
          region: node.code,
          seq: snap.seq,
          now: iso(now),
          dayStart: iso(day.start),
          ...buildMix(snap.reportedToday),
          hourly: reported.map((n, i) => ({
            hour: iso(start + i * HOUR),
            reported: n,
            handled: handled[i]!,
            closed: closed[i]!,
          })),
        } satisfies StatsResponse)
      })
      // The KPI tiles' comparison (较昨日同期 / 较上周同期, shared/comparison.ts): the compared day from
      // its midnight to this time of day, as the figures stood then; `basis` says which day it is.
      .get('/comparison', anyRole, async (c) => {
        const q = parse(facilitiesQuerySchema, c.req.query(), 'invalid_query')
        const node = regionOf(c, q.region)
        const p = comparisonPeriod(deps.clock.now(), deps.calendar)
        // Just after midnight the period would be empty: a millisecond at least.
        const to = Math.max(p.at, p.from + 1)
        const r = await deps.kpis.kpis(node.code, p.from, to, p.at)
        c.header('cache-control', 'no-store')
        return c.json({
          region: node.code,
          basis: p.basis,
          date: p.date,
          from: iso(p.from),
          to: iso(to),
          at: iso(r.at),
          seq: r.seq,
          values: valuesForRole(r.values, node.level, c.get('principal').role),
        } satisfies ComparisonResponse)
      })
      .get('/facilities', anyRole, (c) => {
        const q = parse(facilitiesQuerySchema, c.req.query(), 'invalid_query')
        const node = regionOf(c, q.region)
        c.header('cache-control', 'private, max-age=3600')
        return c.json({
          region: node.code,
          facilities: city
            .facilities()
            .filter((f) => f.gridCode.startsWith(node.code))
            .map((f) => ({
              id: f.id,
              kind: f.kind,
              name: f.name,
              lng: f.lng,
              lat: f.lat,
              gridCode: f.gridCode,
            })),
          coverage: circles.coverage(city.gridsOf(node.code).map((g) => g.code)),
        } satisfies FacilitiesResponse)
      })
  )
}
