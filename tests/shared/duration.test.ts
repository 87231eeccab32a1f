import { describe, it, expect } from 'vitest'
import { MAX_TTL_SECONDS, parseTtl } from '../../shared/duration.ts'

describe('parseTtl', () => {
  it.each([
    [3600, 3600],
    ['3600', 3600],
    ['90s', 90],
    ['30m', 1800],
    ['12h', 43_200],
    ['30d', 2_592_000],
    ['366d', 366 * 86_400],
    [' 15m ', 900],
    ['1', 1],
  ] as const)('reads %j as %d seconds', (input, seconds) => {
    expect(parseTtl(input)).toEqual({ ok: true, seconds })
  })

  it.each([
    [0],
    [-5],
    [1.5],
    [Number.NaN],
    [Number.POSITIVE_INFINITY],
    [MAX_TTL_SECONDS + 1],
    [''],
    ['0'],
    ['0s'],
    ['-5m'],
    ['1.5h'],
    ['12H'],
    ['30M'],
    ['2w'],
    ['h'],
    ['12 h'],
    ['1e3'],
    ['0x10'],
    ['367d'],
    ['9999999999999d'],
    ['12h30m'],
  ])('rejects %j with a reason', (input) => {
    const p = parseTtl(input)
    expect(p.ok).toBe(false)
    if (!p.ok) expect(p.reason.length).toBeGreaterThan(0)
  })

  it('rejects a value that is neither number nor string', () => {
    expect(parseTtl(null as unknown as string).ok).toBe(false)
  })
})
