import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import { emptyKpiCounters, kpisFromCounters } from '../../shared/kpis.ts'
import type { ChangeFrame, KpiFrame } from '../../shared/live.ts'
import { createT } from '../../web/src/i18n.ts'
import { useEventStore } from '../../web/src/stores/events.ts'
import { useKpiStore } from '../../web/src/stores/kpis.ts'
import { usePositionsStore } from '../../web/src/stores/positions.ts'
import { useStatsStore } from '../../web/src/stores/stats.ts'

beforeEach(() => setActivePinia(createPinia()))

const frame = (
  seq: number,
  at: string,
  action: ChangeFrame['event']['action'],
  extra: Partial<ChangeFrame['event']> = {},
): ChangeFrame => ({
  seq,
  at,
  event: {
    id: `E${seq}`,
    gridCode: '430602001001001',
    category: 'CG0101',
    source: 'patrol',
    lat: 29.3,
    lng: 113.1,
    status: 'reported',
    action,
    reportedAt: at,
    ...extra,
  },
})

describe('positions store', () => {
  it('decodes compact frames into typed arrays and lists only recently seen workers', () => {
    const p = usePositionsStore()
    p.reset(['W1', 'W2', 'W3'])
    p.apply({ at: '2026-11-30T10:00:00.000+08:00', workers: [0, 11310000, 2930000, 2, 11320000, 2940000] })
    const since = Date.parse('2026-11-30T09:59:00+08:00')
    expect([...p.active(since)]).toEqual([113.1, 29.3, 113.2, 29.4])
    expect(p.active(Date.parse('2026-11-30T10:01:00+08:00')).length).toBe(0)
    p.apply({ at: '2026-11-30T10:00:05.000+08:00', workers: [7, 1, 1] })
    expect(p.active(since).length).toBe(4)
  })
})

describe('event store', () => {
  it('keeps the ticker and alerts bounded however long the wall runs', () => {
    const e = useEventStore()
    for (let i = 1; i <= 500; i++) e.applyChange(frame(i, '2026-11-30T10:00:00.000+08:00', 'report'), 0)
    for (let i = 0; i < 100; i++)
      e.applyAlert({
        kind: 'surge',
        at: '2026-11-30T10:00:00.000+08:00',
        gridCode: 'g',
        lastHour: 5,
        baseline: 1,
      })
    expect(e.ticker.length).toBe(40)
    expect(e.ticker[0]!.seq).toBe(500)
    expect(e.alerts.length).toBe(30)
    expect(e.pulses.length).toBeLessThanOrEqual(20)
  })

  it("lists a snapshot's overdue alerts in place of earlier overdue ones, keeping surges, newest first", () => {
    const e = useEventStore()
    const overdue = (id: string, at: string) => ({
      kind: 'overdue' as const,
      at,
      seq: 1,
      eventId: id,
      gridCode: 'g',
      category: 'CG0101',
      deadline: at,
    })
    e.applyAlert(overdue('E-handled-since', '2026-11-30T09:00:00.000+08:00'))
    e.applyAlert({
      kind: 'surge',
      at: '2026-11-30T10:30:00.000+08:00',
      gridCode: 'g',
      lastHour: 6,
      baseline: 1,
    })
    e.seedAlerts([
      overdue('E2', '2026-11-30T11:00:00.000+08:00'),
      overdue('E1', '2026-11-30T08:00:00.000+08:00'),
    ])
    expect(e.alerts.map((a) => (a.kind === 'overdue' ? a.eventId : 'surge'))).toEqual(['E2', 'surge', 'E1'])
  })
})

describe('event store ticker seeding', () => {
  it("merges a snapshot's recent changes with the ticker: each seq once, newest first, bounded, no pulses", () => {
    const e = useEventStore()
    e.applyChange(frame(101, '2026-11-30T10:01:00.000+08:00', 'report'), 0)
    e.applyChange(frame(100, '2026-11-30T10:00:00.000+08:00', 'handle'), 0)
    const pulses = e.pulses.length
    e.seedTicker(
      Array.from({ length: 50 }, (_, i) => frame(100 - i, '2026-11-30T09:00:00.000+08:00', 'report')),
    )
    expect(e.ticker.map((f) => f.seq)).toEqual(Array.from({ length: 40 }, (_, i) => 101 - i))
    // The change already listed keeps its place; seeding adds no pulse (not a new arrival).
    expect(e.ticker[1]!.event.action).toBe('handle')
    expect(e.pulses.length).toBe(pulses)
    // A replayed change already listed is not listed twice.
    e.applyChange(frame(99, '2026-11-30T09:00:00.000+08:00', 'report'), 0)
    expect(e.ticker.filter((f) => f.seq === 99)).toHaveLength(1)
    expect(e.ticker[0]!.seq).toBe(101)
  })
})

describe('stats store', () => {
  const hourly = [
    { hour: '2026-11-30T01:00:00.000Z', reported: 1, handled: 0, closed: 0 },
    { hour: '2026-11-30T02:00:00.000Z', reported: 2, handled: 1, closed: 1 },
  ]
  it('counts changes after the loaded seq into their hour and category group, and none at or before it', () => {
    const s = useStatsStore()
    s.load(
      { byGroup: [{ code: 'CG01', zh: '市容环境', en: 'Environment', count: 3 }], hourly },
      new Map([['CG0101', 'CG01']]),
      10,
    )
    s.applyChange(frame(10, '2026-11-30T02:10:00.000Z', 'report'))
    s.applyChange(frame(11, '2026-11-30T02:20:00.000Z', 'report'))
    s.applyChange(frame(12, '2026-11-30T02:30:00.000Z', 'handle'))
    s.applyChange(frame(13, '2026-11-30T02:40:00.000Z', 'verify', { data: { passed: true } }))
    s.applyChange(frame(14, '2026-11-30T02:50:00.000Z', 'self_handle'))
    expect(s.view.hourly[1]).toEqual({ hour: '2026-11-30T02:00:00.000Z', reported: 3, handled: 3, closed: 3 })
    expect(s.view.byGroup[0]!.count).toBe(4)
  })

  it('slides the 24-hour window when a change falls in a new hour', () => {
    const s = useStatsStore()
    s.load({ byGroup: [], hourly }, new Map(), 0)
    s.applyChange(frame(1, '2026-11-30T03:05:00.000Z', 'report'))
    expect(s.view.hourly.map((h) => [h.hour, h.reported])).toEqual([
      ['2026-11-30T02:00:00.000Z', 2],
      ['2026-11-30T03:00:00.000Z', 1],
    ])
  })
})

describe('kpi store', () => {
  const values = kpisFromCounters(emptyKpiCounters(), { grids: 1, gridsWithTwoRounds: 0, onlineWorkers: 0 })
  const kpiFrame = (seq: number, at: string, region = '430602'): KpiFrame => ({
    seq,
    region,
    from: '2026-11-30T00:00:00.000+08:00',
    to: '2026-12-01T00:00:00.000+08:00',
    at,
    values: { ...values, overdueOpen: seq },
  })

  it('shows the latest figures: a later seq, or the same seq at a later instant; never an older one', () => {
    const k = useKpiStore()
    k.apply(kpiFrame(5, '2026-11-30T10:00:01.000+08:00'))
    k.apply(kpiFrame(5, '2026-11-30T10:00:03.000+08:00'))
    expect(k.frame!.at).toBe('2026-11-30T10:00:03.000+08:00')
    // A snapshot built a moment earlier, answered after the tick's frame: not shown.
    k.apply(kpiFrame(5, '2026-11-30T10:00:02.000+08:00'))
    expect(k.frame!.at).toBe('2026-11-30T10:00:03.000+08:00')
    k.apply(kpiFrame(4, '2026-11-30T10:00:09.000+08:00'))
    expect(k.frame!.seq).toBe(5)
    k.apply(kpiFrame(6, '2026-11-30T10:00:04.000+08:00'))
    expect(k.frame!.seq).toBe(6)
    // Another region (the wall subscribed elsewhere): shown at once.
    k.apply(kpiFrame(2, '2026-11-30T10:00:05.000+08:00', '430602001'))
    expect(k.frame!.region).toBe('430602001')
  })

  it('labels the comparison by its basis: 较昨日同期 or 较上周同期', () => {
    const k = useKpiStore()
    const zh = createT('zh')
    const en = createT('en')
    expect(zh(k.labelKey)).toBe('较昨日同期')
    const compared = { values, from: '2026-11-23T00:00:00.000+08:00', at: '2026-11-23T09:30:00.000+08:00' }
    k.setComparison({ ...compared, basis: 'last_week', date: '2026-11-23' })
    expect([zh(k.labelKey), en(k.labelKey)]).toEqual(['较上周同期', 'vs same day last week'])
    k.setComparison({ ...compared, basis: 'yesterday', date: '2026-11-29' })
    expect([zh(k.labelKey), en(k.labelKey)]).toEqual(['较昨日同期', 'vs yesterday'])
  })
})
