/**
 * The KPI worker thread: the same `createKpiService` as the main thread, over a read-only connection
 * to the store's file, so a heavy read (a month's ranking, figures as of a past instant) takes a
 * core of its own and never the main thread's event loop. Started by `kpi-offload.ts`; each request
 * carries the main thread's `now`, so the figures are exactly those the main thread would compute.
 */
import { setPriority } from 'node:os'
import { parentPort, workerData } from 'node:worker_threads'
import { createCityIndex, loadCityFile } from '../city/city-index.ts'
import { openKpiSnapshotReader } from '../store/sqlite-kpi-snapshot.ts'
import type { KpiWorkerData, KpiWorkerReply, KpiWorkerRequest } from './kpi-offload.ts'
import { createKpiService } from './kpi-service.ts'

const data = workerData as KpiWorkerData
// This thread only (Linux: pid 0 is the calling thread): on cores shared with other work, the
// main thread's event loop (sockets, /healthz, writes) comes before a heavy read.
try {
  setPriority(0, 10)
} catch {
  // Not permitted here: the read still runs off the event loop, at the same priority.
}
const reader = openKpiSnapshotReader(data.dbFile)
let now = 0
const service = createKpiService({
  store: reader,
  clock: { now: () => now },
  calendar: data.calendar,
  city: createCityIndex(loadCityFile(data.cityFile)),
  weights: data.weights,
  ...(data.patrolMidday !== undefined ? { patrolMidday: data.patrolMidday } : {}),
})

async function answer(m: KpiWorkerRequest): Promise<KpiWorkerReply> {
  now = m.now
  try {
    const result =
      m.op === 'kpis'
        ? await service.kpis(...m.args)
        : m.op === 'rankings'
          ? await service.rankings(...m.args)
          : await service.series(...m.args)
    return { id: m.id, ok: true, result }
  } catch (err) {
    return { id: m.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }
  }
}

// One request at a time, in order: `now` belongs to the request being answered.
let queue = Promise.resolve()
parentPort!.on('message', (m: KpiWorkerRequest) => {
  queue = queue.then(async () => parentPort!.postMessage(await answer(m)))
})
