/**
 * The HTTP answers of DESIGN.md §3 and of the screens' data routes, as JSON: one definition that
 * the server's routes are checked against (`satisfies`) and the web client reads, so the two cannot
 * drift apart. Times are ISO 8601 strings with the city's offset.
 */
import type { CategoryFamily } from './categories.ts'
import type { ComparisonBasis } from './comparison.ts'
import type { KpiValues } from './kpis.ts'
import type { BucketSize, PeriodKind } from './periods.ts'
import type { RegionLevel } from './regions.ts'
import type {
  ActionData,
  Actor,
  ChangeAction,
  EventSource,
  EventStatus,
  Reporter,
  Role,
  Satisfaction,
} from './types.ts'
import type { TimeLimit } from './working-time.ts'

/** An ISO 8601 instant with the city's offset, e.g. `2026-11-25T09:00:00+08:00`. */
export type Iso = string
export type LngLat = [number, number]

/** `GET /api/v1/whoami`: who the token is, and the product's clock (simulated time runs faster). */
export interface WhoAmI {
  role: Role
  region: string | null
  expiresAt: Iso | null
  district: string
  timeZone: string
  now: Iso
  clockSpeed: number
}

/** One region as `GET /api/v1/regions/{code}` lists it (itself and each child). */
export interface RegionSummary {
  code: string
  name: string
  level: RegionLevel
  parentCode: string | null
  areaM2: number
  population: number
  centroid: LngLat
  /** How many children it has. */
  children: number
  /** Present below the district: the boundary is generated, not an official one. */
  synthetic?: string
}

/** `GET /api/v1/regions/{code}`: the region, its grid count and its children. */
export interface RegionInfo extends Omit<RegionSummary, 'children'> {
  grids: number
  children: RegionSummary[]
}

/** One unit of `GET /api/v1/regions/{code}/geo[?level=]`. */
export interface RegionFeature {
  type: 'Feature'
  id: string
  properties: {
    code: string
    name: string
    level: RegionLevel
    areaM2: number
    population: number
    centroid: LngLat
    synthetic: boolean
  }
  geometry: { type: 'MultiPolygon'; coordinates: LngLat[][][] }
}
export interface RegionGeo {
  type: 'FeatureCollection'
  features: RegionFeature[]
}

export interface Bilingual {
  zh: string
  en: string
}

/** One leaf of `GET /api/v1/categories`. */
export interface CategoryView extends Bilingual {
  code: string
  family: CategoryFamily
  group: Bilingual & { code: string }
  /** In the request's language. */
  name: string
  limit: TimeLimit
  department: Bilingual
}
export interface CategoriesResponse {
  categories: CategoryView[]
}

/** `GET /api/v1/kpis`: a region's figures for a period, as they stood at `at`. */
export interface KpisResponse {
  region: string
  from: Iso
  to: Iso
  at: Iso
  seq: number
  values: KpiValues
}

/** `GET /api/v1/rankings`: streets or communities over a period (default this month). */
export interface RankingsResponse {
  level: 'street' | 'community'
  from: Iso
  to: Iso
  seq: number
  rankings: { code: string; name: string; values: KpiValues }[]
}

/** `GET /api/v1/comparison`: what the wall's tiles compare with (较昨日同期 / 较上周同期). */
export interface ComparisonResponse {
  region: string
  basis: ComparisonBasis
  /** The compared local date, `YYYY-MM-DD`. */
  date: string
  from: Iso
  to: Iso
  at: Iso
  seq: number
  values: KpiValues
}

export interface CountByGroup extends Bilingual {
  code: string
  count: number
}

/** `GET /api/v1/stats`: today's event mix and the last hours' activity. */
export interface StatsResponse {
  region: string
  seq: number
  now: Iso
  dayStart: Iso
  byCategory: (CountByGroup & { group: string })[]
  byGroup: CountByGroup[]
  hourly: { hour: Iso; reported: number; handled: number; closed: number }[]
}

/** `GET /api/v1/facilities`: facilities and the one-kilometre service circles' coverage. */
export interface FacilitiesResponse {
  region: string
  facilities: { id: string; kind: string; name: string; lng: number; lat: number; gridCode: string }[]
  coverage: (Bilingual & { kind: string; grids: number; covered: number; rate: number | null })[]
}

/** One event as the API shows it to a role (description and reporter by role; DESIGN.md §3). */
export interface EventView {
  id: string
  seq: number
  status: EventStatus
  category: string
  description?: string
  lat: number
  lng: number
  gridCode: string
  source: EventSource
  /** Masked (张** / 138****1234) for roles that must not see contact details. */
  reporter?: Reporter
  reportedAt: Iso
  updatedAt: Iso
  firstDispatchedAt: Iso | null
  dispatchedAt: Iso | null
  deadline: Iso | null
  handledAt: Iso | null
  closedAt: Iso | null
  cancelledAt: Iso | null
  department: string | null
  reworkCount: number
  extensionCount: number
  returnCount: number
  satisfaction: Satisfaction | null
  evaluatedAt: Iso | null
  overdue: boolean
}

/** One change of the log (`GET /api/v1/changes`) or of an event's timeline. */
export interface ChangeView {
  seq: number
  at: Iso
  eventId: string
  gridCode: string
  action: ChangeAction
  status: EventStatus
  data?: Omit<ActionData, 'until'> & { until?: Iso; deadline?: Iso }
  actor: Actor | null
}

/** `GET /api/v1/events`: a page, newest first; `next` is the cursor of the following page. */
export interface EventsPage {
  events: EventView[]
  next: string | null
}

/** `GET /api/v1/events/{id}`: the event and its whole timeline. */
export interface EventDetail extends EventView {
  timeline: ChangeView[]
}

/** `GET /api/v1/changes`. */
export interface ChangesPage {
  changes: ChangeView[]
  next: number
}

/** A region as the briefing names it (its breadcrumbs, its children). */
export interface RegionRef {
  code: string
  name: string
  level: RegionLevel
}

/** Figures of a period compared with (环比, 同比), read as they stood at its own end. */
export interface BriefFigures {
  from: Iso
  to: Iso
  at: Iso
  values: KpiValues
}

export interface BriefRankingRow extends RegionRef {
  /** By score, 1 the best; units without a score last. */
  rank: number
  values: KpiValues
  /** The same unit over the previous period (环比), or null where it has none. */
  previous: KpiValues | null
}

/**
 * `GET /api/v1/brief`: what the leaders' briefing shows for a region and a period, and what its PDF
 * prints: the figures, 环比 and 同比, the sparkline, the children ranked, the worst overdue events.
 */
export interface BriefResponse {
  region: RegionRef & { parentCode: string | null; synthetic: boolean }
  /** From the district down to the region: the breadcrumbs. */
  path: RegionRef[]
  /** One level down (none for a grid). */
  children: RegionRef[]
  period: { kind: PeriodKind; from: Iso; to: Iso; end: Iso }
  /** The instant the figures hold for: now, or the instant asked for (`asOf`). */
  at: Iso
  asOf: boolean
  seq: number
  values: KpiValues
  /** 环比: the previous period of the same length. */
  previous: BriefFigures
  /** 同比: the same period a year before; null where the data does not reach back that far. */
  yearAgo: BriefFigures | null
  /** When the earliest event of the store was reported: where the data reaches. */
  dataFrom: Iso | null
  bucket: BucketSize
  series: { from: Iso; to: Iso; values: KpiValues }[]
  /** The region's children ranked over the period (none for a grid). */
  ranking: { level: 'street' | 'community' | 'grid'; rows: BriefRankingRow[] } | null
  /** The events overdue now the longest (at most 10), worst first. */
  overdue: EventView[]
  generatedAt: Iso
}

/**
 * `GET /api/v1/embed/trend?token=&region=`: a public embed's trend, the last seven local days of
 * the token's region, reports per day (counts below `minCount` null) and the disposal rate.
 */
export interface EmbedTrendResponse {
  region: RegionRef
  from: Iso
  to: Iso
  at: Iso
  minCount: number
  points: { from: Iso; to: Iso; reported: number | null; disposalRate: number | null }[]
}

/**
 * `GET /api/v1/embed/ranking?token=&region=`: the region's streets (or communities) ranked by the
 * composite score over this month, public figures only; a unit with fewer than `minCount` reports
 * is listed without figures.
 */
export interface EmbedRankingResponse {
  region: RegionRef
  level: 'street' | 'community' | null
  from: Iso
  to: Iso
  at: Iso
  minCount: number
  rows: {
    code: string
    name: string
    rank: number | null
    score: number | null
    disposalRate: number | null
    satisfactionRate: number | null
  }[]
}
