/**
 * The live stream bound to the stores, per concern and per region: the one place a screen opens
 * `/live` (stores never import the socket, STYLE.md §7). `concerns` chooses which stores it feeds
 * (an embed of the KPIs needs neither positions nor the ticker); `region` may be a ref, and when it
 * changes the stream subscribes to the new region and the region's stores start afresh from its
 * snapshot. Changes of other regions (a token scoped to the district hears all of them) are not
 * applied. `createSocket` lets a test pass a fake socket. Closed when the calling scope ends
 * (component unmount), or by `stop()`.
 */
import { getCurrentScope, isRef, onScopeDispose, watch, type Ref } from 'vue'
import { createLiveClient, type LiveClient, type LiveClientOptions } from '../realtime/live-client.ts'
import { useConnectionStore } from '../stores/connection.ts'
import { useEventStore } from '../stores/events.ts'
import { useGridStore } from '../stores/grids.ts'
import { useKpiStore } from '../stores/kpis.ts'
import { usePositionsStore } from '../stores/positions.ts'
import { useStatsStore } from '../stores/stats.ts'

export type Concern = 'kpis' | 'grids' | 'positions' | 'events' | 'stats'
export const ALL_CONCERNS: readonly Concern[] = ['kpis', 'grids', 'positions', 'events', 'stats']

export interface UseLiveOptions {
  token: string
  region: Ref<string> | string
  concerns?: readonly Concern[]
  /** Server origin ('' for the page's own). */
  url?: string
  now?: () => number
  createSocket?: LiveClientOptions['createSocket']
  transports?: LiveClientOptions['transports']
}

export function useLive(o: UseLiveOptions): { client: LiveClient; stop: () => void } {
  const want = new Set(o.concerns ?? ALL_CONCERNS)
  const connection = useConnectionStore()
  const kpis = useKpiStore()
  const grids = useGridStore()
  const positions = usePositionsStore()
  const events = useEventStore()
  const stats = useStatsStore()
  const now = o.now ?? (() => Date.now())
  const regionOf = () => (isRef(o.region) ? o.region.value : o.region)
  let region = regionOf()
  const mine = (gridCode: string) => gridCode.startsWith(region)

  const client = createLiveClient({
    url: o.url ?? '',
    token: o.token,
    region,
    ...(o.createSocket ? { createSocket: o.createSocket } : {}),
    ...(o.transports ? { transports: o.transports } : {}),
    handlers: {
      state: (s) => connection.set(s),
      snapshot: (s) => {
        // A late answer to the subscribe of a region since left is not this region's.
        if (s.region !== region) return
        if (want.has('kpis')) kpis.apply(s.kpis)
        if (want.has('grids')) grids.replaceAll(s.grids)
        if (want.has('positions')) {
          if (s.workerIds) positions.reset(s.workerIds)
          if (s.positions) positions.apply(s.positions)
        }
        if (want.has('events')) {
          if (s.alerts) events.seedAlerts(s.alerts.filter((a) => mine(a.gridCode)))
          if (s.recent) events.seedTicker(s.recent.filter((f) => mine(f.event.gridCode)))
        }
      },
      kpis: (f) => want.has('kpis') && f.region === region && kpis.apply(f),
      grids: (f) => want.has('grids') && f.region === region && grids.apply(f.grids),
      positions: (f) => want.has('positions') && positions.apply(f),
      change: (f) => {
        if (!mine(f.event.gridCode)) return
        if (want.has('events')) events.applyChange(f, now())
        if (want.has('stats')) stats.applyChange(f)
      },
      alert: (a) => want.has('events') && mine(a.gridCode) && events.applyAlert(a),
    },
  })

  if (isRef(o.region))
    watch(o.region, (r) => {
      if (r === region) return
      region = r
      if (want.has('events')) events.reset()
      if (want.has('grids')) grids.replaceAll([])
      client.subscribe(r)
    })
  const stop = () => client.close()
  if (getCurrentScope()) onScopeDispose(stop)
  return { client, stop }
}
