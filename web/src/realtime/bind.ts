/**
 * The one place that binds the live stream to the stores (stores never import the socket).
 * Returns unbind(), which closes the connection.
 */
import { useConnectionStore } from '../stores/connection.ts'
import { useEventStore } from '../stores/events.ts'
import { useGridStore } from '../stores/grids.ts'
import { useKpiStore } from '../stores/kpis.ts'
import { usePositionsStore } from '../stores/positions.ts'
import { useStatsStore } from '../stores/stats.ts'
import { createLiveClient, type LiveClient } from './live-client.ts'

export function bindLive(opts: { url: string; token: string; region: string; now?: () => number }): {
  client: LiveClient
  unbind: () => void
} {
  const connection = useConnectionStore()
  const kpis = useKpiStore()
  const grids = useGridStore()
  const positions = usePositionsStore()
  const events = useEventStore()
  const stats = useStatsStore()
  const now = opts.now ?? (() => Date.now())
  const client = createLiveClient({
    url: opts.url,
    token: opts.token,
    region: opts.region,
    handlers: {
      state: (s) => connection.set(s),
      snapshot: (s) => {
        kpis.apply(s.kpis)
        grids.replaceAll(s.grids)
        if (s.workerIds) positions.reset(s.workerIds)
        if (s.positions) positions.apply(s.positions)
        if (s.alerts) events.seedAlerts(s.alerts)
        if (s.recent) events.seedTicker(s.recent)
      },
      kpis: (f) => kpis.apply(f),
      grids: (f) => grids.apply(f.grids),
      positions: (f) => positions.apply(f),
      change: (f) => {
        events.applyChange(f, now())
        stats.applyChange(f)
      },
      alert: (a) => events.applyAlert(a),
    },
  })
  return { client, unbind: () => client.close() }
}
