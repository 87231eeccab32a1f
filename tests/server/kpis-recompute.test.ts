/**
 * Acceptance: for any region and period, every value of `/api/v1/kpis` equals a recomputation from
 * `/api/v1/events` by DESIGN.md §2's definitions, at the same `seq`.
 *
 * The recomputation below is written from DESIGN.md's table on the API's JSON, independently of
 * `shared/kpis.ts`. The system runs on a fixed clock, so neither the data nor "now" moves between
 * the requests. Patrol figures are not derivable from `/events`: they are recomputed from the raw
 * positions in the store (a direct, read-only SQLite query) with `shared/patrol.ts`'s round detection.
 */
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { detectRounds } from '../../shared/patrol.ts'
import { calendarOf, calendarSet } from '../../shared/calendars.ts'
import { DEFAULT_CALENDAR, workingHoursBetween } from '../../shared/working-time.ts'
import type { System } from '../../server/system.ts'
import {
  allChanges,
  allEvents,
  call,
  createTestSystem,
  FIXED_NOW,
  isoQ,
  mintToken,
  ms,
  type ApiChange,
  type ApiEvent,
} from './helpers.ts'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const NOW = FIXED_NOW
/** Local midnight (Asia/Shanghai, no DST) of the fixed day. */
const TODAY = Date.parse('2026-11-25T00:00:00+08:00')
const DISTRICT = '430602'

interface Values {
  reported: number
  dispatched: number
  disposalRate: number | null
  onTimeRate: number | null
  closeRate: number | null
  reworkRate: number | null
  extensionRate: number | null
  overdueRate: number | null
  overdueOpen: number
  satisfactionRate: number | null
  avgDisposalHours: number | null
  score: number | null
  patrolCoverage: number | null
  onlineWorkers: number
}

interface KpiBody {
  region: string
  from: string
  to: string
  seq: number
  values: Values
}

interface Patrol {
  grids: number
  gridsWithTwoRounds: number
  online: number
}

const rate = (n: number, d: number): number | null => (d === 0 ? null : n / d)
const inPeriod = (iso: string | null, from: number, to: number): boolean => {
  const t = ms(iso)
  return t !== null && t >= from && t < to
}

/**
 * The events some handling of which, made at or before `at`, came after the deadline in force when
 * it was made (the last deadline a change carried before it; a return clears it): from the log alone.
 */
function lateHandledAt(changes: ApiChange[], at: number): Set<string> {
  const deadline = new Map<string, number | null>()
  const late = new Set<string>()
  for (const c of [...changes].sort((a, b) => a.seq - b.seq)) {
    if (ms(c.at)! > at) continue
    const d = deadline.get(c.eventId) ?? null
    if (c.action === 'handle' && d !== null && ms(c.at)! > d) late.add(c.eventId)
    if (c.data?.deadline) deadline.set(c.eventId, ms(c.data.deadline))
    if (c.action === 'return') deadline.set(c.eventId, null)
  }
  return late
}

/**
 * DESIGN.md §2, line by line, over the region's events as the API renders them; `late`: the events
 * with a late handling (`lateHandledAt`), never on time however a rework ended.
 */
/** The default deployment's calendars: the office one with the shipped 放假调休 data. */
const CALENDARS = calendarSet(DEFAULT_CALENDAR)

function recompute(
  events: ApiEvent[],
  from: number,
  to: number,
  now: number,
  patrol: Patrol,
  late: ReadonlySet<string>,
): Values {
  const isOverdueNow = (e: ApiEvent) => e.status === 'dispatched' && now > ms(e.deadline)!
  const wasHandled = (e: ApiEvent) => e.status === 'handled' || e.status === 'closed'
  // The cohort: first dispatched in the period, less those cancelled after that dispatch.
  const cohort = events.filter((e) => inPeriod(e.firstDispatchedAt, from, to) && e.cancelledAt === null)
  const handled = cohort.filter(wasHandled)
  const onTime = handled.filter((e) => !late.has(e.id) && ms(e.handledAt)! <= ms(e.deadline)!)
  const d = cohort.length
  const disposalRate = rate(handled.length, d)
  const onTimeRate = rate(onTime.length, d)
  const reworkRate = rate(cohort.filter((e) => e.reworkCount > 0).length, d)
  const extensionRate = rate(cohort.filter((e) => e.extensionCount > 0).length, d)
  const overdueRate = rate(cohort.filter(isOverdueNow).length, d)
  const evaluations = events.filter((e) => inPeriod(e.evaluatedAt, from, to))
  const satisfied = evaluations.filter(
    (e) => e.satisfaction === 'satisfied' || e.satisfaction === 'very_satisfied',
  )
  // Hours on each category's own calendar (DESIGN.md §2: natural, extended or office time).
  let hours = 0
  for (const e of handled)
    hours += workingHoursBetween(
      ms(e.firstDispatchedAt)!,
      ms(e.handledAt)!,
      calendarOf(CALENDARS, e.category),
    )
  return {
    reported: events.filter((e) => inPeriod(e.reportedAt, from, to)).length,
    dispatched: d,
    disposalRate,
    onTimeRate,
    closeRate: rate(cohort.filter((e) => e.status === 'closed').length, d),
    reworkRate,
    extensionRate,
    overdueRate,
    overdueOpen: events.filter(isOverdueNow).length,
    satisfactionRate: rate(satisfied.length, evaluations.length),
    avgDisposalHours: handled.length === 0 ? null : hours / handled.length,
    score:
      d === 0
        ? null
        : 30 * disposalRate! +
          20 * onTimeRate! +
          20 * (1 - reworkRate!) +
          20 * (1 - overdueRate!) +
          10 * (1 - extensionRate!),
    patrolCoverage: rate(patrol.gridsWithTwoRounds, patrol.grids),
    onlineWorkers: patrol.online,
  }
}

/**
 * 双巡率 and 在岗网格员 from the raw pings of today. DESIGN.md: a round is ≥ 15 min of pings inside the
 * worker's own grid with gaps < 5 min. `literal` counts every such run up to now, including one still
 * going on; `ended` counts only runs that have ended (a later ping broke them, or 5 min of silence).
 */
function patrolFromPositions(
  system: System,
  db: Database.Database,
  region: string,
  dayStart = TODAY,
  now = NOW,
): { literal: Patrol; ended: Patrol } {
  const workers = db
    .prepare('SELECT id, grid_code AS grid FROM workers WHERE grid_code LIKE ? ORDER BY id')
    .all(region + '%') as { id: string; grid: string }[]
  const pingsOf = db.prepare(
    'SELECT at, lat, lng FROM positions WHERE worker_id = ? AND at >= ? AND at <= ? ORDER BY at',
  )
  const literal = new Map<string, number>()
  const ended = new Map<string, number>()
  let online = 0
  for (const w of workers) {
    const pings = (pingsOf.all(w.id, dayStart, now) as { at: number; lat: number; lng: number }[]).map(
      (p) => ({ ...p, inside: system.city.inGrid(w.grid, p.lng, p.lat) }),
    )
    const last = pings.at(-1)
    if (last && last.at >= now - 5 * 60_000) online++
    const rounds = detectRounds(pings)
    literal.set(w.grid, (literal.get(w.grid) ?? 0) + rounds.length)
    const over = rounds.filter((r) => r.endedAt < last!.at || now - r.endedAt >= 5 * 60_000)
    ended.set(w.grid, (ended.get(w.grid) ?? 0) + over.length)
  }
  const grids = new Set(workers.map((w) => w.grid)).size
  const twoOrMore = (m: Map<string, number>) => [...m.values()].filter((n) => n >= 2).length
  return {
    literal: { grids, gridsWithTwoRounds: twoOrMore(literal), online },
    ended: { grids, gridsWithTwoRounds: twoOrMore(ended), online },
  }
}

/**
 * Each event as it stood at `at`, folded from the API's change log by DESIGN.md §2's lifecycle,
 * written here from the definitions (not with `shared/lifecycle.ts`): an event exists once its
 * report is logged; its status is its last change's; the deadline is the last one a change carried
 * (a return clears it); handledAt is the standing handle while handled or closed; a failed
 * verification is a rework, an `extend` an extension; it closes by a passed verification or a
 * self-handle. Fields KPIs do not read are left as they are now.
 */
function eventsAt(changes: ApiChange[], now: ApiEvent[], at: number): ApiEvent[] {
  const current = new Map(now.map((e) => [e.id, e]))
  const byEvent = new Map<string, ApiChange[]>()
  for (const c of changes) {
    if (ms(c.at)! > at || !current.has(c.eventId)) continue
    const list = byEvent.get(c.eventId)
    if (list) list.push(c)
    else byEvent.set(c.eventId, [c])
  }
  const out: ApiEvent[] = []
  for (const [id, log] of byEvent) {
    log.sort((a, b) => a.seq - b.seq)
    expect(log[0]!.action, `${id} starts with its report`).toBe('report')
    let deadline: string | null = null
    let handle: string | null = null
    let evaluation: ApiChange | null = null
    let closing: string | null = null
    for (const c of log) {
      if (c.action === 'self_handle' || (c.action === 'verify' && c.data?.passed === true)) closing = c.at
      if (c.data?.deadline) deadline = c.data.deadline
      if (c.action === 'return') deadline = null
      if (c.action === 'handle' || c.action === 'self_handle') handle = c.at
      if (c.action === 'evaluate') evaluation = c
    }
    const last = log.at(-1)!
    const firstDispatch = log.find((c) => c.action === 'dispatch')
    out.push({
      ...current.get(id)!,
      seq: last.seq,
      status: last.status,
      reportedAt: log[0]!.at,
      updatedAt: last.at,
      firstDispatchedAt: firstDispatch?.at ?? null,
      cancelledAt: log.find((c) => c.action === 'cancel')?.at ?? null,
      deadline,
      handledAt: last.status === 'handled' || last.status === 'closed' ? handle : null,
      closedAt: last.status === 'closed' ? closing : null,
      reworkCount: log.filter((c) => c.action === 'verify' && c.data?.passed === false).length,
      extensionCount: log.filter((c) => c.action === 'extend').length,
      returnCount: log.filter((c) => c.action === 'return').length,
      satisfaction: evaluation?.data?.satisfaction ?? null,
      evaluatedAt: evaluation?.at ?? null,
    })
  }
  return out
}

function expectSameValues(
  actual: Values,
  expected: Values,
  label: string,
  skip: (keyof Values)[] = [],
): void {
  for (const key of Object.keys(expected) as (keyof Values)[]) {
    if (skip.includes(key)) continue
    const a = actual[key]
    const e = expected[key]
    if (e === null || a === null) expect(a, `${label} ${key}`).toBe(e)
    else expect(a, `${label} ${key}`).toBeCloseTo(e, 9)
  }
  expect(Object.keys(actual).sort(), `${label} keys`).toEqual(Object.keys(expected).sort())
}

describe('KPIs equal a recomputation from /api/v1/events by DESIGN.md §2', () => {
  let system: System
  let cleanup: () => Promise<void>
  let db: Database.Database
  let officer: string
  let district: ApiEvent[]

  beforeAll(async () => {
    const t = await createTestSystem()
    system = t.system
    cleanup = t.cleanup
    await system.startSimulation()
    officer = await mintToken(system.app, 'officer')
    district = await allEvents(system.app, officer, `region=${DISTRICT}`)
    db = new Database(join(t.dataDir, 'city-brain.sqlite'), { readonly: true, fileMustExist: true })
  })
  afterAll(async () => {
    db?.close()
    await cleanup?.()
  })

  const patrolCache = new Map<string, ReturnType<typeof patrolFromPositions>>()
  const patrolOf = (region: string) => {
    let p = patrolCache.get(region)
    if (!p) patrolCache.set(region, (p = patrolFromPositions(system, db, region)))
    return p
  }

  /** The regions under test: the district, two streets, a busy community and the busiest grid. */
  function regions(): string[] {
    const count = (len: number) => {
      const m = new Map<string, number>()
      for (const e of district) m.set(e.gridCode.slice(0, len), (m.get(e.gridCode.slice(0, len)) ?? 0) + 1)
      return [...m.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    }
    const community = count(12).find(([c]) => c.startsWith('430602001'))![0]
    return [DISTRICT, '430602001', '430602002', community, count(15)[0]![0]]
  }

  const period = (name: string, from: number, to: number, query = `&from=${isoQ(from)}&to=${isoQ(to)}`) => ({
    name,
    from,
    to,
    query,
  })
  const periods = [
    period('today (default)', TODAY, TODAY + DAY, ''),
    period('yesterday', TODAY - DAY, TODAY),
    period('last 3 days', NOW - 3 * DAY, NOW),
    period('last hour', NOW - HOUR, NOW),
  ]

  it('answers every region and period with the event figures and on-duty workers DESIGN.md defines, at one unmoving seq', async () => {
    const ready = await call<{ seq: number }>(system.app, '/readyz')
    const seq = ready.body.seq
    expect(seq).toBeGreaterThan(0)
    expect(Math.max(...district.map((e) => e.seq))).toBe(seq)
    const late = lateHandledAt(await allChanges(system.app, officer), NOW)
    let compared = 0
    for (const region of regions()) {
      const events = await allEvents(system.app, officer, `region=${region}`)
      // The region filter is the prefix rule: the same events as the district's, filtered.
      expect(events.map((e) => e.id).sort()).toEqual(
        district
          .filter((e) => e.gridCode.startsWith(region))
          .map((e) => e.id)
          .sort(),
      )
      expect(events.length, `events of ${region}`).toBeGreaterThan(0)
      const patrol = patrolOf(region).literal
      for (const p of periods) {
        const r = await call<KpiBody>(system.app, `/api/v1/kpis?region=${region}${p.query}`, {
          token: officer,
        })
        expect(r.status, `${region} ${p.name}`).toBe(200)
        expect(r.body.region).toBe(region)
        expect(ms(r.body.from)).toBe(p.from)
        expect(ms(r.body.to)).toBe(p.to)
        expect(r.body.seq, `${region} ${p.name} seq`).toBe(seq)
        const expected = recompute(events, p.from, p.to, NOW, patrol, late)
        expectSameValues(r.body.values, expected, `${region} ${p.name}`, ['patrolCoverage'])
        compared++
      }
    }
    expect(compared).toBe(20)
    // Nothing moved while we compared.
    expect((await call<{ seq: number }>(system.app, '/readyz')).body.seq).toBe(seq)
  })

  it('answers `at` in the past with the figures as they stood then: events folded from /changes, overdue, on duty and rounds at that instant', async () => {
    const seq = (await call<{ seq: number }>(system.app, '/readyz')).body.seq
    const changes = await allChanges(system.app, officer)
    // The fold of the log at now is the events as /events renders them: the fold below is sound.
    const folded = new Map(eventsAt(changes, district, NOW).map((e) => [e.id, e]))
    expect(folded.size).toBe(district.length)
    for (const e of district) {
      const f = folded.get(e.id)!
      for (const k of [
        'status',
        'reportedAt',
        'firstDispatchedAt',
        'cancelledAt',
        'deadline',
        'handledAt',
        'closedAt',
      ] as const)
        expect(f[k], `${e.id} ${k}`).toBe(e[k])
      for (const k of ['reworkCount', 'extensionCount', 'satisfaction', 'evaluatedAt'] as const)
        expect(f[k], `${e.id} ${k}`).toBe(e[k])
    }

    // Yesterday at this time (history: pings once a minute) and an hour ago (live pings).
    const instants = [
      { name: 'yesterday this time', at: NOW - DAY, dayStart: TODAY - DAY },
      { name: 'an hour ago', at: NOW - HOUR, dayStart: TODAY },
    ]
    let compared = 0
    for (const t of instants) {
      const then = eventsAt(changes, district, t.at)
      const late = lateHandledAt(changes, t.at)
      // An as-of answer stands at the last change made at or before its instant.
      const seqThen = Math.max(...changes.filter((c) => ms(c.at)! <= t.at).map((c) => c.seq))
      expect(seqThen, t.name).toBeLessThan(seq)
      const changedSince = district.filter((e) => ms(e.updatedAt)! > t.at)
      expect(changedSince.length, `${t.name}: events changed since`).toBeGreaterThan(50)
      expect(then.length, `${t.name}: events that existed`).toBeLessThan(district.length)
      for (const region of regions()) {
        const events = then.filter((e) => e.gridCode.startsWith(region))
        const patrol = patrolFromPositions(system, db, region, t.dayStart, t.at).literal
        for (const [name, from, to] of [
          ['the day so far (the wall)', t.dayStart, t.at],
          ['the whole day', t.dayStart, t.dayStart + DAY],
          ['three days before', t.at - 3 * DAY, t.at],
        ] as const) {
          const label = `${region} ${t.name}, ${name}`
          const r = await call<KpiBody & { at: string }>(
            system.app,
            `/api/v1/kpis?region=${region}&from=${isoQ(from)}&to=${isoQ(to)}&at=${isoQ(t.at)}`,
            { token: officer },
          )
          expect(r.status, label).toBe(200)
          expect(ms(r.body.at), label).toBe(t.at)
          expect(r.body.seq, label).toBe(seqThen)
          expectSameValues(r.body.values, recompute(events, from, to, t.at, patrol, late), label)
          compared++
        }
      }
      // Non-trivial: something was overdue and someone on duty at that instant.
      const district_ = await call<KpiBody>(
        system.app,
        `/api/v1/kpis?region=${DISTRICT}&from=${isoQ(t.dayStart)}&to=${isoQ(t.at)}&at=${isoQ(t.at)}`,
        { token: officer },
      )
      expect(district_.body.values.overdueOpen, t.name).toBeGreaterThan(0)
      expect(district_.body.values.onlineWorkers, t.name).toBeGreaterThan(0)
      // At 14:30 no grid has its afternoon round yet (the morning one only); at 15:30 some have.
      if (t.at === NOW - DAY) expect(district_.body.values.patrolCoverage, t.name).toBeGreaterThan(0)
    }
    expect(compared).toBe(30)
  })

  it('reads `at` omitted as now, and refuses `at` in the future with invalid_query', async () => {
    const now = await call<KpiBody & { at: string }>(system.app, `/api/v1/kpis?region=${DISTRICT}`, {
      token: officer,
    })
    expect(ms(now.body.at)).toBe(NOW)
    const atNow = await call<KpiBody>(system.app, `/api/v1/kpis?region=${DISTRICT}&at=${isoQ(NOW)}`, {
      token: officer,
    })
    expect(atNow.body.values).toEqual(now.body.values)
    const future = await call<{ error: { code: string; details: { path: string }[] } }>(
      system.app,
      `/api/v1/kpis?region=${DISTRICT}&at=${isoQ(NOW + 60_000)}`,
      { token: officer },
    )
    expect(future.status).toBe(400)
    expect(future.body.error.code).toBe('invalid_query')
    expect(future.body.error.details.map((d) => d.path)).toEqual(['at'])
  })

  it('counts 双巡率 by DESIGN.md: a grid with two runs of ≥ 15 min today has two rounds, even if one is still going on', async () => {
    const found: string[] = []
    for (const region of regions()) {
      const { literal, ended } = patrolOf(region)
      const r = await call<KpiBody>(system.app, `/api/v1/kpis?region=${region}`, { token: officer })
      const expected = literal.gridsWithTwoRounds / literal.grids
      if (r.body.values.patrolCoverage !== expected)
        found.push(
          `${region}: served ${r.body.values.patrolCoverage} = ${Math.round(r.body.values.patrolCoverage! * literal.grids)}/${literal.grids}, ` +
            `DESIGN gives ${expected} = ${literal.gridsWithTwoRounds}/${literal.grids} ` +
            `(counting only ended rounds: ${ended.gridsWithTwoRounds}/${ended.grids})`,
        )
    }
    expect(found).toEqual([])
  })

  it('agrees with the overdue flag and handled timestamps the API renders on each event', () => {
    for (const e of district) {
      expect(e.overdue, e.id).toBe(e.status === 'dispatched' && NOW > ms(e.deadline)!)
      expect(e.handledAt !== null, e.id).toBe(e.status === 'handled' || e.status === 'closed')
      if (e.firstDispatchedAt !== null) expect(e.deadline !== null || e.status !== 'dispatched').toBe(true)
    }
  })

  it('has non-trivial figures to compare: cohorts, overdue events, evaluations and patrols', async () => {
    const r = await call<KpiBody>(
      system.app,
      `/api/v1/kpis?region=${DISTRICT}&from=${isoQ(NOW - 3 * DAY)}&to=${isoQ(NOW)}`,
      { token: officer },
    )
    const v = r.body.values
    expect(v.dispatched).toBeGreaterThan(400) // a sizeable cohort (582 when this was written), not a handful
    expect(v.overdueOpen).toBeGreaterThan(0)
    expect(v.satisfactionRate).not.toBeNull()
    expect(v.avgDisposalHours).toBeGreaterThan(0)
    const today = await call<KpiBody>(system.app, `/api/v1/kpis?region=${DISTRICT}`, { token: officer })
    expect(today.body.values.patrolCoverage).toBeGreaterThan(0)
    expect(today.body.values.onlineWorkers).toBeGreaterThan(0)
  })

  it('simulates every state and action of the lifecycle in a realistic mix', async () => {
    const changes = await allChanges(system.app, officer)
    const actions = new Set(changes.map((c) => c.action))
    for (const a of [
      'report',
      'accept',
      'file',
      'cancel',
      'dispatch',
      'return',
      'extend',
      'handle',
      'verify',
      'evaluate',
      'self_handle',
    ] as const)
      expect(actions.has(a), `action ${a} in the change log`).toBe(true)
    const statuses = new Set(district.map((e) => e.status))
    for (const s of [
      'reported',
      'accepted',
      'filed',
      'dispatched',
      'handled',
      'closed',
      'cancelled',
    ] as const)
      expect(statuses.has(s), `status ${s}`).toBe(true)
    expect(changes.some((c) => c.action === 'verify' && c.data?.passed === false)).toBe(true)

    const dispatched = district.filter((e) => e.firstDispatchedAt !== null)
    const handled = dispatched.filter((e) => e.handledAt !== null)
    const late = handled.filter((e) => ms(e.handledAt)! > ms(e.deadline)!)
    const verified = dispatched.filter((e) => e.status === 'closed' || e.reworkCount > 0)
    const reworked = dispatched.filter((e) => e.reworkCount > 0)
    const evaluated = district.filter((e) => e.satisfaction !== null)
    const satisfied = evaluated.filter((e) => e.satisfaction !== 'dissatisfied')
    const figures = {
      events: district.length,
      changes: changes.length,
      dispatched: dispatched.length,
      handled: handled.length,
      lateShareOfHandled: late.length / handled.length,
      reworked: reworked.length,
      reworkShareOfVerified: reworked.length / verified.length,
      reworkShareOfDispatched: reworked.length / dispatched.length,
      extended: dispatched.filter((e) => e.extensionCount > 0).length,
      returned: dispatched.filter((e) => e.returnCount > 0).length,
      cancelled: district.filter((e) => e.status === 'cancelled').length,
      selfHandled: district.filter((e) => e.status === 'closed' && e.firstDispatchedAt === null).length,
      evaluated: evaluated.length,
      satisfaction: satisfied.length / evaluated.length,
      byStatus: Object.fromEntries(
        [...statuses].map((s) => [s, district.filter((e) => e.status === s).length]),
      ),
    }
    console.info('simulated data', JSON.stringify(figures))
    expect(figures.reworked).toBeGreaterThan(0)
    expect(figures.extended).toBeGreaterThan(0)
    expect(figures.returned).toBeGreaterThan(0)
    expect(figures.cancelled).toBeGreaterThan(0)
    expect(figures.lateShareOfHandled).toBeGreaterThanOrEqual(0.05)
    expect(figures.lateShareOfHandled).toBeLessThanOrEqual(0.15)
    expect(figures.reworkShareOfVerified).toBeGreaterThanOrEqual(0.02)
    expect(figures.reworkShareOfVerified).toBeLessThanOrEqual(0.05)
    expect(figures.satisfaction).toBeGreaterThanOrEqual(0.95)
    expect(figures.satisfaction).toBeLessThanOrEqual(0.99)
  })
})
