/**
 * Runtime schemas of the HTTP inputs (DESIGN.md §3), parsed at the boundary before any domain call.
 *
 * Outputs are domain-ready: ISO 8601 times become epoch ms, region and grid codes are normalised
 * (14-digit grids → 15 digits), comma lists become arrays, a ttl becomes seconds. Query-string
 * integers are accepted as numbers or digit strings. Unknown keys are dropped.
 */
import { z } from 'zod'
import { isCategoryCode } from './categories.ts'
import { parseTtl } from './duration.ts'
import { EMBED_KINDS, EMBED_PANELS, MAX_EMBED_ORIGINS, parseOrigin } from './embed.ts'
import { PERIOD_KINDS } from './periods.ts'
import { parseRegionCode } from './regions.ts'
import type { RegionLevel } from './regions.ts'
import { EVENT_ACTIONS, EVENT_SOURCES, EVENT_STATUSES, ROLES, SATISFACTIONS } from './types.ts'
import type { EventSource, EventStatus } from './types.ts'

/** Every error code the API answers with (`{"error":{"code","message","details"?}}`). */
export const ERROR_CODES = [
  'bad_request',
  'invalid_query',
  'invalid_body',
  'unauthorized',
  'forbidden',
  'not_found',
  'invalid_transition',
  'missing_field',
  'invalid_field',
  'conflict',
  'internal',
  'not_ready',
  'payload_too_large',
  'rate_limited',
  'store_unavailable',
] as const
export type ErrorCode = (typeof ERROR_CODES)[number]

/** An ISO 8601 date-time with an offset (`Z` or `±HH:MM`), parsed to epoch ms. */
export const isoInstantSchema = z.iso
  .datetime({ offset: true, error: 'expected an ISO 8601 date-time with an offset' })
  .transform((s, ctx) => {
    const ms = Date.parse(s)
    if (Number.isNaN(ms)) {
      ctx.issues.push({ code: 'custom', message: 'not a real date-time', input: s })
      return z.NEVER
    }
    return ms
  })

/** A region code of any level (or only of `level`), normalised. */
export function regionCodeSchema(level?: RegionLevel) {
  return z.string().transform((s, ctx) => {
    const p = parseRegionCode(s)
    if (!p.ok) ctx.issues.push({ code: 'custom', message: p.reason, input: s })
    else if (level && p.level !== level)
      ctx.issues.push({ code: 'custom', message: `expected a ${level} code`, input: s })
    else return p.code
    return z.NEVER
  })
}

/** An integer given as a number or a digit string (query strings), within [min, max]. */
function intSchema(min: number, max: number) {
  return z
    .union([
      z.number(),
      z
        .string()
        .regex(/^-?\d+$/, 'expected an integer')
        .transform(Number),
    ])
    .pipe(z.number().int().min(min).max(max))
}

/** A comma-separated list, each item trimmed and checked by `valid`; duplicates dropped. */
function commaList<T extends string>(what: string, valid: (s: string) => s is T) {
  return z.string().transform((s, ctx) => {
    const items = [
      ...new Set(
        s
          .split(',')
          .map((x) => x.trim())
          .filter((x) => x !== ''),
      ),
    ]
    const bad = items.filter((x) => !valid(x))
    if (items.length === 0)
      ctx.issues.push({ code: 'custom', message: `expected a comma list of ${what}`, input: s })
    else if (bad.length > 0)
      ctx.issues.push({ code: 'custom', message: `unknown ${what}: ${bad.join(', ')}`, input: s })
    else return items as T[]
    return z.NEVER
  })
}

const isStatus = (s: string): s is EventStatus => (EVENT_STATUSES as readonly string[]).includes(s)
const isSource = (s: string): s is EventSource => (EVENT_SOURCES as readonly string[]).includes(s)

/**
 * The longest period any query may span, and how far back an `at` may lie: every read of a period
 * is bounded work, whatever a token asks (a century would hold the store for seconds).
 */
export const MAX_PERIOD_DAYS = 400
export const MAX_PERIOD_MS = MAX_PERIOD_DAYS * 86_400_000

/** Refine a schema with optional from/to so that from < to, and at most MAX_PERIOD_DAYS apart, when both are given. */
function orderedPeriod<T extends { from?: number; to?: number }>(v: T, ctx: z.RefinementCtx): void {
  if (v.from === undefined || v.to === undefined) return
  if (!(v.from < v.to))
    ctx.addIssue({ code: 'custom', message: 'from must be earlier than to', path: ['to'], input: v })
  else if (v.to - v.from > MAX_PERIOD_MS)
    ctx.addIssue({
      code: 'custom',
      message: `the period from–to may span at most ${MAX_PERIOD_DAYS} days`,
      path: ['from'],
      input: v,
    })
}

/** `GET /api/v1/events` query. */
export const eventsQuerySchema = z
  .object({
    region: regionCodeSchema().optional(),
    status: commaList('statuses', isStatus).optional(),
    category: commaList('category codes', isCategoryCode).optional(),
    source: commaList('sources', isSource).optional(),
    /** `true`: only events overdue now (dispatched, past their deadline). */
    overdue: z
      .enum(['true', 'false'])
      .transform((v) => v === 'true')
      .optional(),
    from: isoInstantSchema.optional(),
    to: isoInstantSchema.optional(),
    cursor: z.string().min(1).max(512).optional(),
    limit: intSchema(1, 1000).default(100),
  })
  .superRefine(orderedPeriod)

/** `GET /api/v1/changes` query. */
export const changesQuerySchema = z.object({
  after: intSchema(0, Number.MAX_SAFE_INTEGER).default(0),
  limit: intSchema(1, 5000).default(1000),
})

/** `GET /api/v1/kpis` query. */
export const kpisQuerySchema = z
  .object({
    region: regionCodeSchema(),
    from: isoInstantSchema.optional(),
    to: isoInstantSchema.optional(),
    /** Read the figures as they stood at this past instant (default: now). */
    at: isoInstantSchema.optional(),
  })
  .superRefine(orderedPeriod)

/**
 * `GET /api/v1/brief` and `GET /api/v1/reports/brief.pdf` query: a region, a period (default this
 * month; `custom` with `from` and `to`), and optionally the instant `at` to read it as it stood then.
 */
export const briefQuerySchema = z
  .object({
    region: regionCodeSchema(),
    period: z.enum(PERIOD_KINDS).default('month'),
    from: isoInstantSchema.optional(),
    to: isoInstantSchema.optional(),
    at: isoInstantSchema.optional(),
  })
  .superRefine(orderedPeriod)
  .superRefine((v, ctx) => {
    if (v.period === 'custom' && (v.from === undefined || v.to === undefined))
      ctx.addIssue({
        code: 'custom',
        message: 'a custom period needs from and to',
        path: [v.from === undefined ? 'from' : 'to'],
        input: v,
      })
  })

/** `GET /api/v1/rankings` query; `region` (optional) limits the ranking to one district or street. */
export const rankingsQuerySchema = z
  .object({
    level: z.enum(['street', 'community']),
    region: regionCodeSchema().optional(),
    from: isoInstantSchema.optional(),
    to: isoInstantSchema.optional(),
  })
  .superRefine(orderedPeriod)

/** A ttl (seconds or '30m', '12h', '30d'…) parsed to seconds. */
export const ttlSchema = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const p = parseTtl(v)
  if (p.ok) return p.seconds
  ctx.issues.push({ code: 'custom', message: p.reason, input: v })
  return z.NEVER
})

/** The longest lifetime of a bearer token, whatever its role: 30 days. */
export const BEARER_TTL_MAX_SECONDS = 30 * 86_400

/**
 * `POST /api/v1/tokens` body. `actions` names the lifecycle actions an `ingest` source may take
 * (none by default); other roles take theirs from the role. The ttl cap is checked by the route,
 * which answers it with its own message.
 */
export const tokenRequestSchema = z
  .object({
    role: z.enum(ROLES),
    ttl: ttlSchema,
    region: regionCodeSchema().optional(),
    actions: z
      .array(z.enum(EVENT_ACTIONS))
      .max(EVENT_ACTIONS.length)
      .transform((a) => [...new Set(a)])
      .optional(),
  })
  .superRefine((v, ctx) => {
    if (v.actions && v.role !== 'ingest')
      ctx.addIssue({
        code: 'custom',
        path: ['actions'],
        message: 'actions are named on ingest tokens only',
        input: v.actions,
      })
  })

/** An exact host origin (`https://portal.example.gov.cn`), normalised as browsers send it. */
export const originSchema = z.string().transform((s, ctx) => {
  const p = parseOrigin(s)
  if (p.ok) return p.origin
  ctx.issues.push({ code: 'custom', message: p.reason, input: s })
  return z.NEVER
})

/**
 * `POST /api/v1/embed-tokens` body: the panels and region it shows, the portals' origins that may
 * frame it, its ttl and kind (default `key`). Duplicates are dropped. The ttl cap of its kind is
 * checked by the route, which answers it with its own message.
 */
export const embedTokenRequestSchema = z.object({
  panels: z
    .array(z.enum(EMBED_PANELS))
    .min(1)
    .max(EMBED_PANELS.length * 2)
    .transform((a) => [...new Set(a)]),
  region: regionCodeSchema(),
  origins: z
    .array(originSchema)
    .min(1)
    .max(MAX_EMBED_ORIGINS)
    .transform((a) => [...new Set(a)]),
  ttl: ttlSchema,
  kind: z.enum(EMBED_KINDS).default('key'),
})

export type EmbedTokenRequest = z.output<typeof embedTokenRequestSchema>

const reporterSchema = z.object({
  name: z.string().trim().max(50).optional(),
  phone: z
    .string()
    .trim()
    .max(32)
    .regex(/^[\d\s()+-]*$/, 'a phone number has digits, spaces, +, - and parentheses only')
    .optional(),
})

/** `POST /api/v1/events` body. */
export const reportEventSchema = z.object({
  category: z.string().refine(isCategoryCode, 'unknown category code'),
  description: z.string().trim().min(1).max(2000),
  lat: z.number().min(-90).max(90),
  lng: z.number().min(-180).max(180),
  source: z.enum(EVENT_SOURCES),
  reporter: reporterSchema.optional(),
  gridCode: regionCodeSchema('grid').optional(),
  reportedAt: isoInstantSchema.optional(),
})

/** `POST /api/v1/events/{id}/actions` body. Which fields an action needs is the lifecycle's check. */
export const actionSchema = z.object({
  action: z.enum(EVENT_ACTIONS),
  department: z.string().trim().min(1).max(100).optional(),
  passed: z.boolean().optional(),
  satisfaction: z.enum(SATISFACTIONS).optional(),
  note: z.string().max(500).optional(),
  until: isoInstantSchema.optional(),
})

/** `POST /api/v1/positions` body. */
export const positionsSchema = z.object({
  positions: z
    .array(
      z.object({
        workerId: z.string().min(1).max(64),
        lat: z.number().min(-90).max(90),
        lng: z.number().min(-180).max(180),
        at: isoInstantSchema,
      }),
    )
    .min(1)
    .max(5000),
})

export type EventsQuery = z.output<typeof eventsQuerySchema>
export type ChangesQuery = z.output<typeof changesQuerySchema>
export type KpisQuery = z.output<typeof kpisQuerySchema>
export type RankingsQuery = z.output<typeof rankingsQuerySchema>
export type BriefQuery = z.output<typeof briefQuerySchema>
export type TokenRequest = z.output<typeof tokenRequestSchema>

/** One row of `GET /api/v1/tokens`: an issued token's registry entry, never the token itself. */
export interface IssuedTokenEntry {
  jti: string
  role: string
  region: string | null
  aud: string
  actions?: string[]
  /** ISO 8601 with the city's offset. */
  issuedAt: string
  expiresAt: string
  revoked: boolean
}
export type ReportEventBody = z.output<typeof reportEventSchema>
export type ActionBody = z.output<typeof actionSchema>
export type PositionsBody = z.output<typeof positionsSchema>

/** `GET /api/v1/regions/{code}/geo` query: `level` asks for every unit of that level below the region. */
export const regionGeoQuerySchema = z.object({
  level: z.enum(['street', 'community', 'grid']).optional(),
})

/**
 * `GET /api/v1/stats` query: `region` defaults to the token's scope, else the district; `hours` is
 * how many whole local hours the hourly series covers, ending with the current one.
 */
export const statsQuerySchema = z.object({
  region: regionCodeSchema().optional(),
  hours: intSchema(1, 72).default(24),
})

/** `GET /api/v1/facilities` query: `region` defaults to the token's scope, else the district. */
export const facilitiesQuerySchema = z.object({
  region: regionCodeSchema().optional(),
})

export type RegionGeoQuery = z.output<typeof regionGeoQuerySchema>
export type StatsQuery = z.output<typeof statsQuerySchema>
export type FacilitiesQuery = z.output<typeof facilitiesQuerySchema>
