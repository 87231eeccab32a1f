/**
 * Property (issue 10, acceptance): thousands of random lifecycles driven through the real domain API
 * over HTTP (random actions, refusals included, random times across weekends, the Mid-Autumn and
 * National Day holidays with their make-up working days, and midnights); at random instants, every
 * event-based KPI of `GET /api/v1/kpis?at=` for random regions equals an independent recomputation
 * from `GET /api/v1/changes` alone (`kpi-oracle.ts`, by DESIGN.md §2).
 *
 * Not compared: `patrolCoverage` and `onlineWorkers` are figures of patrol pings, which the change log
 * does not hold (no ping is sent here; `kpis-recompute.test.ts` checks them against the positions).
 *
 * Also checked on the way, by the same rules: every action is accepted or refused as DESIGN.md §2
 * says (where the text leaves a case open, both answers are allowed), a refused action logs nothing,
 * the logged deadlines are dispatch (or rework) + the category's limit on its family's calendar, and
 * the log itself follows the lifecycle.
 *
 * `KPI_PROPERTY_SEED=<n>` reproduces a run (the seed is printed); `KPI_PROPERTY_EVENTS=<n>` sets the
 * number of lifecycles.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CATEGORIES, CATEGORY_BY_CODE } from '../../shared/categories.ts'
import { calendarOf, calendarSet, type CalendarSet } from '../../shared/calendars.ts'
import { mulberry32, type Rng } from '../../shared/random.ts'
import {
  addWorkingTime,
  DEFAULT_CALENDAR,
  formatIsoWithOffset,
  startOfLocalDay,
  workingMillisBetween,
  type WorkCalendar,
} from '../../shared/working-time.ts'
import type { System } from '../../server/system.ts'
import { allChanges, call, createTestSystem, mintToken, ms, type ApiEvent } from './helpers.ts'
import {
  groupByEvent,
  foldEvent,
  nextStatus,
  oracleKpis,
  ORACLE_KEYS,
  parseChange,
  seqAt,
  type LogAnomaly,
  type LogChange,
  type OracleValues,
  type RawChange,
} from './kpi-oracle.ts'

const SEED = Number(process.env.KPI_PROPERTY_SEED ?? 20261001)
const LIFECYCLES = Number(process.env.KPI_PROPERTY_EVENTS ?? 2000)
const TZ = 'Asia/Shanghai'
const MINUTE = 60_000
const HOUR = 3_600_000
const DAY = 24 * HOUR
const DISTRICT = '430602'
/** Saturday 2026-09-19, the day before the make-up working Sunday of National Day. */
const START = Date.parse('2026-09-19T00:20:00+08:00')
/** Saturday 2026-10-10 (a make-up working day) late evening: 22 local days. */
const END = Date.parse('2026-10-10T22:40:00+08:00')
/** Instants at which the figures are read during the run (now) and after it (in the past). */
const LIVE_CHECKS = 25
const PAST_CHECKS = 25
/** DESIGN.md §2: 回退 only within 2 working hours of dispatch (the default window). */
const RETURN_WINDOW_MS = 2 * HOUR
const FUTURE_SKEW_MS = 5 * MINUTE
const REPORT_PAST_LIMIT_MS = 72 * HOUR

/**
 * The 2026 放假调休 of the State Council's notice (国办发明电〔2025〕7号), as the office calendar's
 * holidays and make-up working days, written here rather than read from the server's data.
 */
const HOLIDAYS_2026 = [
  '2026-01-01', '2026-01-02', '2026-01-03',
  '2026-02-15', '2026-02-16', '2026-02-17', '2026-02-18', '2026-02-19', '2026-02-20', '2026-02-21',
  '2026-02-22', '2026-02-23',
  '2026-04-04', '2026-04-05', '2026-04-06',
  '2026-05-01', '2026-05-02', '2026-05-03', '2026-05-04', '2026-05-05',
  '2026-06-19', '2026-06-20', '2026-06-21',
  '2026-09-25', '2026-09-26', '2026-09-27',
  '2026-10-01', '2026-10-02', '2026-10-03', '2026-10-04', '2026-10-05', '2026-10-06', '2026-10-07',
] // prettier-ignore
const WORKDAYS_2026 = ['2026-01-04', '2026-02-14', '2026-02-28', '2026-05-09', '2026-09-20', '2026-10-10']
const OFFICE: WorkCalendar = {
  ...DEFAULT_CALENDAR,
  holidays: HOLIDAYS_2026,
  extraWorkdays: WORKDAYS_2026,
}
const CALENDARS: CalendarSet = calendarSet(OFFICE)

const iso = (t: number): string => formatIsoWithOffset(t, TZ)
const q = (t: number): string => encodeURIComponent(iso(t))

type Decision = 'accept' | 'refuse' | 'either'

/** What the driver knows of an event: its state as the server last answered it. */
interface Model {
  id: string
  category: string
  gridCode: string
  reportedAt: number
  status: string
  deadline: number | null
  dispatchedAt: number | null
  firstDispatchedAt: number | null
  evaluated: boolean
}

interface Mismatch {
  kind: 'kpi' | 'period' | 'seq' | 'decision' | 'refusal' | 'deadline' | 'log'
  key: string
  label: string
  expected: unknown
  actual: unknown
}

interface KpiAnswer {
  region: string
  from: string
  to: string
  at: string
  seq: number
  values: Record<string, number | null>
}

/** A KPI read to compare: what was asked, what the server answered, and where the oracle reads. */
interface Reading {
  label: string
  region: string
  from: number
  to: number
  at: number
  /** The log's last seq when the read was made (the oracle reads the log up to it). */
  logSeq: number
  answer: KpiAnswer
}

/** Counts are exact; rates and the score within 1e-9, hours within 1e-6. */
const tolerance = (key: keyof OracleValues): number =>
  key === 'reported' || key === 'dispatched' || key === 'overdueOpen'
    ? 0
    : key === 'avgDisposalHours'
      ? 1e-6
      : 1e-9

/** DESIGN.md §2: may `action` be taken at `at` on an event in the state `m`? */
function decide(m: Model, body: ActionBody, at: number): Decision {
  const expected = nextStatus(m.status, body.action, body.passed)
  if (expected === undefined) return 'refuse'
  switch (body.action) {
    case 'dispatch':
      return body.department ? 'accept' : 'refuse'
    case 'verify':
      return typeof body.passed === 'boolean' ? 'accept' : 'refuse'
    case 'evaluate':
      if (!body.satisfaction) return 'refuse'
      // DESIGN.md does not say whether an event can be called back twice.
      return m.evaluated ? 'either' : 'accept'
    case 'extend': {
      const deadline = m.deadline!
      if (at === deadline) return 'either'
      if (at > deadline) return 'refuse'
      if (body.until === undefined) return 'accept'
      const until = Date.parse(body.until)
      return until > deadline ? 'accept' : until === deadline ? 'either' : 'refuse'
    }
    case 'return': {
      const deadline = m.deadline!
      if (at === deadline) return 'either'
      if (at > deadline) return 'refuse'
      // "Within 2 working hours after dispatch": the last dispatch or the first, on the category's
      // calendar or the office one; where these readings disagree either answer is allowed.
      const verdicts = new Set<boolean>()
      for (const since of [m.dispatchedAt!, m.firstDispatchedAt!])
        for (const cal of [calendarOf(CALENDARS, m.category), OFFICE]) {
          const used = workingMillisBetween(since, at, cal)
          if (used === RETURN_WINDOW_MS) return 'either'
          verdicts.add(used < RETURN_WINDOW_MS)
        }
      return verdicts.size > 1 ? 'either' : verdicts.has(true) ? 'accept' : 'refuse'
    }
    default:
      return 'accept'
  }
}

interface ActionBody {
  action: string
  department?: string
  passed?: boolean
  satisfaction?: string
  until?: string
}

const ACTIONS = [
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
] as const

function pickWeighted<T>(rng: Rng, options: readonly [T, number][]): T {
  let r = rng.next() * options.reduce((s, [, w]) => s + w, 0)
  for (const [v, w] of options) if ((r -= w) < 0) return v
  return options.at(-1)![0]
}

const satisfaction = (rng: Rng) =>
  pickWeighted(rng, [
    ['very_satisfied', 6],
    ['satisfied', 3],
    ['dissatisfied', 1],
  ] as const)

/** A random action for an event: mostly the lifecycle's natural next step, sometimes anything. */
function chooseAction(rng: Rng, m: Model, now: number): ActionBody {
  if (rng.next() < 0.12) {
    const body: ActionBody = { action: rng.pick(ACTIONS) }
    if (rng.next() < 0.7) body.department = '城管执法局'
    if (rng.next() < 0.8) body.passed = rng.next() < 0.5
    if (rng.next() < 0.8) body.satisfaction = satisfaction(rng)
    if (rng.next() < 0.3) body.until = iso(now + rng.range(-DAY, 3 * DAY))
    return body
  }
  switch (m.status) {
    case 'reported':
      return {
        action: pickWeighted(rng, [
          ['accept', 75],
          ['self_handle', 12],
          ['cancel', 8],
          ['file', 5],
        ]),
      }
    case 'accepted':
      return {
        action: pickWeighted(rng, [
          ['file', 85],
          ['cancel', 15],
        ]),
      }
    case 'filed': {
      const action = pickWeighted(rng, [
        ['dispatch', 80],
        ['cancel', 12],
        ['handle', 8],
      ])
      return action === 'dispatch' && rng.next() < 0.97
        ? { action, department: CATEGORY_BY_CODE.get(m.category)!.department.zh }
        : { action }
    }
    case 'dispatched': {
      const action = pickWeighted(rng, [
        ['handle', 55],
        ['extend', 18],
        ['return', 17],
        ['cancel', 5],
        ['verify', 5],
      ])
      if (action === 'extend' && rng.next() < 0.3)
        return { action, until: iso(m.deadline! + (rng.next() < 0.1 ? -HOUR : rng.range(HOUR, 48 * HOUR))) }
      return action === 'verify' ? { action, passed: true } : { action }
    }
    case 'handled':
      return { action: 'verify', passed: rng.next() < 0.7 }
    default:
      return rng.next() < 0.85
        ? { action: 'evaluate', satisfaction: satisfaction(rng) }
        : {
            action: pickWeighted(rng, [
              ['extend', 1],
              ['handle', 1],
              ['cancel', 1],
            ]),
          }
  }
}

describe(`every KPI of /api/v1/kpis?at= equals a recomputation from /api/v1/changes (seed ${SEED})`, () => {
  let system: System
  let cleanup: () => Promise<void>
  let token: string
  const models = new Map<string, Model>()
  const mismatches: Mismatch[] = []
  const readings: Reading[] = []
  let log: LogChange[] = []
  let byEvent = new Map<string, LogChange[]>()
  const stats = { steps: 0, reports: 0, refused: 0, accepted: 0, byAction: new Map<string, number>() }
  const categoryOf = (id: string): string => models.get(id)!.category

  /** The log read so far, extended to its end. */
  async function readLog(): Promise<void> {
    const after = log.at(-1)?.seq ?? 0
    const more = (await allChanges<RawChange>(system.app, token, after)).map(parseChange)
    log = log.concat(more)
    byEvent = groupByEvent(log)
  }

  /** Ask for the KPIs and keep the answer with the log's seq at that moment. */
  async function read(label: string, region: string, at: number, period?: { from: number; to: number }) {
    const query = period ? `&from=${q(period.from)}&to=${q(period.to)}` : ''
    const r = await call<KpiAnswer>(system.app, `/api/v1/kpis?region=${region}${query}&at=${q(at)}`, {
      token,
    })
    expect(r.status, `${label}: ${JSON.stringify(r.body)}`).toBe(200)
    // DESIGN.md §2 / issue 10.8: `at` without a period means the local day of `at` up to `at`.
    const from = period?.from ?? startOfLocalDay(at, TZ)
    const to = period?.to ?? at
    readings.push({ label, region, from, to, at, logSeq: log.at(-1)?.seq ?? 0, answer: r.body })
  }

  /** Random regions: the district, and a street, community or grid of a random event (or any grid). */
  function randomRegions(rng: Rng, n: number): string[] {
    const ids = [...models.keys()]
    const out = new Set<string>()
    if (rng.next() < 0.4) out.add(DISTRICT)
    while (out.size < n) {
      const grid =
        rng.next() < 0.1 || ids.length === 0
          ? rng.pick(system.city.gridsOf(DISTRICT)).code
          : models.get(rng.pick(ids))!.gridCode
      out.add(grid.slice(0, rng.pick([6, 9, 12, 15, 15])))
    }
    return [...out]
  }

  /** Random explicit periods around `at`: whole local days, random instants, the whole run. */
  function randomPeriod(rng: Rng, at: number): { name: string; from: number; to: number } {
    const kind = rng.int(3)
    if (kind === 0) {
      const day = startOfLocalDay(at, TZ)
      const from = startOfLocalDay(day - rng.int(7) * DAY + 2 * HOUR, TZ)
      return { name: 'whole local days', from, to: startOfLocalDay(day + 36 * HOUR, TZ) }
    }
    if (kind === 1) {
      const from = Math.round(at - rng.range(HOUR, 10 * DAY))
      return { name: 'random instants', from, to: Math.round(from + rng.range(HOUR, 12 * DAY)) }
    }
    return { name: 'the whole run', from: START - 5 * DAY, to: END + DAY }
  }

  beforeAll(async () => {
    const started = Date.now()
    const t = await createTestSystem({
      // One client drives thousands of requests a minute here: the rate limits are not under test.
      env: { SIMULATE: '0', RATE_LIMIT_PER_IP: '100000000', RATE_LIMIT_PER_TOKEN: '100000000' },
      now: START,
    })
    system = t.system
    cleanup = t.cleanup
    token = await mintToken(system.app, 'officer', { ttl: '30d' }) // the run spans 22 days of the clock
    const rng = mulberry32(SEED)
    const clock = t.clock
    let now = START
    let lastSeq = (await call<{ seq: number }>(system.app, '/readyz')).body.seq
    const open: string[] = []
    const pool = (() => {
      // Most reports fall in a few streets' grids, so that grid and community figures are not empty.
      const streets = system.city.children(DISTRICT).slice(0, 3)
      const grids = streets.flatMap((s) =>
        system.city
          .children(s.code)
          .slice(0, 2)
          .flatMap((c) => system.city.gridsOf(c.code).slice(0, 3)),
      )
      return grids.map((g) => g.code)
    })()
    const allGrids = system.city.gridsOf(DISTRICT).map((g) => g.code)
    // Quiet spells (0.2% of steps, 2-10 h) take about a third of the run; the rest is spread evenly.
    const meanGap = ((END - START) * 0.65) / (LIFECYCLES * 6.5)
    const liveAt = new Set(Array.from({ length: LIVE_CHECKS }, () => rng.int(LIFECYCLES * 6)))

    const sync = (m: Model, e: ApiEvent) => {
      m.status = e.status
      m.deadline = ms(e.deadline)
      m.dispatchedAt = ms(e.dispatchedAt)
      m.firstDispatchedAt = ms(e.firstDispatchedAt)
      m.evaluated = e.satisfaction !== null
    }
    const record = async (label: string, decision: Decision, status: number, body: unknown) => {
      const ok = status >= 200 && status < 300
      if (ok) {
        stats.accepted++
        const seq = (body as { seq: number }).seq
        if (seq !== lastSeq + 1)
          mismatches.push({ kind: 'log', key: 'seq gap-free', label, expected: lastSeq + 1, actual: seq })
        lastSeq = seq
      } else {
        stats.refused++
        const after = await call<{ changes: unknown[] }>(
          system.app,
          `/api/v1/changes?after=${lastSeq}&limit=5`,
          {
            token,
          },
        )
        if (after.status !== 200)
          throw new Error(`GET /api/v1/changes: ${after.status} ${JSON.stringify(after.body)}`)
        if (after.body.changes.length !== 0 || status >= 500)
          mismatches.push({
            kind: 'refusal',
            key: 'a refusal logs nothing',
            label,
            expected: 0,
            actual: after.body,
          })
      }
      if (decision !== 'either' && (decision === 'accept') !== ok)
        mismatches.push({
          kind: 'decision',
          key: label.split(' ')[0]!,
          label,
          expected: decision,
          actual: `${status} ${JSON.stringify((body as { error?: unknown }).error ?? '')}`,
        })
    }

    let reportsLeft = LIFECYCLES
    while (now < END) {
      const gap = rng.next() < 0.002 ? rng.range(2 * HOUR, 10 * HOUR) : -Math.log(1 - rng.next()) * meanGap
      now = Math.min(END, Math.round(now + gap) + rng.int(1000))
      clock.set(now)
      stats.steps++
      const stepsLeft = Math.max(1, (END - now) / meanGap)
      const ready = open.filter((id) => models.get(id)!.reportedAt <= now)
      if (reportsLeft > 0 && (ready.length === 0 || rng.next() < reportsLeft / stepsLeft)) {
        reportsLeft--
        stats.reports++
        const cat = rng.pick(CATEGORIES)
        const gridCode = rng.next() < 0.85 ? rng.pick(pool) : rng.pick(allGrids)
        const grid = system.city.region(gridCode)!
        const when = pickWeighted(rng, [
          ['now', 85],
          ['past', 10],
          ['long past', 2],
          ['far future', 2],
          ['near future', 1],
        ] as const)
        const reportedAt =
          when === 'now'
            ? undefined
            : Math.round(
                now +
                  (when === 'past'
                    ? -rng.range(0, 3 * HOUR)
                    : when === 'long past'
                      ? -REPORT_PAST_LIMIT_MS - rng.range(HOUR, 48 * HOUR)
                      : when === 'far future'
                        ? rng.range(FUTURE_SKEW_MS + MINUTE, HOUR)
                        : rng.range(0, FUTURE_SKEW_MS - MINUTE)),
              )
        const r = await call<ApiEvent>(system.app, '/api/v1/events', {
          token,
          body: {
            category: cat.code,
            description: `property ${SEED} #${stats.reports}`,
            lat: grid.centroid[1],
            lng: grid.centroid[0],
            gridCode,
            source: rng.pick(['patrol', 'hotline', 'open311', 'video', 'referral'] as const),
            ...(reportedAt !== undefined ? { reportedAt: iso(reportedAt) } : {}),
          },
        })
        const decision: Decision = when === 'long past' || when === 'far future' ? 'refuse' : 'accept'
        await record(`report(${when}) at ${iso(now)}`, decision, r.status, r.body)
        if (r.status === 201) {
          const m: Model = {
            id: r.body.id,
            category: cat.code,
            gridCode,
            reportedAt: reportedAt ?? now,
            status: 'reported',
            deadline: null,
            dispatchedAt: null,
            firstDispatchedAt: null,
            evaluated: false,
          }
          if (r.body.category !== cat.code || r.body.gridCode !== gridCode)
            mismatches.push({
              kind: 'log',
              key: 'report echoes',
              label: m.id,
              expected: cat.code,
              actual: r.body,
            })
          sync(m, r.body)
          models.set(m.id, m)
          open.push(m.id)
        }
      } else if (ready.length > 0) {
        const id = rng.pick(ready)
        const m = models.get(id)!
        // Now and then, act exactly at the deadline (the boundary of on time and of extend/return).
        if (
          m.status === 'dispatched' &&
          m.deadline !== null &&
          m.deadline > now &&
          m.deadline - now < 2 * HOUR
        ) {
          if (rng.next() < 0.05) clock.set((now = m.deadline))
        }
        const body = chooseAction(rng, m, now)
        const decision = decide(m, body, now)
        const r = await call<ApiEvent>(system.app, `/api/v1/events/${id}/actions`, { token, body })
        stats.byAction.set(body.action, (stats.byAction.get(body.action) ?? 0) + 1)
        await record(
          `${body.action} ${id} (${m.status}) at ${iso(now)} ${JSON.stringify(body)}`,
          decision,
          r.status,
          r.body,
        )
        if (r.status === 200) sync(m, r.body)
        const done = m.status === 'cancelled' || (m.status === 'closed' && (m.evaluated || rng.next() < 0.08))
        if (done) open.splice(open.indexOf(id), 1)
      }
      if (liveAt.has(stats.steps)) {
        liveAt.delete(stats.steps)
        await readLog()
        for (const region of randomRegions(rng, 3)) {
          await read(`live ${region} today so far`, region, now)
          const p = randomPeriod(rng, now)
          await read(`live ${region} ${p.name}`, region, now, p)
        }
        // `at` omitted is now, over the default period (today): the same figures as today's whole
        // local day asked for explicitly at now.
        const r = await call<KpiAnswer>(system.app, `/api/v1/kpis?region=${DISTRICT}`, { token })
        const dayStart = startOfLocalDay(now, TZ)
        const dayEnd = startOfLocalDay(dayStart + 36 * HOUR, TZ)
        const explicit = await call<KpiAnswer>(
          system.app,
          `/api/v1/kpis?region=${DISTRICT}&from=${q(dayStart)}&to=${q(dayEnd)}&at=${q(now)}`,
          { token },
        )
        expect(explicit.status, JSON.stringify(explicit.body)).toBe(200)
        const atNow = { answer: explicit.body }
        if (ms(r.body.at) !== now)
          mismatches.push({
            kind: 'period',
            key: 'at omitted is now',
            label: iso(now),
            expected: iso(now),
            actual: r.body.at,
          })
        if (JSON.stringify(r.body.values) !== JSON.stringify(atNow.answer.values))
          mismatches.push({
            kind: 'kpi',
            key: 'at omitted = at now',
            label: iso(now),
            expected: atNow.answer.values,
            actual: r.body.values,
          })
      }
    }

    // After the run: instants in the past, some on the edges (a change's instant, a deadline,
    // either side of a local midnight).
    await readLog()
    const deadlines = log.filter((c) => c.deadline !== undefined && c.deadline < now).map((c) => c.deadline!)
    for (let i = 0; i < PAST_CHECKS; i++) {
      const edge = i % 5
      const midnight = startOfLocalDay(START + rng.range(DAY, END - START), TZ)
      const at =
        edge === 0
          ? rng.pick(log).at
          : edge === 1 && deadlines.length > 0
            ? rng.pick(deadlines)
            : edge === 2
              ? midnight - 1
              : edge === 3
                ? midnight + rng.int(20 * MINUTE)
                : Math.round(START + rng.next() * (now - START))
      for (const region of randomRegions(rng, 3)) {
        await read(`past ${region} that day so far`, region, at)
        const p = randomPeriod(rng, at)
        await read(`past ${region} ${p.name}`, region, at, p)
      }
    }
    console.log(
      `kpi-property seed=${SEED}: ${stats.steps} steps, ${stats.reports} reports, ${stats.accepted} accepted, ` +
        `${stats.refused} refused, ${log.length} changes, ${readings.length} KPI reads, ` +
        `${((Date.now() - started) / 1000).toFixed(1)} s; actions ${JSON.stringify(Object.fromEntries(stats.byAction))}`,
    )
  })

  afterAll(async () => {
    await cleanup?.()
  })

  /** Mismatches of some kinds, grouped by key: a count and the first few cases each. */
  function summary(kinds: Mismatch['kind'][]): string[] {
    const groups = new Map<string, Mismatch[]>()
    for (const m of mismatches.filter((x) => kinds.includes(x.kind))) {
      const k = `${m.kind}/${m.key}`
      groups.set(k, [...(groups.get(k) ?? []), m])
    }
    const out: string[] = []
    for (const [k, list] of groups) {
      out.push(`${k}: ${list.length} (seed ${SEED})`)
      for (const m of list.slice(0, 3))
        out.push(`  ${m.label}: expected ${JSON.stringify(m.expected)}, got ${JSON.stringify(m.actual)}`)
    }
    if (out.length) console.log(out.join('\n'))
    return out
  }

  it('drove thousands of lifecycles with refusals among them, and read the KPIs at 50 instants', () => {
    expect(stats.reports).toBeGreaterThanOrEqual(LIFECYCLES * 0.95)
    expect(stats.refused).toBeGreaterThan(stats.steps * 0.05)
    expect(readings.length).toBeGreaterThanOrEqual((LIVE_CHECKS + PAST_CHECKS) * 4)
    // The figures are not trivial: some cohorts, lateness, reworks and evaluations were read.
    const nonEmpty = readings.filter((r) => (r.answer.values.dispatched ?? 0) > 0)
    expect(nonEmpty.length).toBeGreaterThan(readings.length / 3)
  })

  it('accepts and refuses every action as DESIGN.md §2 says, and a refusal logs nothing', () => {
    expect(summary(['decision', 'refusal'])).toEqual([])
  })

  it('logs a lifecycle DESIGN.md allows, gap-free, with deadlines of the category limit on its calendar', () => {
    const anomalies: LogAnomaly[] = []
    for (const list of byEvent.values()) foldEvent(list, Infinity, anomalies)
    for (const a of anomalies)
      mismatches.push({
        kind: 'log',
        key: a.problem.split(' ').slice(0, 3).join(' '),
        label: `${a.eventId} seq ${a.seq}`,
        expected: 'lifecycle',
        actual: a.problem,
      })
    log.forEach((c, i) => {
      if (i > 0 && c.seq !== log[i - 1]!.seq + 1)
        mismatches.push({
          kind: 'log',
          key: 'seq gap-free',
          label: `seq ${c.seq}`,
          expected: log[i - 1]!.seq + 1,
          actual: c.seq,
        })
    })
    for (const c of log) {
      if (!(c.action === 'dispatch' || (c.action === 'verify' && c.passed === false))) continue
      const cat = categoryOf(c.eventId)
      const expected = addWorkingTime(c.at, CATEGORY_BY_CODE.get(cat)!.limit, calendarOf(CALENDARS, cat))
      if (c.deadline !== expected)
        mismatches.push({
          kind: 'deadline',
          key: `${c.action} deadline on the ${cat} calendar`,
          label: `${c.eventId} ${cat} ${c.action} at ${iso(c.at)}`,
          expected: iso(expected),
          actual: c.deadline === undefined ? null : iso(c.deadline),
        })
    }
    expect(summary(['log', 'deadline'])).toEqual([])
  })

  it('answers each read for the period DESIGN.md gives (default: the day of at up to at) and the seq of the last change at or before at', () => {
    for (const r of readings) {
      const label = `${r.label} at ${iso(r.at)}`
      if (ms(r.answer.from) !== r.from || ms(r.answer.to) !== r.to)
        mismatches.push({
          kind: 'period',
          key: r.label.split(' ').slice(2).join(' '),
          label,
          expected: [iso(r.from), iso(r.to)],
          actual: [r.answer.from, r.answer.to],
        })
      if (ms(r.answer.at) !== r.at)
        mismatches.push({ kind: 'period', key: 'at', label, expected: iso(r.at), actual: r.answer.at })
      const expectedSeq = seqAt(
        log.filter((c) => c.seq <= r.logSeq),
        r.at,
      )
      if (r.answer.seq !== expectedSeq)
        mismatches.push({
          kind: 'seq',
          key: `${r.label.split(' ')[0]} as-of seq`,
          label,
          expected: expectedSeq,
          actual: r.answer.seq,
        })
    }
    expect(summary(['period', 'seq'])).toEqual([])
  })

  it('answers every event-based KPI as the recomputation from /api/v1/changes gives it', () => {
    let compared = 0
    for (const r of readings) {
      const upTo = groupByEvent(log.filter((c) => c.seq <= r.logSeq))
      const expected = oracleKpis(upTo, {
        region: r.region,
        from: r.from,
        to: r.to,
        at: r.at,
        calendars: CALENDARS,
        categoryOf,
      })
      const label = `${r.label} at=${iso(r.at)} [${iso(r.from)}, ${iso(r.to)})`
      for (const key of ORACLE_KEYS) {
        const e = expected[key]
        const a = r.answer.values[key]
        compared++
        const same = e === null || a === null || a === undefined ? a === e : Math.abs(a - e) <= tolerance(key)
        if (!same) mismatches.push({ kind: 'kpi', key, label, expected: e, actual: a })
      }
    }
    expect(compared).toBe(readings.length * ORACLE_KEYS.length)
    expect(summary(['kpi'])).toEqual([])
  })
})
