/**
 * The performance figures (绩效评价) of DESIGN.md §2, exactly as defined there, over event states.
 *
 * One code path: `computeKpis` folds events into counters with `addEventToCounters` and turns them
 * into values with `kpisFromCounters`; a live stream keeps the counters and, when an event changes,
 * subtracts its old state (`removeEventFromCounters`) and adds its new one. The overdue counters
 * depend on `now`, so they are only valid for the `now` they were counted at.
 *
 * Values are never rounded here: rates are fractions in [0, 1], the score is on the weights' scale
 * (0–100 by default), hours are fractional. The caller rounds for display. A rate whose denominator is
 * 0 is null (shown as "—").
 */
import { isOverdue } from './lifecycle.ts'
import type { GridEvent } from './types.ts'
import { workingMillisBetween } from './working-time.ts'
import { calendarOf, type CalendarSet } from './calendars.ts'

export interface KpiValues {
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
  /** null where the figure would describe one person (a grid, to the public: `shared/privacy.ts`). */
  onlineWorkers: number | null
}
export type KpiKey = keyof KpiValues

/** Weights of the composite score (综合指标值). */
export interface ScoreWeights {
  disposal: number
  onTime: number
  rework: number
  overdue: number
  extension: number
}

/** 30·处置率 + 20·按期处置率 + 20·(1−返工率) + 20·(1−超期待处置率) + 10·(1−延期率). */
export const DEFAULT_WEIGHTS: Readonly<ScoreWeights> = Object.freeze({
  disposal: 30,
  onTime: 20,
  rework: 20,
  overdue: 20,
  extension: 10,
})

/** Patrol figures the server computes from positions (rounds today, pings in the last 5 min). */
export interface PatrolFigures {
  grids: number
  gridsWithTwoRounds: number
  onlineWorkers: number
}

export interface KpiInput {
  /** The events whose grid lies in the region (any period: overdueOpen is not period-bound). */
  events: Iterable<GridEvent>
  /** Period [from, to), epoch ms. */
  from: number
  to: number
  /** The instant "now" for overdue figures. */
  now: number
  /** Calendars for working hours (avgDisposalHours: each event on its category's calendar). */
  calendars: CalendarSet
  weights?: ScoreWeights
  patrol: PatrolFigures
}

/** What counting one event needs. */
export interface KpiContext {
  from: number
  to: number
  now: number
  calendars: CalendarSet
}

/** Additive tallies from which every event-based KPI follows. */
export interface KpiCounters {
  reported: number
  /** Cohort size: first dispatched within the period and not cancelled since. */
  dispatched: number
  handled: number
  onTime: number
  closed: number
  reworked: number
  extended: number
  overdueCohort: number
  overdueOpen: number
  evaluated: number
  satisfied: number
  /**
   * Sum of working milliseconds from first dispatch to handled, over `handled`. Kept in integer
   * milliseconds so that adding and retracting events in any order gives exactly the same sum.
   */
  disposalMillis: number
}

/** Every KPI key, in display order. */
export const KPI_KEYS = [
  'reported',
  'dispatched',
  'disposalRate',
  'onTimeRate',
  'closeRate',
  'reworkRate',
  'extensionRate',
  'overdueRate',
  'overdueOpen',
  'satisfactionRate',
  'avgDisposalHours',
  'score',
  'patrolCoverage',
  'onlineWorkers',
] as const satisfies readonly KpiKey[]

export interface KpiLabel {
  zh: string
  en: string
  unit: 'count' | 'rate' | 'hours' | 'score'
}

export const KPI_LABELS: Readonly<Record<KpiKey, KpiLabel>> = Object.freeze({
  reported: { zh: '上报数', en: 'Reported', unit: 'count' },
  dispatched: { zh: '应处置数', en: 'To be handled', unit: 'count' },
  disposalRate: { zh: '处置率', en: 'Disposal rate', unit: 'rate' },
  onTimeRate: { zh: '按期处置率', en: 'On-time disposal rate', unit: 'rate' },
  closeRate: { zh: '结案率', en: 'Close rate', unit: 'rate' },
  reworkRate: { zh: '返工率', en: 'Rework rate', unit: 'rate' },
  extensionRate: { zh: '延期率', en: 'Extension rate', unit: 'rate' },
  overdueRate: { zh: '超期待处置率', en: 'Overdue rate', unit: 'rate' },
  overdueOpen: { zh: '超期待处置数', en: 'Overdue open', unit: 'count' },
  satisfactionRate: { zh: '满意率', en: 'Satisfaction rate', unit: 'rate' },
  avgDisposalHours: { zh: '平均处置时长', en: 'Average disposal time', unit: 'hours' },
  score: { zh: '综合指标值', en: 'Composite score', unit: 'score' },
  patrolCoverage: { zh: '双巡率', en: 'Two-patrol rate', unit: 'rate' },
  onlineWorkers: { zh: '在岗网格员', en: 'Grid workers on duty', unit: 'count' },
})

/** All-zero counters. */
export function emptyKpiCounters(): KpiCounters {
  return {
    reported: 0,
    dispatched: 0,
    handled: 0,
    onTime: 0,
    closed: 0,
    reworked: 0,
    extended: 0,
    overdueCohort: 0,
    overdueOpen: 0,
    evaluated: 0,
    satisfied: 0,
    disposalMillis: 0,
  }
}

const within = (t: number | null, ctx: KpiContext): boolean => t !== null && t >= ctx.from && t < ctx.to

/**
 * Add one event's contribution to `counters` (mutated and returned). `sign = -1` subtracts it, which
 * a live stream uses to retract an event's previous state.
 */
export function addEventToCounters(
  counters: KpiCounters,
  event: GridEvent,
  ctx: KpiContext,
  sign: 1 | -1 = 1,
): KpiCounters {
  const c = counters
  if (within(event.reportedAt, ctx)) c.reported += sign
  const overdue = isOverdue(event, ctx.now)
  if (overdue) c.overdueOpen += sign
  if (event.evaluatedAt !== null && within(event.evaluatedAt, ctx)) {
    c.evaluated += sign
    if (event.satisfaction === 'satisfied' || event.satisfaction === 'very_satisfied') c.satisfied += sign
  }
  // The cohort: first dispatched within the period, less those cancelled after that dispatch.
  if (!within(event.firstDispatchedAt, ctx) || event.cancelledAt !== null) return c
  c.dispatched += sign
  if (event.handledAt !== null) {
    c.handled += sign
    // On time only if every handling was (a late one stays late across rework: `lateHandled`).
    if (!event.lateHandled && event.deadline !== null && event.handledAt <= event.deadline) c.onTime += sign
    c.disposalMillis +=
      sign *
      workingMillisBetween(
        event.firstDispatchedAt!,
        event.handledAt,
        calendarOf(ctx.calendars, event.category),
      )
  }
  if (event.status === 'closed') c.closed += sign
  if (event.reworkCount > 0) c.reworked += sign
  if (event.extensionCount > 0) c.extended += sign
  if (overdue) c.overdueCohort += sign
  return c
}

/** Retract one event's contribution (the inverse of `addEventToCounters` with the same ctx). */
export function removeEventFromCounters(
  counters: KpiCounters,
  event: GridEvent,
  ctx: KpiContext,
): KpiCounters {
  return addEventToCounters(counters, event, ctx, -1)
}

const ratio = (n: number, d: number): number | null => (d > 0 ? n / d : null)

/** Turn counters (plus the patrol figures and score weights) into KPI values. */
export function kpisFromCounters(
  c: KpiCounters,
  patrol: PatrolFigures,
  weights: ScoreWeights = DEFAULT_WEIGHTS,
): KpiValues {
  const d = c.dispatched
  const disposalRate = ratio(c.handled, d)
  const onTimeRate = ratio(c.onTime, d)
  const reworkRate = ratio(c.reworked, d)
  const extensionRate = ratio(c.extended, d)
  const overdueRate = ratio(c.overdueCohort, d)
  const score =
    d > 0
      ? weights.disposal * disposalRate! +
        weights.onTime * onTimeRate! +
        weights.rework * (1 - reworkRate!) +
        weights.overdue * (1 - overdueRate!) +
        weights.extension * (1 - extensionRate!)
      : null
  return {
    reported: c.reported,
    dispatched: d,
    disposalRate,
    onTimeRate,
    closeRate: ratio(c.closed, d),
    reworkRate,
    extensionRate,
    overdueRate,
    overdueOpen: c.overdueOpen,
    satisfactionRate: ratio(c.satisfied, c.evaluated),
    avgDisposalHours: c.handled > 0 ? c.disposalMillis / c.handled / 3_600_000 : null,
    score,
    patrolCoverage: ratio(patrol.gridsWithTwoRounds, patrol.grids),
    onlineWorkers: patrol.onlineWorkers,
  }
}

/** Every KPI of DESIGN.md §2 for one region and period, from the region's events at `now`. */
export function computeKpis(input: KpiInput): KpiValues {
  const ctx: KpiContext = { from: input.from, to: input.to, now: input.now, calendars: input.calendars }
  const counters = emptyKpiCounters()
  for (const e of input.events) addEventToCounters(counters, e, ctx)
  return kpisFromCounters(counters, input.patrol, input.weights)
}
