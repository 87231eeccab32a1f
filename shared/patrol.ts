/**
 * Patrol rounds (DESIGN.md §2, 双巡率): a round is ≥ 15 min of pings inside the worker's own grid with
 * gaps < 5 min. Whether a ping is inside is decided by the caller (point-in-polygon on the server).
 */

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

/**
 * Patrol rounds in a worker's pings, sorted by `at`. A round is a maximal run of consecutive inside
 * pings whose successive gaps are < `maxGapMinutes` and that lasts ≥ `minMinutes` from first to last
 * ping. An outside ping, a gap ≥ `maxGapMinutes` or (defensively) a ping earlier than its predecessor
 * ends the run.
 */
export function detectRounds(
  pings: readonly PatrolPing[],
  opts: Partial<RoundOptions> = {},
): DetectedRound[] {
  const { minMinutes, maxGapMinutes } = { ...DEFAULT_ROUND_OPTIONS, ...opts }
  const minMs = minMinutes * 60_000
  const maxGapMs = maxGapMinutes * 60_000
  const rounds: DetectedRound[] = []
  let run: DetectedRound | null = null
  const flush = (): void => {
    if (run && run.endedAt - run.startedAt >= minMs) rounds.push(run)
    run = null
  }
  for (const p of pings) {
    if (!p.inside) {
      flush()
      continue
    }
    if (run) {
      const gap = p.at - run.endedAt
      if (gap >= 0 && gap < maxGapMs) {
        run.endedAt = p.at
        run.pings++
        continue
      }
      flush()
    }
    run = { startedAt: p.at, endedAt: p.at, pings: 1 }
  }
  flush()
  return rounds
}
