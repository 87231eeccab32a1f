/**
 * Token lifetimes (DESIGN.md §3): "a `ttl` is seconds or a duration such as "30m", "12h", "30d"
 * (everywhere a ttl is taken)".
 */

/** The longest lifetime accepted: 366 days. */
export const MAX_TTL_SECONDS = 366 * 86_400

export type ParsedTtl = { ok: true; seconds: number } | { ok: false; reason: string }

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3_600, d: 86_400 }

function check(seconds: number): ParsedTtl {
  if (seconds <= 0) return { ok: false, reason: 'a ttl must be positive' }
  if (seconds > MAX_TTL_SECONDS) return { ok: false, reason: 'a ttl may not exceed 366 days' }
  return { ok: true, seconds }
}

/**
 * Parse a ttl: a positive integer number of seconds, or a string of digits with an optional
 * lower-case unit `s`, `m` (minutes), `h` or `d` (`'90s'`, `'30m'`, `'12h'`, `'30d'`, `'3600'`).
 * Surrounding whitespace is ignored. Upper-case units are refused, since `M` reads as months.
 * Rejects zero, negatives, fractions, other units and anything over 366 days.
 */
export function parseTtl(input: number | string): ParsedTtl {
  if (typeof input === 'number') {
    if (!Number.isInteger(input)) return { ok: false, reason: 'a ttl in seconds must be a whole number' }
    return check(input)
  }
  if (typeof input !== 'string') return { ok: false, reason: 'a ttl is a number of seconds or a string' }
  const m = /^(\d{1,12})([smhd]?)$/.exec(input.trim())
  if (!m) return { ok: false, reason: `'${input.slice(0, 40)}' is not a duration like 90s, 30m, 12h or 30d` }
  return check(Number(m[1]) * UNIT_SECONDS[m[2] || 's']!)
}
