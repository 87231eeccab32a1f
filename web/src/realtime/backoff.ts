/**
 * Waits between reconnection attempts, randomised so that a thousand walls refused or dropped at
 * the same instant do not all come back at the same instant either.
 */

export interface Backoff {
  /** The first retry's window. */
  baseMs: number
  /** The largest window (reached after a few failed attempts). */
  maxMs: number
}

export const DEFAULT_BACKOFF: Backoff = { baseMs: 1000, maxMs: 30_000 }

/**
 * Exponential back-off with full jitter: the n-th retry (from 0) waits a uniformly random time in
 * [0, min(max, base·2ⁿ)), which spreads simultaneous clients over the whole window instead of
 * sending them back in waves (AWS Architecture Blog, "Exponential Backoff And Jitter").
 */
export function fullJitter(attempt: number, b: Backoff, random: () => number): number {
  return Math.floor(random() * Math.min(b.maxMs, b.baseMs * 2 ** Math.min(attempt, 30)))
}

/** `ms` ± 50 %: the period of a poll that should not beat in step with everyone else's. */
export const spread = (ms: number, random: () => number): number => Math.floor(ms * (0.5 + random()))
