/**
 * Shared helpers of the server tests: a temporary data directory, a config for tests, a system with a
 * fixed clock, JSON requests through `app.request()` (no port) and token minting with the admin token.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChangeAction, EventStatus, Role, Satisfaction } from '../../shared/types.ts'
import { parseConfig, type Config } from '../../server/config.ts'
import { createSystem, type System } from '../../server/system.ts'

/** The fixed admin bearer token every test system is configured with (32 characters). */
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcde'

export const SIM_SEED = 20260101

/**
 * Where the clock of a simulating test server starts (SIM_CLOCK_START): a fixed instant, so a run
 * does not depend on the hour it is started at (the simulated volume falls about 25× at night).
 * `TEST_CLOCK_START=2026-11-29T00:02:00+08:00 npm test` runs the suite just after midnight on a Sunday.
 * The default is a working Wednesday afternoon, the same instant as FIXED_NOW.
 */
export const CLOCK_START = process.env.TEST_CLOCK_START ?? '2026-11-25T15:30:00+08:00'

/** A fresh temporary directory; `remove()` deletes it. */
export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `city-brain-${prefix}-`))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

/** The environment of a test server: simulator on, short backfill, fixed seed, silent logs. */
export function testEnv(dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATA_DIR: dataDir,
    SIMULATE: '1',
    BACKFILL_DAYS: '3',
    SIM_SEED: String(SIM_SEED),
    SIM_CLOCK_START: CLOCK_START,
    LOG_LEVEL: 'silent',
    ADMIN_TOKEN,
    ...extra,
  }
}

export function testConfig(dataDir: string, extra: Record<string, string> = {}): Config {
  const parsed = parseConfig(testEnv(dataDir, extra))
  if (!parsed.ok) throw new Error(`test config invalid: ${parsed.errors.join('; ')}`)
  return parsed.config
}

/**
 * A fixed instant: Wednesday 2026-11-25 15:30 in Asia/Shanghai (a working day, inside working hours,
 * during the afternoon patrol round).
 */
export const FIXED_NOW = Date.parse('2026-11-25T15:30:00+08:00')

/** A clock tests can move by hand; it only moves when told. */
export function manualClock(start = FIXED_NOW): { now: () => number; set: (ms: number) => void } {
  let t = start
  return { now: () => t, set: (ms) => void (t = ms) }
}

/** A system on a temporary data directory with a fixed clock (the simulator never runs ahead). */
export async function createTestSystem(opts: { env?: Record<string, string>; now?: number } = {}): Promise<{
  system: System
  dataDir: string
  clock: ReturnType<typeof manualClock>
  cleanup: () => Promise<void>
}> {
  const dir = tempDir('sys')
  const clock = manualClock(opts.now ?? FIXED_NOW)
  const system = await createSystem(testConfig(dir.path, opts.env), { clock })
  await system.start()
  return {
    system,
    dataDir: dir.path,
    clock,
    cleanup: async () => {
      await system.stop()
      dir.remove()
    },
  }
}

/** Something with Hono's `request(path, init)`. */
export interface Requester {
  request(input: string, init?: RequestInit): Response | Promise<Response>
}

export interface JsonResponse<T> {
  status: number
  headers: Headers
  body: T
}

/** The error body every failure answers with. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown }
}

/** A JSON request through `app.request()`; a body object is sent as JSON. */
export async function call<T = unknown>(
  app: Requester,
  path: string,
  opts: { token?: string; method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...opts.headers }
  if (opts.token) headers.authorization = `Bearer ${opts.token}`
  if (opts.body !== undefined) headers['content-type'] = 'application/json'
  const res = await app.request(path, {
    method: opts.method ?? (opts.body !== undefined ? 'POST' : 'GET'),
    headers,
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  })
  const text = await res.text()
  let body: unknown = text
  if ((res.headers.get('content-type') ?? '').includes('json')) body = JSON.parse(text)
  return { status: res.status, headers: res.headers, body: body as T }
}

/** Mint a token over HTTP with the admin token. */
export async function mintToken(
  app: Requester,
  role: Role,
  opts: { ttl?: number | string; region?: string } = {},
): Promise<string> {
  const r = await call<{ token: string }>(app, '/api/v1/tokens', {
    token: ADMIN_TOKEN,
    body: { role, ttl: opts.ttl ?? '1h', ...(opts.region ? { region: opts.region } : {}) },
  })
  if (r.status !== 201)
    throw new Error(`minting a ${role} token failed: ${r.status} ${JSON.stringify(r.body)}`)
  return r.body.token
}

/** `fetch` against a real server as a Requester. */
export function httpRequester(base: string): Requester {
  return { request: (path, init) => fetch(base + path, init) }
}

/** ISO 8601 with the +08:00 offset of Asia/Shanghai, URL-encoded for a query string. */
export const isoQ = (ms: number): string =>
  encodeURIComponent(new Date(ms + 8 * 3_600_000).toISOString().replace('Z', '+08:00'))

/** Epoch ms of an ISO string from the API, or null. */
export const ms = (iso: string | null | undefined): number | null =>
  iso === null || iso === undefined ? null : Date.parse(iso)

/** An event as the API renders it (`server/http/render.ts`). */
export interface ApiEvent {
  id: string
  seq: number
  status: EventStatus
  category: string
  description: string
  lat: number
  lng: number
  gridCode: string
  source: string
  reporter?: { name?: string; phone?: string }
  reportedAt: string
  updatedAt: string
  firstDispatchedAt: string | null
  dispatchedAt: string | null
  deadline: string | null
  handledAt: string | null
  closedAt: string | null
  cancelledAt: string | null
  department: string | null
  reworkCount: number
  extensionCount: number
  returnCount: number
  satisfaction: Satisfaction | null
  evaluatedAt: string | null
  overdue: boolean
}

/** One entry of `/api/v1/changes` or of an event's timeline. */
export interface ApiChange {
  seq: number
  at: string
  eventId: string
  gridCode: string
  action: ChangeAction
  status: EventStatus
  data?: {
    department?: string
    passed?: boolean
    satisfaction?: Satisfaction
    until?: string
    note?: string
    deadline?: string
  }
}

/** Every page of `/api/v1/events` for a query, following `next` cursors. */
export async function allEvents<E = ApiEvent>(
  app: Requester,
  token: string,
  query: string,
  limit = 1000,
): Promise<E[]> {
  const out: E[] = []
  let cursor: string | null = null
  for (;;) {
    const q = `${query ? query + '&' : ''}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`
    const r: JsonResponse<{ events: E[]; next: string | null }> = await call(app, `/api/v1/events?${q}`, {
      token,
    })
    if (r.status !== 200) throw new Error(`GET /api/v1/events?${q}: ${r.status} ${JSON.stringify(r.body)}`)
    out.push(...r.body.events)
    if (!r.body.next) return out
    cursor = r.body.next
  }
}

/** The whole change log from `after`, following `next`. */
export async function allChanges<C = ApiChange>(app: Requester, token: string, after = 0): Promise<C[]> {
  const out: C[] = []
  let next = after
  for (;;) {
    const r = await call<{ changes: C[]; next: number }>(app, `/api/v1/changes?after=${next}&limit=5000`, {
      token,
    })
    if (r.status !== 200) throw new Error(`GET /api/v1/changes: ${r.status}`)
    out.push(...r.body.changes)
    if (r.body.changes.length === 0 || r.body.next === next) return out
    next = r.body.next
  }
}
