/**
 * Region codes (DESIGN.md §2): district → street → community → grid, each code a prefix of its
 * children's codes.
 *
 * - district: 6 digits, GB/T 2260 (`430602`): province 2 + prefecture 2 + county 2. The province part
 *   may not be `00`, and prefecture + county may not both be `00` (that is a province). A county part
 *   `00` is accepted: cities without counties (东莞 441900, 中山 442000) put towns directly below.
 * - street: 9 digits = district + 3-digit street/township number (`430602001`).
 * - community: 12 digits = street + 3-digit community/village number (`430602001001`).
 * - grid: 15 digits = community + 3-digit grid sequence (Beijing DB11 unit-grid rule).
 * - A 14-digit grid code (community + 2-digit sequence, as some import files carry) is accepted and
 *   normalised to 15 digits by padding the sequence: `43060200100107` → `430602001001007`.
 * No 3-digit (or 2-digit) segment may be all zeros.
 */

export const REGION_LEVELS = ['district', 'street', 'community', 'grid'] as const
export type RegionLevel = (typeof REGION_LEVELS)[number]

export type ParsedRegionCode = { ok: true; level: RegionLevel; code: string } | { ok: false; reason: string }

const LEVEL_BY_LENGTH: Readonly<Record<number, RegionLevel>> = {
  6: 'district',
  9: 'street',
  12: 'community',
  15: 'grid',
}
const LENGTH_OF: Readonly<Record<RegionLevel, number>> = { district: 6, street: 9, community: 12, grid: 15 }
const SEGMENT_NAMES = ['street', 'community', 'grid sequence'] as const

const fail = (reason: string): ParsedRegionCode => ({ ok: false, reason })

/** Validate a region code and normalise it (14-digit grid codes become 15 digits). */
export function parseRegionCode(code: string): ParsedRegionCode {
  if (typeof code !== 'string' || !/^\d+$/.test(code)) return fail('a region code has digits only')
  let normalized = code
  if (code.length === 14) {
    if (code.slice(12) === '00') return fail('the grid sequence must not be 00')
    normalized = `${code.slice(0, 12)}0${code.slice(12)}`
  }
  const level = LEVEL_BY_LENGTH[normalized.length]
  if (!level) return fail(`a region code has 6, 9, 12, 14 or 15 digits, not ${code.length}`)
  if (normalized.startsWith('00')) return fail('the province part of the district code must not be 00')
  if (normalized.slice(2, 6) === '0000') return fail('a district code must not be a province code (xx0000)')
  for (let i = 0; 6 + 3 * i < normalized.length; i++) {
    if (normalized.slice(6 + 3 * i, 9 + 3 * i) === '000')
      return fail(`the ${SEGMENT_NAMES[i]} part must not be 000`)
  }
  return { ok: true, level, code: normalized }
}

/** The normalised code, or null when `code` does not parse. */
export function normalizeRegionCode(code: string): string | null {
  const p = parseRegionCode(code)
  return p.ok ? p.code : null
}

/** The level of a code, or null when it does not parse. */
export function levelOf(code: string): RegionLevel | null {
  const p = parseRegionCode(code)
  return p.ok ? p.level : null
}

/** The enclosing region's code (grid → community → street → district); null for a district or an invalid code. */
export function parentCode(code: string): string | null {
  const p = parseRegionCode(code)
  if (!p.ok || p.level === 'district') return null
  return p.code.slice(0, p.code.length - 3)
}

/** The code of `code`'s ancestor (or itself) at `level`; null if `code` is invalid or above `level`. */
export function ancestorAt(code: string, level: RegionLevel): string | null {
  const p = parseRegionCode(code)
  if (!p.ok || p.code.length < LENGTH_OF[level]) return null
  return p.code.slice(0, LENGTH_OF[level])
}

/** Whether `code` lies in (or is) region `regionCode`: a prefix rule on normalised codes. False if either is invalid. */
export function isWithin(code: string, regionCode: string): boolean {
  const a = parseRegionCode(code)
  const r = parseRegionCode(regionCode)
  return a.ok && r.ok && a.code.startsWith(r.code)
}
