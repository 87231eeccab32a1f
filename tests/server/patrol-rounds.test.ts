/**
 * Patrol pings and rounds (issue 10, items 4 and 5), through the real system over a real SQLite store:
 * a ping dated more than 2 minutes ahead of the server clock is refused per item (HTTP and the
 * patrol service the simulator calls); a walk survives a restart of the system as one round; 一日双巡
 * needs a round starting before and one starting after the local midday that do not overlap, in the
 * KPIs now, as of a past instant and in the live aggregates.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createPatrolService } from '../../server/domain/patrol-service.ts'
import { createKpiService } from '../../server/domain/kpi-service.ts'
import { createLiveState } from '../../server/live/live-state.ts'
import { createSystem, type System } from '../../server/system.ts'
import type { KpiValues } from '../../shared/kpis.ts'
import type { Position } from '../../shared/types.ts'
import { ADMIN_TOKEN, call, manualClock, tempDir, testConfig, type ErrorBody } from './helpers.ts'

const MIN = 60_000
const HOUR = 60 * MIN
const iso8 = (ms: number): string => new Date(ms + 8 * 3_600_000).toISOString().replace('Z', '+08:00')
/** Wednesday 2026-11-25, local midnight (Asia/Shanghai). */
const DAY0 = Date.parse('2026-11-25T00:00:00+08:00')
const at = (h: number, m = 0): number => DAY0 + h * HOUR + m * MIN

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** A system without the simulator over `dataDir` (a fresh one unless given), its clock by hand. */
async function start(dataDir?: string, now = at(8)) {
  const dir = dataDir ? null : tempDir('patrol')
  if (dir) cleanups.push(() => dir.remove())
  const path = dataDir ?? dir!.path
  const clock = manualClock(now)
  const system = await createSystem(testConfig(path, { SIMULATE: '0' }), { clock })
  await system.start()
  let stopped = false
  const stop = async () => {
    if (!stopped) await system.stop()
    stopped = true
  }
  cleanups.push(stop)
  return { system, clock, dataDir: path, stop }
}

/** A worker, its grid and a point inside it; `outside` lies in another grid. */
function walker(system: System, n = 0) {
  const w = system.city.workers()[n]!
  const g = system.city.region(w.gridCode)!
  let [lng, lat] = g.centroid
  if (!system.city.inGrid(g.code, lng, lat)) [lng, lat] = system.city.randomPointIn(g.code, () => 0.5)
  const other = system.city.gridsOf(system.city.district.code).find((x) => x.code !== g.code)!
  return {
    workerId: w.id,
    gridCode: g.code,
    inside: { lng, lat },
    outside: { lng: other.centroid[0], lat: other.centroid[1] },
  }
}

/** Pings inside the grid once a minute on [from, to]. */
const walk = (w: ReturnType<typeof walker>, from: number, to: number) => {
  const out: Position[] = []
  for (let t = from; t <= to; t += MIN) out.push({ workerId: w.workerId, ...w.inside, at: t })
  return out
}

async function post(system: System, positions: Position[]) {
  return call<{
    accepted: number
    unknownWorkers: string[]
    outOfScopeWorkers: string[]
    refused: Array<{ index: number; workerId: string; code: string; message: { zh: string; en: string } }>
  }>(system.app, '/api/v1/positions', {
    token: ADMIN_TOKEN,
    body: { positions: positions.map((p) => ({ ...p, at: iso8(p.at) })) },
  })
}

const roundsOf = async (system: System, grid: string, now: number, asOf?: number) => {
  const day = { start: DAY0, end: DAY0 + 24 * HOUR }
  const snap = await system.store.kpiSnapshot(grid, day.start, day.end, day, now - 5 * MIN, asOf)
  return (snap.roundsByGrid.get(grid) ?? []).map((r) => ({ startedAt: r.startedAt, endedAt: r.endedAt }))
}

const kpis = async (system: System, grid: string, asOf?: number) => {
  const q = asOf === undefined ? '' : `&at=${encodeURIComponent(iso8(asOf))}`
  const r = await call<{ values: KpiValues }>(system.app, `/api/v1/kpis?region=${grid}${q}`, {
    token: ADMIN_TOKEN,
  })
  expect(r.status).toBe(200)
  return r.body.values
}

describe('pings dated in the future', () => {
  it('are refused one by one over HTTP, with 202 for the rest; they move neither the last position nor the on-duty count', async () => {
    const { system, clock } = await start()
    const w = walker(system)
    const now = clock.now()
    const r = await post(system, [
      { workerId: w.workerId, ...w.inside, at: now - MIN },
      { workerId: w.workerId, ...w.inside, at: now + 2 * MIN + 1000 },
      { workerId: w.workerId, ...w.inside, at: now + 2 * MIN },
      { workerId: w.workerId, ...w.inside, at: now + 3 * HOUR },
    ])
    expect(r.status).toBe(202)
    expect(r.body.accepted).toBe(2)
    expect(r.body.unknownWorkers).toEqual([])
    expect(r.body.outOfScopeWorkers).toEqual([])
    expect(r.body.refused.map((x) => [x.index, x.workerId, x.code])).toEqual([
      [1, w.workerId, 'future'],
      [3, w.workerId, 'future'],
    ])
    for (const x of r.body.refused) {
      expect(x.message.zh).toMatch(/服务器时钟/)
      expect(x.message.en).toMatch(/ahead of the server clock/)
    }
    const day = { start: DAY0, end: DAY0 + 24 * HOUR }
    const snap = await system.store.kpiSnapshot(w.gridCode, day.start, day.end, day, now - 5 * MIN)
    expect(snap.positions.map((p) => p.at)).toEqual([now + 2 * MIN])
    // Ten minutes on, the worker is off duty: no refused ping keeps it online.
    clock.set(now + 10 * MIN)
    expect((await kpis(system, w.gridCode)).onlineWorkers).toBe(0)
  })

  it('answers 422 when every ping of the batch is refused, naming them', async () => {
    const { system, clock } = await start()
    const w = walker(system)
    const r = await call<ErrorBody & { error: { details: { refused: { index: number; code: string }[] } } }>(
      system.app,
      '/api/v1/positions',
      {
        token: ADMIN_TOKEN,
        body: { positions: [{ workerId: w.workerId, ...w.inside, at: iso8(clock.now() + HOUR) }] },
      },
    )
    expect(r.status).toBe(422)
    expect(r.body.error.code).toBe('invalid_field')
    expect(r.body.error.details.refused.map((x) => [x.index, x.code])).toEqual([[0, 'future']])
  })

  it('are refused by the patrol service the simulator calls, too', async () => {
    const { system, clock } = await start()
    const w = walker(system)
    const patrol = createPatrolService({ store: system.store, clock, city: system.city, retentionDays: 7 })
    const now = clock.now()
    const r = await patrol.ingest([
      { workerId: w.workerId, ...w.inside, at: now + 5 * MIN },
      { workerId: w.workerId, ...w.inside, at: now },
    ])
    expect(r.accepted).toBe(1)
    expect(r.refused.map((x) => [x.index, x.code])).toEqual([[0, 'future']])
  })
})

describe('patrol rounds', () => {
  it('are one round of 20 minutes when the system restarts in the middle of the walk', async () => {
    const first = await start(undefined, at(9, 10))
    const w = walker(first.system)
    expect((await post(first.system, walk(w, at(9), at(9, 10)))).status).toBe(202)
    await first.stop()

    const second = await start(first.dataDir, at(9, 21))
    expect((await post(second.system, walk(w, at(9, 11), at(9, 20)))).status).toBe(202)
    expect(await roundsOf(second.system, w.gridCode, at(9, 21))).toEqual([
      { startedAt: at(9), endedAt: at(9, 20) },
    ])
  })

  it('are judged by ping time: pings delivered late (after 5 minutes of the server clock) still extend the walk', async () => {
    const { system, clock } = await start(undefined, at(9, 10))
    const w = walker(system)
    const patrol = createPatrolService({ store: system.store, clock, city: system.city, retentionDays: 7 })
    await patrol.ingest(walk(w, at(9), at(9, 10)))
    // The phone was offline: its next pings arrive 12 minutes later, in one batch, after a sweep.
    clock.set(at(9, 22))
    await patrol.sweep()
    await patrol.ingest(walk(w, at(9, 11), at(9, 20)))
    expect(await roundsOf(system, w.gridCode, at(9, 22))).toEqual([{ startedAt: at(9), endedAt: at(9, 20) }])
  })

  it('make 一日双巡 only with one round starting before the local midday and one after it, now, as of a past instant and live', async () => {
    const { system, clock } = await start(undefined, at(11))
    const w = walker(system)
    const live = createLiveState({
      store: system.store,
      clock,
      calendar: testConfig('.').calendar,
      city: system.city,
      weights: testConfig('.').weights,
      dayOf: createKpiService({
        store: system.store,
        clock,
        calendar: testConfig('.').calendar,
        city: system.city,
        weights: testConfig('.').weights,
      }).dayOf,
    })
    await live.rebuild()
    const patrol = createPatrolService({ store: system.store, clock, city: system.city, retentionDays: 7 })
    patrol.onIngest((p, r) => live.applyIngest(p, r))
    const coverage = async () => ({
      http: (await kpis(system, w.gridCode)).patrolCoverage,
      live: live.kpis(w.gridCode, clock.now()).patrolCoverage,
    })

    // Two 15-minute runs in the morning, 10 minutes apart (an outside ping between them).
    await patrol.ingest([
      ...walk(w, at(9), at(9, 15)),
      { workerId: w.workerId, ...w.outside, at: at(9, 20) },
      ...walk(w, at(9, 25), at(9, 40)),
    ])
    expect(await roundsOf(system, w.gridCode, clock.now())).toHaveLength(2)
    expect(live.grid(w.gridCode)[4]).toBe(2)
    expect(await coverage()).toEqual({ http: 0, live: 0 })

    // The afternoon round: 双巡 once it has lasted 15 minutes.
    clock.set(at(14, 10))
    await patrol.ingest(walk(w, at(14), at(14, 10)))
    expect(await coverage()).toEqual({ http: 0, live: 0 })
    clock.set(at(14, 30))
    await patrol.ingest(walk(w, at(14, 11), at(14, 20)))
    expect(await coverage()).toEqual({ http: 1, live: 1 })
    // A rebuilt live state agrees with the incremental one.
    await live.rebuild()
    expect(live.kpis(w.gridCode, clock.now()).patrolCoverage).toBe(1)

    // As it stood at 14:10 the afternoon round had lasted 10 minutes: no 双巡 then; at 14:16 it had.
    expect((await kpis(system, w.gridCode, at(14, 10))).patrolCoverage).toBe(0)
    expect((await kpis(system, w.gridCode, at(14, 16))).patrolCoverage).toBe(1)
    expect(await roundsOf(system, w.gridCode, clock.now(), at(14, 16))).toEqual([
      { startedAt: at(9), endedAt: at(9, 15) },
      { startedAt: at(9, 25), endedAt: at(9, 40) },
      { startedAt: at(14), endedAt: at(14, 16) },
    ])
  })

  it('take the configured midday (PATROL_MIDDAY)', async () => {
    const { system } = await start(undefined, at(16))
    const w = walker(system)
    const cfg = testConfig('.', { PATROL_MIDDAY: '15:00' })
    expect(cfg.patrolMidday).toBe(15 * 60)
    const service = (patrolMidday?: number) =>
      createKpiService({
        store: system.store,
        clock: system.clock,
        calendar: cfg.calendar,
        city: system.city,
        weights: cfg.weights,
        ...(patrolMidday === undefined ? {} : { patrolMidday }),
      })
    await post(system, [...walk(w, at(9), at(9, 20)), ...walk(w, at(14), at(14, 20))])
    const coverage = async (patrolMidday?: number) =>
      (await service(patrolMidday).kpis(w.gridCode, DAY0, DAY0 + 24 * HOUR)).values.patrolCoverage
    expect(await coverage()).toBe(1)
    expect(await coverage(cfg.patrolMidday)).toBe(0)
    expect(service(cfg.patrolMidday).dayOf(at(16)).midday).toBe(at(15))
  })
})
