/** Configuration from environment variables (DESIGN.md §3), validated once at start. */
import { z } from 'zod'
import { DEFAULT_WEIGHTS, type ScoreWeights } from '../shared/kpis.ts'
import { officeCalendar } from '../shared/calendars.ts'
import type { WorkCalendar } from '../shared/working-time.ts'
import { LIVE_LIMITS } from './live/live-limits.ts'

const bool = z.enum(['1', '0', 'true', 'false']).transform((v) => v === '1' || v === 'true')
const positive = z.coerce.number().positive()
const dateList = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'dates as YYYY-MM-DD')))

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default('0.0.0.0'),
  DATA_DIR: z.string().default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'DATABASE_URL is a PostgreSQL URL, e.g. postgres://user@host:5432/db')
    .optional(),
  DATABASE_SCHEMA: z
    .string()
    .regex(
      /^[A-Za-z_][A-Za-z0-9_]{0,62}$/,
      'DATABASE_SCHEMA is a PostgreSQL schema name (letters, digits, _)',
    )
    .default('public'),
  REDIS_URL: z.string().optional(),
  SIMULATE: bool.default(true),
  SIM_SPEED: positive.max(10_000).default(1),
  SIM_SEED: z.coerce.number().int().default(20260101),
  SIM_CLOCK_START: z
    .string()
    .refine((s) => /(Z|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s)), {
      message: 'SIM_CLOCK_START is an ISO 8601 instant with an offset, e.g. 2026-11-29T00:02:00+08:00',
    })
    .optional(),
  SIM_EVENTS_PER_DAY: positive.max(1_000_000).default(1000),
  BACKFILL_DAYS: z.coerce.number().min(0).max(365).default(30),
  RETURN_WINDOW_HOURS: positive.max(24 * 365).default(2),
  REPORT_MAX_AGE_HOURS: positive.max(24 * 365).default(72),
  ADMIN_TOKEN: z.string().min(16, 'ADMIN_TOKEN needs at least 16 characters').optional(),
  TZ_CITY: z.string().default('Asia/Shanghai'),
  CITY: z
    .string()
    .regex(/^\d{6}$/, 'CITY is a 6-digit district code')
    .default('430602'),
  POSITION_RETENTION_DAYS: positive.max(3650).default(8),
  HOLIDAYS: dateList.default([]),
  EXTRA_WORKDAYS: dateList.default([]),
  PATROL_MIDDAY: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'PATROL_MIDDAY is a local time HH:MM, e.g. 12:00')
    .default('12:00')
    .transform((s) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3))),
  SCORE_WEIGHTS: z
    .string()
    .regex(
      /^\d+(\.\d+)?(,\d+(\.\d+)?){4}$/,
      'five comma-separated weights: disposal,onTime,rework,overdue,extension',
    )
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PUBLIC_URL: z.string().url().optional(),
  LIVE_MAX_BUFFERED_BYTES: z.coerce.number().int().min(65_536).default(LIVE_LIMITS.maxBufferedBytes),
  LIVE_MAX_CONNECTIONS_PER_IP: z.coerce.number().int().min(1).default(LIVE_LIMITS.maxConnectionsPerIp),
  LIVE_MAX_CONNECTIONS_PER_TOKEN: z.coerce.number().int().min(1).default(LIVE_LIMITS.maxConnectionsPerToken),
  RATE_LIMIT_PER_IP: z.coerce.number().int().min(1).default(1200),
  RATE_LIMIT_PER_TOKEN: z.coerce.number().int().min(1).default(600),
  RATE_LIMIT_WINDOW_S: z.coerce.number().int().min(1).max(86_400).default(60),
  TRUST_PROXY: z.coerce.number().int().min(0).max(10).default(0),
  ALLOWED_ORIGINS: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().url('ALLOWED_ORIGINS lists origins such as https://portal.example.gov.cn')))
    .default([]),
})

export interface Config {
  port: number
  host: string
  dataDir: string
  /** PostgreSQL (several processes on one database) instead of the embedded SQLite in dataDir. */
  databaseUrl?: string
  /** The PostgreSQL schema the tables live in. */
  databaseSchema: string
  redisUrl?: string
  simulate: boolean
  simSpeed: number
  simSeed: number
  /** Epoch ms the product's clock starts from on a fresh store (a fixed origin for tests and demos). */
  clockStart?: number
  simEventsPerDay: number
  backfillDays: number
  adminToken?: string
  city: string
  positionRetentionDays: number
  /** The office calendar (official 放假调休 plus HOLIDAYS / EXTRA_WORKDAYS); its zone is TZ_CITY. */
  calendar: WorkCalendar
  /** 回退 only within this many working hours of the latest dispatch (RETURN_WINDOW_HOURS). */
  returnWindowHours: number
  /** Reports dated further back than this many hours are refused (REPORT_MAX_AGE_HOURS). */
  reportMaxAgeHours: number
  /** 一日双巡's local midday, minutes after local midnight (PATROL_MIDDAY). */
  patrolMidday: number
  weights: ScoreWeights
  logLevel: string
  publicUrl?: string
  /** Browser origins allowed on the live stream besides the server's own. */
  allowedOrigins: string[]
  /** What one client may take of the live stream (bytes held for it, connections). */
  liveLimits: { maxBufferedBytes: number; maxConnectionsPerIp: number; maxConnectionsPerToken: number }
  /** API requests allowed per window per client IP and per token; proxies trusted for X-Forwarded-For. */
  rateLimits: { perIp: number; perToken: number; windowSeconds: number; trustProxy: number }
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; errors: string[] }

/** Parse `env` (process.env in production, a plain object in tests). */
export function parseConfig(env: Record<string, string | undefined>): ConfigResult {
  const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''))
  const r = schema.safeParse(clean)
  if (!r.success) return { ok: false, errors: r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) }
  const e = r.data
  try {
    new Intl.DateTimeFormat('en', { timeZone: e.TZ_CITY })
  } catch {
    return { ok: false, errors: [`TZ_CITY: unknown time zone ${e.TZ_CITY}`] }
  }
  // Processes on one PostgreSQL share one timeline: real time. An accelerated clock is per process.
  if (e.DATABASE_URL && e.SIMULATE && e.SIM_SPEED !== 1)
    return {
      ok: false,
      errors: [
        'SIM_SPEED: an accelerated simulator needs the embedded store (one process); with DATABASE_URL it runs in real time (SIM_SPEED=1)',
      ],
    }
  const w = e.SCORE_WEIGHTS?.split(',').map(Number)
  return {
    ok: true,
    config: {
      port: e.PORT,
      host: e.HOST,
      dataDir: e.DATA_DIR,
      ...(e.DATABASE_URL ? { databaseUrl: e.DATABASE_URL } : {}),
      databaseSchema: e.DATABASE_SCHEMA,
      ...(e.REDIS_URL ? { redisUrl: e.REDIS_URL } : {}),
      simulate: e.SIMULATE,
      simSpeed: e.SIM_SPEED,
      simSeed: e.SIM_SEED,
      ...(e.SIM_CLOCK_START ? { clockStart: Date.parse(e.SIM_CLOCK_START) } : {}),
      simEventsPerDay: e.SIM_EVENTS_PER_DAY,
      backfillDays: e.BACKFILL_DAYS,
      ...(e.ADMIN_TOKEN ? { adminToken: e.ADMIN_TOKEN } : {}),
      city: e.CITY,
      positionRetentionDays: e.POSITION_RETENTION_DAYS,
      returnWindowHours: e.RETURN_WINDOW_HOURS,
      reportMaxAgeHours: e.REPORT_MAX_AGE_HOURS,
      calendar: officeCalendar(e.TZ_CITY, e.HOLIDAYS, e.EXTRA_WORKDAYS),
      patrolMidday: e.PATROL_MIDDAY,
      weights: w
        ? { disposal: w[0]!, onTime: w[1]!, rework: w[2]!, overdue: w[3]!, extension: w[4]! }
        : { ...DEFAULT_WEIGHTS },
      logLevel: e.LOG_LEVEL,
      ...(e.PUBLIC_URL ? { publicUrl: e.PUBLIC_URL } : {}),
      allowedOrigins: e.ALLOWED_ORIGINS.map((o) => new URL(o).origin),
      liveLimits: {
        maxBufferedBytes: e.LIVE_MAX_BUFFERED_BYTES,
        maxConnectionsPerIp: e.LIVE_MAX_CONNECTIONS_PER_IP,
        maxConnectionsPerToken: e.LIVE_MAX_CONNECTIONS_PER_TOKEN,
      },
      rateLimits: {
        perIp: e.RATE_LIMIT_PER_IP,
        perToken: e.RATE_LIMIT_PER_TOKEN,
        windowSeconds: e.RATE_LIMIT_WINDOW_S,
        trustProxy: e.TRUST_PROXY,
      },
    },
  }
}
