import { describe, it, expect } from 'vitest'
import {
  actionSchema,
  changesQuerySchema,
  ERROR_CODES,
  eventsQuerySchema,
  kpisQuerySchema,
  positionsSchema,
  rankingsQuerySchema,
  reportEventSchema,
  tokenRequestSchema,
} from '../../shared/schemas.ts'

const ms = (iso: string) => Date.parse(iso)

describe('eventsQuerySchema', () => {
  it('fills the default limit and parses nothing else when empty', () => {
    expect(eventsQuerySchema.parse({})).toEqual({ limit: 100 })
  })

  it('parses every field into domain values', () => {
    expect(
      eventsQuerySchema.parse({
        region: '43060200100107',
        status: 'dispatched, handled,dispatched',
        category: 'CG0101,SG0801',
        from: '2026-11-01T00:00:00+08:00',
        to: '2026-12-01T00:00:00Z',
        cursor: 'abc',
        limit: '250',
      }),
    ).toEqual({
      region: '430602001001007',
      status: ['dispatched', 'handled'],
      category: ['CG0101', 'SG0801'],
      from: ms('2026-11-01T00:00:00+08:00'),
      to: ms('2026-12-01T00:00:00Z'),
      cursor: 'abc',
      limit: 250,
    })
  })

  it.each([
    [{ region: '12345' }],
    [{ status: 'open' }],
    [{ status: ',' }],
    [{ category: 'CG0101,XX' }],
    [{ from: '2026-11-01T00:00:00' }],
    [{ from: '2026-11-01' }],
    [{ from: '2026-02-30T00:00:00Z' }],
    [{ from: '2026-11-02T00:00:00Z', to: '2026-11-01T00:00:00Z' }],
    [{ limit: '0' }],
    [{ limit: '1001' }],
    [{ limit: '1.5' }],
    [{ limit: 'ten' }],
    [{ cursor: '' }],
  ])('rejects %j', (q) => {
    expect(eventsQuerySchema.safeParse(q).success).toBe(false)
  })
})

describe('changesQuerySchema', () => {
  it('defaults after to 0 and limit to 1000', () => {
    expect(changesQuerySchema.parse({})).toEqual({ after: 0, limit: 1000 })
  })

  it('accepts digit strings and numbers', () => {
    expect(changesQuerySchema.parse({ after: '12345', limit: 5000 })).toEqual({ after: 12345, limit: 5000 })
  })

  it.each([[{ after: '-1' }], [{ after: 'x' }], [{ limit: '5001' }], [{ limit: '0' }]])('rejects %j', (q) => {
    expect(changesQuerySchema.safeParse(q).success).toBe(false)
  })
})

describe('kpisQuerySchema and rankingsQuerySchema', () => {
  it('requires a region for KPIs', () => {
    expect(kpisQuerySchema.safeParse({}).success).toBe(false)
    expect(kpisQuerySchema.parse({ region: '430602' })).toEqual({ region: '430602' })
  })

  it('parses an optional period', () => {
    const q = kpisQuerySchema.parse({ region: '430602', from: '2026-11-01T00:00:00+08:00' })
    expect(q.from).toBe(ms('2026-11-01T00:00:00+08:00'))
  })

  it('takes a street or community level for rankings', () => {
    expect(rankingsQuerySchema.parse({ level: 'community' })).toEqual({ level: 'community' })
    expect(rankingsQuerySchema.safeParse({ level: 'grid' }).success).toBe(false)
    expect(rankingsQuerySchema.safeParse({}).success).toBe(false)
  })
})

describe('tokenRequestSchema', () => {
  it('parses the ttl to seconds and normalises the region', () => {
    expect(tokenRequestSchema.parse({ role: 'public', ttl: '30d', region: '430602' })).toEqual({
      role: 'public',
      ttl: 2_592_000,
      region: '430602',
    })
    expect(tokenRequestSchema.parse({ role: 'leader', ttl: 3600 })).toEqual({ role: 'leader', ttl: 3600 })
  })

  it.each([
    [{ role: 'root', ttl: 60 }],
    [{ role: 'admin' }],
    [{ role: 'admin', ttl: '0' }],
    [{ role: 'admin', ttl: '400d' }],
    [{ role: 'admin', ttl: '1h', region: '43' }],
  ])('rejects %j', (body) => {
    expect(tokenRequestSchema.safeParse(body).success).toBe(false)
  })
})

describe('reportEventSchema', () => {
  const valid = {
    category: 'CG0101',
    description: '路边暴露垃圾',
    lat: 29.37,
    lng: 113.1,
    source: 'patrol',
  }

  it('accepts a minimal report', () => {
    expect(reportEventSchema.parse(valid)).toEqual(valid)
  })

  it('parses the optional fields', () => {
    const r = reportEventSchema.parse({
      ...valid,
      reporter: { name: '张三丰', phone: '138 1234 1234' },
      gridCode: '43060200100107',
      reportedAt: '2026-11-30T10:15:00.000+08:00',
      extra: 'dropped',
    })
    expect(r).toEqual({
      ...valid,
      reporter: { name: '张三丰', phone: '138 1234 1234' },
      gridCode: '430602001001007',
      reportedAt: ms('2026-11-30T10:15:00.000+08:00'),
    })
  })

  it.each([
    [{ category: 'CG99' }],
    [{ description: '' }],
    [{ description: 'x'.repeat(2001) }],
    [{ lat: 91 }],
    [{ lng: -181 }],
    [{ lat: '29.3' }],
    [{ source: 'email' }],
    [{ gridCode: '430602001001' }],
    [{ reportedAt: 'yesterday' }],
    [{ reporter: { phone: 'call me' } }],
  ])('rejects a report with %j', (patch) => {
    expect(reportEventSchema.safeParse({ ...valid, ...patch }).success).toBe(false)
  })
})

describe('actionSchema', () => {
  it('accepts each action with its fields', () => {
    expect(actionSchema.parse({ action: 'dispatch', department: '环卫处' })).toEqual({
      action: 'dispatch',
      department: '环卫处',
    })
    expect(actionSchema.parse({ action: 'extend', until: '2026-12-01T18:00:00+08:00' }).until).toBe(
      ms('2026-12-01T18:00:00+08:00'),
    )
    expect(actionSchema.parse({ action: 'evaluate', satisfaction: 'very_satisfied' }).satisfaction).toBe(
      'very_satisfied',
    )
  })

  it.each([
    [{ action: 'report' }],
    [{ action: 'close' }],
    [{ action: 'verify', passed: 'yes' }],
    [{ action: 'evaluate', satisfaction: 'ok' }],
    [{ action: 'handle', note: 'x'.repeat(501) }],
    [{ action: 'extend', until: '2026-12-01' }],
  ])('rejects %j', (body) => {
    expect(actionSchema.safeParse(body).success).toBe(false)
  })
})

describe('positionsSchema', () => {
  const p = { workerId: 'w1', lat: 29.37, lng: 113.1, at: '2026-11-30T10:15:00+08:00' }

  it('parses positions with times as epoch ms', () => {
    expect(positionsSchema.parse({ positions: [p] })).toEqual({
      positions: [{ ...p, at: ms('2026-11-30T10:15:00+08:00') }],
    })
  })

  it('takes 1 to 5000 positions', () => {
    expect(positionsSchema.safeParse({ positions: [] }).success).toBe(false)
    expect(positionsSchema.safeParse({ positions: Array(5000).fill(p) }).success).toBe(true)
    expect(positionsSchema.safeParse({ positions: Array(5001).fill(p) }).success).toBe(false)
  })

  it('rejects a position without a worker or out of range', () => {
    expect(positionsSchema.safeParse({ positions: [{ ...p, workerId: '' }] }).success).toBe(false)
    expect(positionsSchema.safeParse({ positions: [{ ...p, lat: 100 }] }).success).toBe(false)
  })
})

describe('ERROR_CODES', () => {
  it('lists the API error codes once each', () => {
    expect(ERROR_CODES).toContain('invalid_transition')
    expect(ERROR_CODES).toContain('not_ready')
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length)
    expect(ERROR_CODES).toHaveLength(15)
  })
})
