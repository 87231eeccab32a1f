import { describe, it, expect } from 'vitest'
import {
  ancestorAt,
  isWithin,
  levelOf,
  normalizeRegionCode,
  parentCode,
  parseRegionCode,
} from '../../shared/regions.ts'

describe('parseRegionCode', () => {
  it('accepts the four levels by length', () => {
    expect(parseRegionCode('430602')).toEqual({ ok: true, level: 'district', code: '430602' })
    expect(parseRegionCode('430602001')).toEqual({ ok: true, level: 'street', code: '430602001' })
    expect(parseRegionCode('430602001001')).toEqual({ ok: true, level: 'community', code: '430602001001' })
    expect(parseRegionCode('430602001001007')).toEqual({ ok: true, level: 'grid', code: '430602001001007' })
  })

  it('normalises a 14-digit grid code by padding its 2-digit sequence to 3', () => {
    expect(parseRegionCode('43060200100107')).toEqual({ ok: true, level: 'grid', code: '430602001001007' })
    expect(parseRegionCode('43060200100199')).toEqual({ ok: true, level: 'grid', code: '430602001001099' })
  })

  it('accepts a prefecture-level city without counties as a district (东莞 441900)', () => {
    expect(parseRegionCode('441900').ok).toBe(true)
    expect(parseRegionCode('441900003').ok).toBe(true)
  })

  it.each([
    ['', 'empty'],
    ['43060a', 'non-digit'],
    [' 430602', 'whitespace'],
    ['-430602', 'sign'],
    ['4306020', '7 digits'],
    ['43060200', '8 digits'],
    ['4306020010', '10 digits'],
    ['4306020010010', '13 digits'],
    ['4306020010010071', '16 digits'],
    ['000602', 'province 00'],
    ['430000', 'a province code'],
    ['430602000', 'street 000'],
    ['430602001000', 'community 000'],
    ['430602001001000', 'grid 000'],
    ['43060200100100', '14-digit grid 00'],
    ['43060200000107', '14-digit grid in community 000'],
    ['４３０６０２', 'full-width digits'],
  ])('rejects %j (%s) with a reason', (code) => {
    const p = parseRegionCode(code)
    expect(p.ok).toBe(false)
    if (!p.ok) expect(p.reason.length).toBeGreaterThan(0)
  })

  it('rejects a non-string without throwing', () => {
    expect(parseRegionCode(430602 as unknown as string).ok).toBe(false)
  })
})

describe('parentCode, levelOf, ancestorAt', () => {
  it('walks grid → community → street → district → null', () => {
    expect(parentCode('430602001001007')).toBe('430602001001')
    expect(parentCode('430602001001')).toBe('430602001')
    expect(parentCode('430602001')).toBe('430602')
    expect(parentCode('430602')).toBeNull()
  })

  it('gives the parent of a 14-digit grid code', () => {
    expect(parentCode('43060200100107')).toBe('430602001001')
  })

  it('gives null for an invalid code', () => {
    expect(parentCode('12345')).toBeNull()
    expect(levelOf('12345')).toBeNull()
  })

  it('names the level', () => {
    expect(levelOf('430602')).toBe('district')
    expect(levelOf('430602001')).toBe('street')
    expect(levelOf('430602001001')).toBe('community')
    expect(levelOf('430602001001001')).toBe('grid')
    expect(levelOf('43060200100101')).toBe('grid')
  })

  it('gives the ancestor at a level, or null above it', () => {
    expect(ancestorAt('430602001001007', 'street')).toBe('430602001')
    expect(ancestorAt('430602001', 'street')).toBe('430602001')
    expect(ancestorAt('430602001', 'grid')).toBeNull()
  })

  it('normalises or gives null', () => {
    expect(normalizeRegionCode('43060200100107')).toBe('430602001001007')
    expect(normalizeRegionCode('x')).toBeNull()
  })
})

describe('isWithin', () => {
  it('is true for descendants and the region itself', () => {
    expect(isWithin('430602001001007', '430602')).toBe(true)
    expect(isWithin('430602001001007', '430602001')).toBe(true)
    expect(isWithin('430602001001007', '430602001001')).toBe(true)
    expect(isWithin('430602001001007', '430602001001007')).toBe(true)
    expect(isWithin('43060200100107', '430602001001')).toBe(true)
  })

  it('is false for siblings, ancestors and invalid codes', () => {
    expect(isWithin('430602002001001', '430602001')).toBe(false)
    expect(isWithin('430602', '430602001')).toBe(false)
    expect(isWithin('430603001001001', '430602')).toBe(false)
    expect(isWithin('4306020010010', '430602')).toBe(false)
    expect(isWithin('430602001', 'bad')).toBe(false)
  })
})
