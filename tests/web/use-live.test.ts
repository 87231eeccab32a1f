/**
 * useLive (web/src/composables/useLive.ts) with a fake socket: it feeds only the concerns asked
 * for, applies only the region shown (a district-wide token hears every street's changes), and
 * when the region changes it subscribes to the new one and that region's lists start afresh; it
 * closes the socket when its scope ends.
 */
import { createPinia, setActivePinia } from 'pinia'
import { effectScope, nextTick, ref } from 'vue'
import { beforeEach, describe, expect, it } from 'vitest'
import type { ChangeFrame, GridAggregate, KpiFrame, Snapshot } from '../../shared/live.ts'
import { emptyKpiCounters, kpisFromCounters } from '../../shared/kpis.ts'
import { useLive } from '../../web/src/composables/useLive.ts'
import type { LiveSocket } from '../../web/src/realtime/live-client.ts'
import { useEventStore } from '../../web/src/stores/events.ts'
import { useGridStore } from '../../web/src/stores/grids.ts'
import { useKpiStore } from '../../web/src/stores/kpis.ts'
import { usePositionsStore } from '../../web/src/stores/positions.ts'

type Listener = (...args: unknown[]) => void
class FakeSocket {
  listeners = new Map<string, Listener[]>()
  connected = false
  active = true
  closed = false
  subscribes: { region: string; ack: (res: unknown) => void }[] = []
  on(event: string, fn: Listener) {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), fn])
    return this
  }
  emit(event: string, payload: { region: string }, ack?: (res: unknown) => void) {
    if (event === 'subscribe' && ack) this.subscribes.push({ region: payload.region, ack })
    return this
  }
  connect() {
    return this
  }
  close() {
    this.closed = true
    return this
  }
  removeAllListeners() {
    this.listeners.clear()
    return this
  }
  fire(event: string, ...args: unknown[]) {
    if (event === 'connect') this.connected = true
    for (const fn of this.listeners.get(event) ?? []) fn(...args)
  }
}

const values = kpisFromCounters(emptyKpiCounters(), { grids: 1, gridsWithTwoRounds: 0, onlineWorkers: 0 })
const kpiFrame = (region: string, seq: number): KpiFrame => ({
  seq,
  region,
  from: '2026-11-25T00:00:00+08:00',
  to: '2026-11-26T00:00:00+08:00',
  at: '2026-11-25T15:30:00+08:00',
  values: { ...values, reported: seq },
})
const grid = (code: string, open: number): GridAggregate => [code, open, 0, 0, 0]
const snapshot = (region: string, seq: number): Snapshot => ({
  seq,
  region,
  kpis: kpiFrame(region, seq),
  grids: [grid(`${region}001001`.slice(0, 15), 2)],
  workerIds: ['W1'],
  positions: { at: '2026-11-25T15:30:00+08:00', workers: [0, 11313000, 2937000] },
  alerts: [],
  recent: [],
})
const change = (seq: number, gridCode: string): ChangeFrame =>
  ({
    seq,
    at: '2026-11-25T15:30:00+08:00',
    event: {
      id: `E${seq}`,
      gridCode,
      category: 'CG0101',
      action: 'report',
      status: 'reported',
      lat: 29.3,
      lng: 113.1,
    },
  }) as unknown as ChangeFrame

function setup(concerns?: Parameters<typeof useLive>[0]['concerns']) {
  const socket = new FakeSocket()
  const region = ref('430602001')
  const scope = effectScope()
  scope.run(() =>
    useLive({
      token: 't',
      region,
      ...(concerns ? { concerns } : {}),
      createSocket: () => socket as unknown as LiveSocket,
    }),
  )
  return { socket, region, scope }
}

beforeEach(() => setActivePinia(createPinia()))

describe('useLive', () => {
  it('subscribes to the region shown and feeds the stores from its snapshot', () => {
    const { socket } = setup()
    socket.fire('connect')
    expect(socket.subscribes.map((s) => s.region)).toEqual(['430602001'])
    socket.subscribes[0]!.ack({ ok: true, data: snapshot('430602001', 5) })
    expect(useKpiStore().frame?.seq).toBe(5)
    expect(useGridStore().byCode.size).toBe(1)
    expect(usePositionsStore().count()).toBe(1)
  })

  it('applies changes and frames of the region shown only', () => {
    const { socket } = setup()
    socket.fire('connect')
    socket.subscribes[0]!.ack({ ok: true, data: snapshot('430602001', 5) })
    socket.fire('change', change(6, '430602002001001'))
    socket.fire('change', change(7, '430602001001001'))
    expect(useEventStore().ticker.map((f) => f.seq)).toEqual([7])
    socket.fire('kpis', kpiFrame('430602', 8))
    expect(useKpiStore().frame?.region).toBe('430602001')
    socket.fire('grids', { seq: 8, region: '430602', at: '', grids: [grid('430602002001001', 1)] })
    expect(useGridStore().byCode.has('430602002001001')).toBe(false)
  })

  it('feeds only the concerns asked for', () => {
    const { socket } = setup(['kpis'])
    socket.fire('connect')
    socket.subscribes[0]!.ack({ ok: true, data: snapshot('430602001', 5) })
    expect(useKpiStore().frame?.seq).toBe(5)
    expect(useGridStore().byCode.size).toBe(0)
    expect(usePositionsStore().count()).toBe(0)
    socket.fire('change', change(6, '430602001001001'))
    expect(useEventStore().ticker).toEqual([])
  })

  it('switches region: subscribes again, starts the lists afresh, ignores a late snapshot of the old region', async () => {
    const { socket, region } = setup()
    socket.fire('connect')
    const first = socket.subscribes[0]!
    socket.fire('change', change(6, '430602001001001'))
    expect(useEventStore().ticker).toHaveLength(1)
    region.value = '430602002'
    await nextTick()
    expect(socket.subscribes.map((s) => s.region)).toEqual(['430602001', '430602002'])
    expect(useEventStore().ticker).toEqual([])
    first.ack({ ok: true, data: snapshot('430602001', 9) })
    expect(useKpiStore().frame).toBeNull()
    socket.subscribes[1]!.ack({ ok: true, data: snapshot('430602002', 10) })
    expect(useKpiStore().frame?.region).toBe('430602002')
  })

  it('closes the socket when its scope ends', () => {
    const { socket, scope } = setup()
    scope.stop()
    expect(socket.closed).toBe(true)
  })
})
