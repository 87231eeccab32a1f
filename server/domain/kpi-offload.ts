/**
 * The main thread's side of the KPI worker (`kpi-worker.ts`): requests go out with an id and the
 * main clock's `now`, replies come back by id. A worker that dies fails the requests it held and is
 * started again on the next one. The worker runs the TypeScript sources through tsx, as the server does.
 */
import { Worker } from 'node:worker_threads'
import type { ScoreWeights } from '../../shared/kpis.ts'
import type { WorkCalendar } from '../../shared/working-time.ts'
import type { KpiReport, KpiSeries, KpiService } from './kpi-service.ts'

export interface KpiWorkerData {
  /** The SQLite file of the store (opened read-only in the worker). */
  dbFile: string
  /** The city file (`server/cities/<code>.json`). */
  cityFile: string
  calendar: WorkCalendar
  weights: ScoreWeights
  /** 一日双巡's local midday, minutes after midnight (PATROL_MIDDAY). */
  patrolMidday?: number
}

type Args<K extends 'kpis' | 'rankings' | 'series'> = Parameters<KpiService[K]>
export type KpiWorkerRequest = { id: number; now: number } & (
  | { op: 'kpis'; args: Args<'kpis'> }
  | { op: 'rankings'; args: Args<'rankings'> }
  | { op: 'series'; args: Args<'series'> }
)
export type KpiWorkerReply =
  { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string }

export interface KpiOffload {
  kpis(now: number, ...args: Args<'kpis'>): Promise<KpiReport>
  rankings(now: number, ...args: Args<'rankings'>): Promise<Awaited<ReturnType<KpiService['rankings']>>>
  series(now: number, ...args: Args<'series'>): Promise<KpiSeries>
  close(): Promise<void>
}

const tsxApi = import.meta.resolve('tsx/esm/api')
const entry = new URL('./kpi-worker.ts', import.meta.url).href
/** Eval code: register tsx's loader in the worker, then load the entry. */
const BOOT = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}) })`

export function createKpiOffload(data: KpiWorkerData): KpiOffload {
  let worker: Worker | null = null
  let nextId = 1
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  const failAll = (err: Error): void => {
    for (const p of pending.values()) p.reject(err)
    pending.clear()
  }
  const start = (): Worker => {
    const w = new Worker(BOOT, { eval: true, workerData: data, execArgv: [] })
    // The worker never keeps the process alive: a server stops by its own shutdown.
    w.unref()
    w.on('message', (r: KpiWorkerReply) => {
      const p = pending.get(r.id)
      pending.delete(r.id)
      if (r.ok) p?.resolve(r.result)
      else p?.reject(new Error(`KPI worker: ${r.error}`))
    })
    w.on('error', (err) => failAll(err))
    w.on('exit', (code) => {
      if (worker === w) worker = null
      failAll(new Error(`KPI worker exited with code ${code}`))
    })
    return w
  }
  const send = <T>(req: Omit<KpiWorkerRequest, 'id'>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      ;(worker ??= start()).postMessage({ ...req, id })
    })
  return {
    kpis: (now, ...args) => send({ op: 'kpis', now, args }),
    rankings: (now, ...args) => send({ op: 'rankings', now, args }),
    series: (now, ...args) => send({ op: 'series', now, args }),
    async close() {
      const w = worker
      worker = null
      await w?.terminate()
    },
  }
}
