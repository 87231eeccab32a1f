/**
 * Patrol rounds (DESIGN.md §2, 双巡率): a round is ≥ 15 min of pings inside the worker's own grid with
 * gaps < 5 min, judged by the pings' own times (never by a server clock). Whether a ping is inside is
 * decided by the caller (point-in-polygon on the server).
 *
 * One detector: `stepRound` moves a worker's open run by one ping; the server runs it as pings
 * arrive (the open run persisted between them, so a restart changes nothing) and `detectRounds` is
 * its fold over a sorted list. A run ends only by a ping: a later one ≥ 5 min after its last, or one
 * outside the grid. A run counts as a round from the ping that makes it last 15 min, so whether it
 * counts never depends on when it is read; read at an instant ≥ 5 min after its last ping it is over
 * (`isRunOver`), as the next ping of its worker would find.
 */
import { zoneOffset } from './working-time.ts'

export interface PatrolPing {
  lat: number
  lng: number
  /** Epoch ms. */
  at: number
  /** Whether the ping lies inside the worker's own grid. */
  inside: boolean
}

export interface DetectedRound {
  startedAt: number
  endedAt: number
  /** Number of pings in the round. */
  pings: number
}

export interface RoundOptions {
  /** A run must last at least this long (endedAt − startedAt ≥ minMinutes). */
  minMinutes: number
  /** Consecutive pings this far apart or more end the run. */
  maxGapMinutes: number
}

export const DEFAULT_ROUND_OPTIONS: Readonly<RoundOptions> = Object.freeze({
  minMinutes: 15,
  maxGapMinutes: 5,
})

/** A worker's open run: consecutive inside pings, each < maxGapMinutes after the one before. */
export interface OpenRun {
  startedAt: number
  /** The run's last ping (epoch ms). */
  lastAt: number
  pings: number
}

/** What one ping did (see `stepRound`). */
export interface RoundStep {
  /** The open run after the ping: null after an outside ping; the very `run` given if unmoved. */
  run: OpenRun | null
  /** The round this ping made or extended: the run with it, once it has lasted minMinutes. */
  round: DetectedRound | null
  /** The round this ping ended: the previous run, had it lasted minMinutes (already reported). */
  closed: DetectedRound | null
}

const optionsOf = (opts: Partial<RoundOptions>) => {
  const o = { ...DEFAULT_ROUND_OPTIONS, ...opts }
  return { minMs: o.minMinutes * 60_000, maxGapMs: o.maxGapMinutes * 60_000 }
}

/** The run as a round if it has lasted minMinutes, else null. */
export function roundOf(run: OpenRun | null, opts: Partial<RoundOptions> = {}): DetectedRound | null {
  if (!run || run.lastAt - run.startedAt < optionsOf(opts).minMs) return null
  return { startedAt: run.startedAt, endedAt: run.lastAt, pings: run.pings }
}

/** Whether the run is over as read at `at`: any later ping would start a new one. */
export function isRunOver(run: OpenRun, at: number, opts: Partial<RoundOptions> = {}): boolean {
  return at - run.lastAt >= optionsOf(opts).maxGapMs
}

/**
 * One ping of the worker moves its open run (null: none). An inside ping < maxGapMinutes after the
 * run's last extends it; an inside ping after a longer gap (or with no run) starts a new run; an
 * outside ping ends the run. A ping earlier than the run's last leaves the run as it was (pings come
 * in time order; a straggler cannot undo what was counted). The inputs are not modified.
 */
export function stepRound(
  run: OpenRun | null,
  ping: PatrolPing,
  opts: Partial<RoundOptions> = {},
): RoundStep {
  if (run && ping.at < run.lastAt) return { run, round: null, closed: null }
  if (!ping.inside) return { run: null, round: null, closed: roundOf(run, opts) }
  if (run && ping.at - run.lastAt < optionsOf(opts).maxGapMs) {
    const next = { startedAt: run.startedAt, lastAt: ping.at, pings: run.pings + 1 }
    return { run: next, round: roundOf(next, opts), closed: null }
  }
  const next = { startedAt: ping.at, lastAt: ping.at, pings: 1 }
  return { run: next, round: roundOf(next, opts), closed: roundOf(run, opts) }
}

/**
 * Patrol rounds in a worker's pings, sorted by `at`: the fold of `stepRound` (the rounds it closed,
 * and the last run if it is one). A round is a maximal run of consecutive inside pings whose
 * successive gaps are < `maxGapMinutes` and that lasts ≥ `minMinutes` from first to last ping.
 */
export function detectRounds(
  pings: readonly PatrolPing[],
  opts: Partial<RoundOptions> = {},
): DetectedRound[] {
  const rounds: DetectedRound[] = []
  let run: OpenRun | null = null
  for (const p of pings) {
    const s = stepRound(run, p, opts)
    if (s.closed) rounds.push(s.closed)
    run = s.run
  }
  const last = roundOf(run, opts)
  if (last) rounds.push(last)
  return rounds
}

/** A round's extent (epoch ms). */
export interface RoundSpan {
  startedAt: number
  endedAt: number
}

/** A local day and its midday (epoch ms): [start, end), `midday` splits it for 一日双巡. */
export interface PatrolDay {
  start: number
  midday: number
  end: number
}

/** The default local midday, in minutes after local midnight (PATROL_MIDDAY, 'HH:MM'). */
export const DEFAULT_PATROL_MIDDAY = 12 * 60

/**
 * The instant of local wall time `minutes` (after midnight) on the local day that `dayStart` (the
 * day's first instant) begins, in `tz`; correct where the offset changes earlier that day, or at
 * midnight (the day then starts at 01:00).
 */
export function middayOf(dayStart: number, tz: string, minutes = DEFAULT_PATROL_MIDDAY): number {
  const DAY = 86_400_000
  const midnightWall = Math.floor((dayStart + zoneOffset(dayStart, tz)) / DAY) * DAY
  const wall = midnightWall + minutes * 60_000
  // A second pass corrects the guess when the offset differs on either side of a transition.
  return wall - zoneOffset(wall - zoneOffset(wall, tz), tz)
}

/**
 * 一日双巡: whether a grid's rounds make two patrols on the local day `day`: a round starting before
 * `day.midday` and another starting at or after it, the first ending before the second starts (two
 * rounds that overlap, such as two workers walking at once, are one patrol). Only rounds started on
 * [day.start, day.end) count. A round of the morning may run past midday.
 */
export function hasTwoRounds(rounds: Iterable<RoundSpan>, day: PatrolDay): boolean {
  let morningEnd = Infinity
  let afternoonStart = -Infinity
  for (const r of rounds) {
    if (r.startedAt < day.start || r.startedAt >= day.end) continue
    if (r.startedAt < day.midday) morningEnd = Math.min(morningEnd, r.endedAt)
    else afternoonStart = Math.max(afternoonStart, r.startedAt)
  }
  return morningEnd < afternoonStart
}

/** A ping dated further than this ahead of the server clock is refused (DESIGN.md §2). */
export const MAX_PING_AHEAD_MS = 2 * 60_000

/** Whether a ping at `at` lies too far ahead of the server clock's `now` to be taken. */
export const isFuturePing = (at: number, now: number): boolean => at > now + MAX_PING_AHEAD_MS
