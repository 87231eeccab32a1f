/**
 * Issue 10, the rules where the lifecycle bends, through the real HTTP app and store:
 * a late handling stays late across rework (#1); 延期 only before the deadline, 回退 only within the
 * return window of the latest dispatch (on the category's calendar) and before the deadline (#2); an
 * event cancelled after its first dispatch leaves the cohort, in the HTTP figures and the live frames
 * alike (#3); the as-of details of `GET /api/v1/kpis` and the report age limit (#8); and every change
 * recording its actor (#10).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { calendarSet } from '../../shared/calendars.ts'
import type { KpiFrame } from '../../shared/live.ts'
import type { Actor } from '../../shared/types.ts'
import { parseConfig } from '../../server/config.ts'
import { createEventService } from '../../server/domain/event-service.ts'
import {
  ADMIN_TOKEN,
  allChanges,
  call,
  createTestSystem,
  manualClock,
  mintToken,
  ms,
  tempDir,
  testEnv,
  type ApiChange,
  type ApiEvent,
  type ErrorBody,
} from './helpers.ts'
import { connectSynced, DISTRICT, startLiveServer, until, type LiveTestServer } from './live-helpers.ts'

const HOUR = 3_600_000
const MIN = 60_000
/** An instant in Asia/Shanghai. */
const sh = (s: string): number => Date.parse(`${s}+08:00`)
const iso8 = (t: number): string => new Date(t + 8 * HOUR).toISOString().replace('Z', '+08:00')
const q = (t: number): string => encodeURIComponent(iso8(t))

interface Kpis {
  region: string
  from: string
  to: string
  at: string
  seq: number
  values: KpiFrame['values']
}
type ActorChange = ApiChange & { actor: Actor | null }

const clock = manualClock(sh('2026-11-25T08:00:00'))
const dir = tempDir('lifecycle-rules')
let srv: LiveTestServer
let officer: string
let officerJti: string
let gridNo = 0
/** A grid no other test of this file uses, so its figures are the test's own. */
const freshGrid = () => srv.system.city.gridsOf(DISTRICT)[gridNo++ * 7]!.code

beforeAll(async () => {
  srv = await startLiveServer({ clock, dataDir: dir.path })
  officer = await mintToken(srv.system.app, 'officer')
  officerJti = (JSON.parse(Buffer.from(officer.split('.')[1]!, 'base64url').toString()) as { jti: string })
    .jti
})
afterAll(async () => {
  await srv?.stop()
  dir.remove()
})

const app = () => srv.system.app

async function report(
  grid: string,
  o: { category?: string; at?: number; token?: string; reportedAt?: number } = {},
): Promise<ApiEvent> {
  if (o.at !== undefined) clock.set(o.at)
  const g = srv.system.city.region(grid)!
  const r = await call<ApiEvent>(app(), '/api/v1/events', {
    token: o.token ?? officer,
    body: {
      category: o.category ?? 'CG0101',
      description: 'issue 10',
      lat: g.centroid[1],
      lng: g.centroid[0],
      gridCode: grid,
      source: 'patrol',
      ...(o.reportedAt !== undefined ? { reportedAt: iso8(o.reportedAt) } : {}),
    },
  })
  if (r.status !== 201) throw new Error(`report: ${r.status} ${JSON.stringify(r.body)}`)
  return r.body
}

/** Take an action over HTTP at instant `at` (the clock is set there first). */
async function act(id: string, at: number, body: Record<string, unknown>, token = officer) {
  clock.set(at)
  return call<ApiEvent & ErrorBody>(app(), `/api/v1/events/${id}/actions`, { token, body })
}

/** Report, accept and file at `at`, dispatch at `dispatchAt`. */
async function dispatched(grid: string, at: number, dispatchAt: number, category = 'CG0101') {
  const e = await report(grid, { at, category })
  await act(e.id, at, { action: 'accept' })
  await act(e.id, at, { action: 'file' })
  const d = await act(e.id, dispatchAt, { action: 'dispatch', department: '环卫处' })
  expect(d.status).toBe(200)
  return d.body
}

const kpis = (query: string) => call<Kpis>(app(), `/api/v1/kpis?${query}`, { token: officer })

describe('#1 a failed verification does not erase lateness', () => {
  it('a late handling stays late after a rework and an on-time re-handle: handled, not on time', async () => {
    const grid = freshGrid()
    // CG0101 (4 h) counts on the 7-day extended day 07:00–21:00: dispatched 09:00, due 13:00.
    const e = await dispatched(grid, sh('2026-11-25T08:50:00'), sh('2026-11-25T09:00:00'))
    expect(ms(e.deadline)).toBe(sh('2026-11-25T13:00:00'))
    await act(e.id, sh('2026-11-25T14:00:00'), { action: 'handle' })
    const rework = await act(e.id, sh('2026-11-25T14:10:00'), { action: 'verify', passed: false })
    expect(ms(rework.body.deadline)).toBe(sh('2026-11-25T18:10:00'))
    await act(e.id, sh('2026-11-25T14:20:00'), { action: 'handle' })
    expect((await act(e.id, sh('2026-11-25T14:30:00'), { action: 'verify', passed: true })).status).toBe(200)
    const r = await kpis(
      `region=${grid}&from=${q(sh('2026-11-25T00:00:00'))}&to=${q(sh('2026-11-26T00:00:00'))}`,
    )
    expect(r.status).toBe(200)
    expect(r.body.values).toMatchObject({ dispatched: 1, disposalRate: 1, onTimeRate: 0, reworkRate: 1 })
  })
})

describe('#2 extensions and returns are bound in time', () => {
  it('extend is taken before the deadline in force and refused after it with 409, nothing written', async () => {
    const e = await dispatched(freshGrid(), sh('2026-11-25T08:50:00'), sh('2026-11-25T09:00:00'))
    const ok = await act(e.id, sh('2026-11-25T12:59:00'), { action: 'extend' })
    expect(ok.status).toBe(200)
    expect(ms(ok.body.deadline)).toBe(sh('2026-11-25T17:00:00'))
    const late = await act(e.id, sh('2026-11-25T17:01:00'), { action: 'extend' })
    expect(late.status).toBe(409)
    expect(late.body.error.code).toBe('invalid_transition')
    expect(late.body.error.message).toMatch(/期限/)
    const en = await call<ErrorBody>(app(), `/api/v1/events/${e.id}/actions?lang=en`, {
      token: officer,
      body: { action: 'extend' },
    })
    expect(en.body.error.message).toMatch(/deadline/)
    const now = await call<ApiEvent>(app(), `/api/v1/events/${e.id}`, { token: officer })
    expect(now.body).toMatchObject({ extensionCount: 1, overdue: true, seq: ok.body.seq })
  })

  it('return is allowed within 2 working hours of the dispatch on the category’s calendar, refused after', async () => {
    // Dispatched 20:30 on the extended day (07:00–21:00): 30 min that evening, the window ends 08:30.
    const a = await dispatched(freshGrid(), sh('2026-11-25T20:20:00'), sh('2026-11-25T20:30:00'))
    const b = await dispatched(freshGrid(), sh('2026-11-25T20:20:00'), sh('2026-11-25T20:30:00'))
    expect((await act(a.id, sh('2026-11-26T08:30:00'), { action: 'return' })).status).toBe(200)
    const late = await act(b.id, sh('2026-11-26T08:31:00'), { action: 'return' })
    expect(late.status).toBe(409)
    expect(late.body.error.code).toBe('invalid_transition')
    expect(late.body.error.message).toContain('2 个工作小时')
    expect((await call<ApiEvent>(app(), `/api/v1/events/${b.id}`, { token: officer })).body.status).toBe(
      'dispatched',
    )
  })

  it('the window runs from the latest dispatch: a re-dispatch after a return opens it again', async () => {
    const e = await dispatched(freshGrid(), sh('2026-11-25T08:50:00'), sh('2026-11-25T09:00:00'))
    await act(e.id, sh('2026-11-25T10:00:00'), { action: 'return' })
    await act(e.id, sh('2026-11-25T10:30:00'), { action: 'dispatch', department: '城管执法局' })
    expect((await act(e.id, sh('2026-11-25T12:00:00'), { action: 'return' })).status).toBe(200)
  })

  it('RETURN_WINDOW_HOURS sets the window, and a return after the deadline is refused inside it', async () => {
    const base = testEnv(dir.path)
    const parsed = (env: Record<string, string>) => parseConfig({ ...base, ...env })
    const defaults = parsed({})
    expect(defaults.ok && defaults.config).toMatchObject({ returnWindowHours: 2, reportMaxAgeHours: 72 })
    const three = parsed({ RETURN_WINDOW_HOURS: '3' })
    expect(three.ok && three.config.returnWindowHours).toBe(3)
    expect(parsed({ RETURN_WINDOW_HOURS: '-1' }).ok).toBe(false)
    expect(parsed({ REPORT_MAX_AGE_HOURS: '0' }).ok).toBe(false)

    const events = createEventService({
      store: srv.system.store,
      clock,
      calendars: calendarSet(srv.config.calendar),
      city: srv.system.city,
      returnWindowHours: 3,
    })
    // CG0101 due 13:00: returned at 11:30 inside the 3-hour window (the default 2 h would refuse).
    const wide = await dispatched(freshGrid(), sh('2026-11-25T08:50:00'), sh('2026-11-25T09:00:00'))
    clock.set(sh('2026-11-25T11:30:00'))
    expect((await events.act(wide.id, { action: 'return' })).event.status).toBe('filed')
    // CG0103 (道路保洁, 2 h) due 11:00: at 11:30 the window is open but the deadline has passed.
    const short = await dispatched(
      freshGrid(),
      sh('2026-11-25T08:50:00'),
      sh('2026-11-25T09:00:00'),
      'CG0103',
    )
    clock.set(sh('2026-11-25T11:30:00'))
    await expect(events.act(short.id, { action: 'return' })).rejects.toMatchObject({
      status: 409,
      code: 'invalid_transition',
    })
  })
})

describe('#3 an event cancelled after its first dispatch leaves the cohort', () => {
  it('dispatch → return → cancel: still reported, no longer to be handled; as of before the cancel it was', async () => {
    const grid = freshGrid()
    const e = await dispatched(grid, sh('2026-11-25T09:00:00'), sh('2026-11-25T09:10:00'))
    await act(e.id, sh('2026-11-25T09:20:00'), { action: 'return' })
    expect((await act(e.id, sh('2026-11-25T09:30:00'), { action: 'cancel' })).status).toBe(200)
    clock.set(sh('2026-11-25T10:00:00'))
    const day = `from=${q(sh('2026-11-25T00:00:00'))}&to=${q(sh('2026-11-26T00:00:00'))}`
    const now = await kpis(`region=${grid}&${day}`)
    expect(now.body.values).toMatchObject({ reported: 1, dispatched: 0, disposalRate: null })
    const before = await kpis(`region=${grid}&${day}&at=${q(sh('2026-11-25T09:25:00'))}`)
    expect(before.body.values).toMatchObject({ reported: 1, dispatched: 1, disposalRate: 0 })
  })
})

describe('#8 as-of details and the report age limit', () => {
  it('?at= without a period means the local day of at, and seq is the last change at or before at', async () => {
    const grid = freshGrid()
    await report(grid, { at: sh('2026-11-25T15:00:00') })
    await report(grid, { at: sh('2026-11-25T17:00:00') })
    clock.set(sh('2026-11-26T10:00:00'))
    const at = sh('2026-11-25T16:00:00')
    const r = await kpis(`region=${grid}&at=${q(at)}`)
    expect(r.status).toBe(200)
    // The period is the local day of at up to at (half-open, as every period).
    expect([ms(r.body.from), ms(r.body.to), ms(r.body.at)]).toEqual([sh('2026-11-25T00:00:00'), at, at])
    expect(r.body.values.reported).toBe(1)
    const log = await allChanges(app(), officer)
    const expected = Math.max(...log.filter((c) => ms(c.at)! <= at).map((c) => c.seq))
    expect(expected).toBeLessThan(Math.max(...log.map((c) => c.seq)))
    expect(r.body.seq).toBe(expected)
  })

  it('refuses a report dated more than 72 h back with 422 and a bilingual message', async () => {
    const now = sh('2026-11-26T10:00:00')
    clock.set(now)
    const grid = freshGrid()
    expect((await report(grid, { reportedAt: now - 72 * HOUR })).status).toBe('reported')
    const g = srv.system.city.region(grid)!
    const body = {
      category: 'CG0101',
      description: 'old',
      lat: g.centroid[1],
      lng: g.centroid[0],
      gridCode: grid,
      source: 'patrol',
      reportedAt: iso8(now - 72 * HOUR - MIN),
    }
    const zh = await call<ErrorBody>(app(), '/api/v1/events', { token: officer, body })
    expect(zh.status).toBe(422)
    expect(zh.body.error.code).toBe('invalid_field')
    expect(zh.body.error.message).toMatch(/72 小时/)
    const en = await call<ErrorBody>(app(), '/api/v1/events?lang=en', { token: officer, body })
    expect(en.body.error.message).toMatch(/72 hours/)
  })

  it('REPORT_MAX_AGE_HOURS sets the limit; the simulator’s backfill may replay older history', async () => {
    const now = sh('2026-11-26T10:00:00')
    clock.set(now)
    const events = createEventService({
      store: srv.system.store,
      clock,
      calendars: calendarSet(srv.config.calendar),
      city: srv.system.city,
      reportMaxAgeHours: 1,
    })
    const g = srv.system.city.region(freshGrid())!
    const input = {
      category: 'CG0101',
      description: 'old',
      lat: g.centroid[1],
      lng: g.centroid[0],
      source: 'patrol' as const,
      reportedAt: now - 2 * HOUR,
    }
    await expect(events.report(input)).rejects.toMatchObject({ status: 422, code: 'invalid_field' })
    const replayed = await events.report(input, undefined, { backfill: true })
    expect(replayed.event.reportedAt).toBe(now - 2 * HOUR)
  })
})

describe('#8 default periods count local calendar days (a zone with daylight saving)', () => {
  it('to without from is one local day back, and rankings start on the 1st, across a DST change', async () => {
    const t = await createTestSystem({
      env: { TZ_CITY: 'Europe/Berlin', SIMULATE: '0' },
      now: Date.parse('2026-03-31T00:30:00+02:00'),
    })
    try {
      const r = await call<Kpis>(
        t.system.app,
        `/api/v1/kpis?region=430602&to=${encodeURIComponent('2026-03-30T00:00:00+02:00')}`,
        { token: ADMIN_TOKEN },
      )
      expect(r.status).toBe(200)
      expect(r.body.from).toBe('2026-03-29T00:00:00.000+01:00')
      const rank = await call<{ from: string }>(t.system.app, '/api/v1/rankings?level=street', {
        token: ADMIN_TOKEN,
      })
      expect(rank.body.from).toBe('2026-03-01T00:00:00.000+01:00')
    } finally {
      await t.cleanup()
    }
  })
})

describe('#10 every change records its actor', () => {
  it('names the token (its id and role, admin for the fixed admin token) in the log and the timeline', async () => {
    const grid = freshGrid()
    const e = await report(grid, { at: sh('2026-11-26T10:00:00') })
    await act(e.id, sh('2026-11-26T10:01:00'), { action: 'accept' }, ADMIN_TOKEN)
    const ingest = await call<{ token: string }>(app(), '/api/v1/tokens', {
      token: ADMIN_TOKEN,
      body: { role: 'ingest', ttl: '1h', actions: ['file'] },
    })
    const ingestToken = ingest.body.token
    expect(ingest.status).toBe(201)
    const ingestJti = (
      JSON.parse(Buffer.from(ingestToken.split('.')[1]!, 'base64url').toString()) as { jti: string }
    ).jti
    expect((await act(e.id, sh('2026-11-26T10:02:00'), { action: 'file' }, ingestToken)).status).toBe(200)
    const expected: Actor[] = [
      { kind: 'token', id: officerJti, role: 'officer' },
      { kind: 'token', id: 'admin', role: 'admin' },
      { kind: 'token', id: ingestJti, role: 'ingest' },
    ]
    const log = (await allChanges<ActorChange>(app(), officer)).filter((c) => c.eventId === e.id)
    expect(log.map((c) => c.actor)).toEqual(expected)
    const one = await call<{ timeline: ActorChange[] }>(app(), `/api/v1/events/${e.id}`, { token: officer })
    expect(one.body.timeline.map((c) => c.actor)).toEqual(expected)
  })

  it('a change made through the domain API without an actor shows actor null', async () => {
    const g = srv.system.city.region(freshGrid())!
    const r = await srv.system.events.report({
      category: 'CG0101',
      description: 'no actor',
      lat: g.centroid[1],
      lng: g.centroid[0],
      source: 'video',
    })
    const log = (await allChanges<ActorChange>(app(), officer)).filter((c) => c.eventId === r.event.id)
    expect(log).toHaveLength(1)
    expect(log[0]!.actor).toBeNull()
  })
})

describe('#3 live frames retract a cancelled event from the cohort', () => {
  it('the grid’s kpis frame after dispatch → return → cancel equals GET /api/v1/kpis: dispatched 0', async () => {
    clock.set(sh('2026-11-27T09:00:00'))
    const grid = freshGrid()
    const socket = await connectSynced(srv.base, { token: officer })
    try {
      expect((await socket.subscribe(grid)).ok).toBe(true)
      const e = await dispatched(grid, sh('2026-11-27T09:00:00'), sh('2026-11-27T09:10:00'))
      const frameAt = async (seq: number) => {
        await until(() => socket.of<KpiFrame>('kpis').at(-1)?.seq === seq, `a kpis frame at seq ${seq}`)
        return socket.of<KpiFrame>('kpis').at(-1)!
      }
      expect((await frameAt(e.seq)).values.dispatched).toBe(1)
      await act(e.id, sh('2026-11-27T09:20:00'), { action: 'return' })
      const cancelled = await act(e.id, sh('2026-11-27T09:30:00'), { action: 'cancel' })
      const frame = await frameAt(cancelled.body.seq)
      const http = await kpis(`region=${grid}`)
      expect(frame.values).toEqual(http.body.values)
      expect(frame.values).toMatchObject({ reported: 1, dispatched: 0 })
    } finally {
      socket.close()
    }
  })
})
