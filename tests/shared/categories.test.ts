import { describe, it, expect } from 'vitest'
import { CATEGORIES, CATEGORY_BY_CODE, categoryGroups, isCategoryCode } from '../../shared/categories.ts'
import { DEFAULT_CALENDAR, dailyWorkingMinutes } from '../../shared/working-time.ts'

const byZh = (zh: string) => CATEGORIES.find((c) => c.zh === zh)
/** A limit in working hours on the default calendar (a day = 7.5 h). */
const limitHours = (zh: string): number => {
  const c = byZh(zh)!
  return c.limit.unit === 'hours'
    ? c.limit.value
    : (c.limit.value * dailyWorkingMinutes(DEFAULT_CALENDAR)) / 60
}

describe('CATEGORIES', () => {
  it('has between 35 and 50 leaves with unique, well-formed codes', () => {
    expect(CATEGORIES.length).toBeGreaterThanOrEqual(35)
    expect(CATEGORIES.length).toBeLessThanOrEqual(50)
    expect(new Set(CATEGORIES.map((c) => c.code)).size).toBe(CATEGORIES.length)
    for (const c of CATEGORIES) {
      expect(c.code).toMatch(c.family === 'city' ? /^CG\d{4}$/ : /^SG\d{4}$/)
      expect(c.code.startsWith(c.group.code)).toBe(true)
    }
  })

  it('covers both families with the groups of DESIGN.md', () => {
    const groups = (family: string) =>
      categoryGroups()
        .filter((g) => g.family === family)
        .map((g) => g.zh)
    expect(groups('city')).toEqual(['市容环境', '宣传广告', '施工管理', '街面秩序', '突发事件', '部件'])
    expect(groups('social')).toEqual([
      '矛盾纠纷',
      '安全隐患',
      '治安防范',
      '民生服务',
      '特殊人群关爱',
      '信息采集',
      '政策宣传',
      '其他',
    ])
  })

  it('names the sub-categories the design lists', () => {
    for (const zh of [
      '暴露垃圾',
      '道路不洁',
      '乱堆物堆料',
      '非法小广告',
      '施工扰民',
      '工地扬尘',
      '无照经营游商',
      '占道经营',
      '路面塌陷',
      '道路积水',
      '违法搭建',
      '邻里纠纷',
      '婚姻家庭纠纷',
      '房屋纠纷',
      '消防隐患',
      '燃气隐患',
      '代办服务',
      '微心愿',
    ]) {
      expect(byZh(zh), zh).toBeDefined()
    }
    expect(CATEGORIES.some((c) => c.zh.includes('路灯'))).toBe(true)
    expect(CATEGORIES.some((c) => c.zh.includes('井盖'))).toBe(true)
    expect(CATEGORIES.some((c) => c.zh.includes('车行道'))).toBe(true)
  })

  it('gives every leaf bilingual names, a department and a positive limit', () => {
    for (const c of CATEGORIES) {
      expect(c.zh && c.en && c.group.zh && c.group.en && c.department.zh && c.department.en).toBeTruthy()
      expect(['hours', 'days']).toContain(c.limit.unit)
      expect(c.limit.value).toBeGreaterThan(0)
      expect(c.weight).toBeGreaterThan(0)
    }
  })

  it('has limits from 2 working hours (道路保洁) through 4–5 hours (暴露垃圾, 道路不洁) to 15–20 days (违法搭建)', () => {
    expect(limitHours('道路保洁')).toBe(2)
    expect(limitHours('暴露垃圾')).toBeGreaterThanOrEqual(4)
    expect(limitHours('暴露垃圾')).toBeLessThanOrEqual(5)
    expect(limitHours('道路不洁')).toBeGreaterThanOrEqual(4)
    expect(limitHours('道路不洁')).toBeLessThanOrEqual(5)
    expect(byZh('违法搭建')!.limit.unit).toBe('days')
    expect(byZh('违法搭建')!.limit.value).toBeGreaterThanOrEqual(15)
    expect(byZh('违法搭建')!.limit.value).toBeLessThanOrEqual(20)
    const all = CATEGORIES.map((c) => limitHours(c.zh))
    expect(Math.min(...all)).toBe(2)
    expect(Math.max(...all)).toBe(limitHours('违法搭建'))
  })

  it('has weights summing to 1, 街面秩序 largest, then 市容环境, then 宣传广告', () => {
    expect(CATEGORIES.reduce((s, c) => s + c.weight, 0)).toBeCloseTo(1, 12)
    const groups = categoryGroups().sort((a, b) => b.weight - a.weight)
    expect(groups.slice(0, 3).map((g) => g.zh)).toEqual(['街面秩序', '市容环境', '宣传广告'])
    expect(groups[2]!.weight).toBeGreaterThan(groups[3]!.weight)
  })

  it('routes street order to 城管执法局 and refuse to 环卫处', () => {
    expect(byZh('占道经营')!.department.zh).toBe('城管执法局')
    expect(byZh('暴露垃圾')!.department.zh).toBe('环卫处')
  })

  it('is frozen', () => {
    expect(Object.isFrozen(CATEGORIES)).toBe(true)
    expect(Object.isFrozen(CATEGORIES[0])).toBe(true)
  })
})

describe('lookups', () => {
  it('finds a leaf by code', () => {
    expect(CATEGORY_BY_CODE.get('CG0101')?.zh).toBe('暴露垃圾')
    expect(CATEGORY_BY_CODE.size).toBe(CATEGORIES.length)
  })

  it('isCategoryCode accepts leaf codes only', () => {
    expect(isCategoryCode('CG0101')).toBe(true)
    expect(isCategoryCode('SG0801')).toBe(true)
    expect(isCategoryCode('CG01')).toBe(false)
    expect(isCategoryCode('cg0101')).toBe(false)
    expect(isCategoryCode('')).toBe(false)
    expect(isCategoryCode(101)).toBe(false)
  })

  it('categoryGroups lists each leaf exactly once, with group weights summing to 1', () => {
    const groups = categoryGroups()
    expect(groups.flatMap((g) => g.categories.map((c) => c.code))).toEqual(CATEGORIES.map((c) => c.code))
    expect(groups.reduce((s, g) => s + g.weight, 0)).toBeCloseTo(1, 12)
    for (const g of groups)
      expect(g.categories.every((c) => c.group.code === g.code && c.family === g.family)).toBe(true)
  })
})
