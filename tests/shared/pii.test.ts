import { describe, it, expect } from 'vitest'
import { maskName, maskPhone, maskReporter } from '../../shared/pii.ts'

describe('maskName', () => {
  it('keeps the first character and masks each remaining one', () => {
    expect(maskName('张三丰')).toBe('张**')
    expect(maskName('欧阳娜娜')).toBe('欧***')
  })

  it('masks at least one character, even for a one-character name', () => {
    expect(maskName('张')).toBe('张*')
  })

  it('keeps an empty name empty', () => {
    expect(maskName('')).toBe('')
    expect(maskName('  ')).toBe('')
  })

  it('treats a character outside the BMP as one character', () => {
    expect(maskName('𠀋三')).toBe('𠀋*')
  })
})

describe('maskPhone', () => {
  it('keeps the first 3 and last 4 digits of a mobile number', () => {
    expect(maskPhone('13812341234')).toBe('138****1234')
    expect(maskPhone('138 1234 1234')).toBe('138****1234')
    expect(maskPhone('+86 138-1234-1234')).toBe('138****1234')
  })

  it('keeps only the last 4 digits of a landline', () => {
    expect(maskPhone('0730-8221234')).toBe('****-***1234')
    expect(maskPhone('07308221234')).toBe('*******1234')
  })

  it('reveals nothing of a short number', () => {
    expect(maskPhone('12345')).toBe('*****')
    expect(maskPhone('110')).toBe('***')
  })

  it('handles empty and junk input safely', () => {
    expect(maskPhone('')).toBe('')
    expect(maskPhone('unknown')).toBe('****')
  })

  it('never returns the input unchanged when it has digits', () => {
    for (const p of ['1', '12', '1234567', '12345678901', '123456789012345', '0086-13812341234']) {
      expect(maskPhone(p)).not.toBe(p)
      expect(maskPhone(p)).toContain('*')
    }
  })
})

describe('maskReporter', () => {
  it('masks both fields', () => {
    expect(maskReporter({ name: '张三丰', phone: '13812341234' })).toEqual({
      name: '张**',
      phone: '138****1234',
    })
  })

  it('leaves absent fields absent and undefined undefined', () => {
    expect(maskReporter({ phone: '13812341234' })).toEqual({ phone: '138****1234' })
    expect('name' in maskReporter({ phone: '13812341234' })).toBe(false)
    expect(maskReporter(undefined)).toBeUndefined()
  })
})
