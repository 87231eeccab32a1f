/**
 * `npm run bench:reads`: how long each heavy read blocks the event loop. The system is built as in
 * production (real SQLite file) with BACKFILL_DAYS of simulated history (30 by default: about a
 * minute; DATA_DIR=<dir> keeps and reuses the store), the clock fixed, nothing else running. Each
 * read goes through `app.request()` RUNS times; a probe re-arms `setImmediate` for as long as the
 * request is in flight and records the longest gap between two of its turns, which is the longest
 * time the loop did not turn; the event loop's active time over a run without the probe bounds the
 * main thread's own work for it. Target: ≤ 50 ms for every read. In the same run, each KPI and
 * ranking read is also made by the same KPI service on the main thread (the design before the
 * worker), so the two are compared at equal load. Writes a section to BENCHMARKS.md unless REPORT=0.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseConfig } from '../../server/config.ts'
import { createSystem } from '../../server/system.ts'
import { localDate, startOfLocalDay } from '../../shared/working-time.ts'
import { createKpiService } from '../../server/domain/kpi-service.ts'
import { ADMIN_TOKEN, FIXED_NOW, isoQ, manualClock } from '../server/helpers.ts'
import { appendSection, median } from './bench-report.ts'

const DAYS = Number(process.env.BACKFILL_DAYS ?? 30)
const RUNS = Number(process.env.RUNS ?? 5)
const TARGET_MS = 50
const DAY = 86_400_000

/** Run `fn` while a setImmediate probe measures the longest gap between its turns. */
async function measure(fn: () => Promise<unknown>): Promise<{ totalMs: number; blockMs: number }> {
  let last = performance.now()
  let worst = 0
  let running = true
  const probe = (): void => {
    const t = performance.now()
    worst = Math.max(worst, t - last)
    last = t
    if (running) setImmediate(probe)
  }
  setImmediate(probe)
  const start = performance.now()
  await fn()
  const totalMs = performance.now() - start
  running = false
  probe()
  return { totalMs, blockMs: worst }
}

const dir = process.env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'city-brain-bench-reads-'))
const parsed = parseConfig({
  DATA_DIR: dir,
  SIMULATE: '1',
  BACKFILL_DAYS: String(DAYS),
  LOG_LEVEL: 'warn',
  ADMIN_TOKEN,
})
if (!parsed.ok) throw new Error(parsed.errors.join('; '))
const clock = manualClock(FIXED_NOW)
const system = await createSystem(parsed.config, { clock })
await system.start()
const reused = process.env.DATA_DIR !== undefined
const built = performance.now()
await system.startSimulation()
const backfillS = (performance.now() - built) / 1000
const events = await system.store.countEvents()

const now = FIXED_NOW
const yesterday = now - DAY
const tz = parsed.config.calendar.timeZone
/** The same KPI code on the main thread (no worker): the design before, compared in this run. */
const mainThread = createKpiService({
  store: system.store,
  clock,
  calendar: parsed.config.calendar,
  city: system.city,
  weights: parsed.config.weights,
})
const today = mainThread.dayOf(now)
const monthStart = startOfLocalDay(now - (Number(localDate(now, tz).slice(8, 10)) - 1) * DAY, tz)
const dayStartYesterday = startOfLocalDay(yesterday, tz)

interface Read {
  what: string
  path: string
  /** The same read by the KPI service on the main thread (absent: it has no other design). */
  direct?: () => Promise<unknown>
}
const READS: Read[] = [
  {
    what: 'KPIs today, district',
    path: `/api/v1/kpis?region=430602`,
    direct: () => mainThread.kpis('430602', today.start, today.end),
  },
  {
    what: 'KPIs as of yesterday (the wall’s “vs yesterday”)',
    path: `/api/v1/kpis?region=430602&from=${isoQ(dayStartYesterday)}&to=${isoQ(yesterday)}&at=${isoQ(yesterday)}`,
    direct: () => mainThread.kpis('430602', dayStartYesterday, yesterday, yesterday),
  },
  {
    what: `KPIs as of ${DAYS - 1} days ago`,
    path: `/api/v1/kpis?region=430602&from=${isoQ(now - DAYS * DAY)}&to=${isoQ(now - (DAYS - 1) * DAY)}&at=${isoQ(now - (DAYS - 1) * DAY)}`,
    direct: () => mainThread.kpis('430602', now - DAYS * DAY, now - (DAYS - 1) * DAY, now - (DAYS - 1) * DAY),
  },
  {
    what: 'KPIs over 400 days, district',
    path: `/api/v1/kpis?region=430602&from=${isoQ(now - 400 * DAY)}&to=${isoQ(now)}`,
    direct: () => mainThread.kpis('430602', now - 400 * DAY, now),
  },
  {
    what: 'Street ranking, this month',
    path: `/api/v1/rankings?level=street`,
    direct: () => mainThread.rankings('street', monthStart, today.end),
  },
  {
    what: 'Community ranking, 30 days',
    path: `/api/v1/rankings?level=community&from=${isoQ(now - 30 * DAY)}&to=${isoQ(now)}`,
    direct: () => mainThread.rankings('community', now - 30 * DAY, now),
  },
  {
    what: 'Street ranking, 400 days',
    path: `/api/v1/rankings?level=street&from=${isoQ(now - 400 * DAY)}&to=${isoQ(now)}`,
    direct: () => mainThread.rankings('street', now - 400 * DAY, now),
  },
  { what: 'Stats, 72 hours', path: `/api/v1/stats?region=430602&hours=72` },
]

// The machine's own noise: the longest gap of the probe while nothing runs (other processes on
// the same cores deschedule this one), and one read first so the worker thread has started.
const idle = await measure(() => new Promise((r) => setTimeout(r, 2000)))
await system.app.request(READS[0]!.path, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
const rows: string[] = [
  `| nothing (2 s idle: the noise floor) | 2000 | — | ${idle.blockMs.toFixed(1)} | ${idle.blockMs.toFixed(1)} | — | — | — | — |`,
]
/** RUNS runs of `read`: totals and probe gaps (median, worst), and the worst loop-active time. */
async function runs(read: () => Promise<unknown>) {
  const blocks: number[] = []
  const totals: number[] = []
  const busy: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const m = await measure(read)
    blocks.push(m.blockMs)
    totals.push(m.totalMs)
    // Without the probe (which keeps the loop busy): the loop's active time is the main thread's
    // own work for the read, whatever else runs on the machine, and bounds its longest block.
    const before = performance.eventLoopUtilization()
    await read()
    busy.push(performance.eventLoopUtilization(before).active)
  }
  for (const xs of [blocks, totals, busy]) xs.sort((a, b) => a - b)
  return { total: median(totals), gap: median(blocks), worstGap: blocks.at(-1)!, worstBusy: busy.at(-1)! }
}
let met = true
for (const { what, path, direct } of READS) {
  const w = await runs(async () => {
    const res = await system.app.request(path, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`)
    await res.arrayBuffer()
  })
  const m = direct ? await runs(direct) : null
  met &&= w.worstBusy <= TARGET_MS
  const mainCols = m
    ? `${m.total.toFixed(0)} | ${m.worstBusy.toFixed(1)} | ${m.worstGap.toFixed(1)}`
    : '— | — | —'
  rows.push(
    `| ${what} | ${w.total.toFixed(0)} | ${w.worstBusy.toFixed(1)} | ${w.gap.toFixed(1)} | ${w.worstGap.toFixed(1)} | ${w.worstBusy <= TARGET_MS ? 'met' : '**not met**'} | ${mainCols} |`,
  )
  console.log(rows.at(-1))
}
await mainThread.close()
await system.stop()
if (!process.env.DATA_DIR) rmSync(dir, { recursive: true, force: true })

const body = [
  `Command: \`BACKFILL_DAYS=${DAYS} RUNS=${RUNS} npm run bench:reads\``,
  '',
  `Store: ${DAYS} days of simulated history (${events} events; ${reused ? 'a store kept from an earlier run' : `backfilled in ${backfillS.toFixed(0)} s`}; load average at the end ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores), the clock fixed at ${new Date(now).toISOString()}, nothing else running. Each read goes through \`app.request()\` with the admin token, ${RUNS} times. "Longest block" is the longest gap between two turns of a \`setImmediate\` probe kept running while the request was in flight: the longest time the loop did not turn, which includes the time the OS gave the cores to other processes (the idle row shows how much). "Main-thread busy" is the event loop's active time (\`performance.eventLoopUtilization\`) over a run of the read without the probe: all the main thread's own work for it, so a bound on its longest block; the target is judged on it.`,
  '',
  'Both designs are measured in this one run, on the same store and machine: the product (KPI and ranking reads in the worker thread) through `app.request()`, and the design before it (the same `createKpiService` on the main thread, called directly, so without the HTTP layer).',
  '',
  '| read | worker: total ms (median) | worker: main-thread busy ms (worst) | worker: longest probe gap ms (median) | worker: longest probe gap ms (worst) | target ≤ 50 ms | main thread: total ms (median) | main thread: busy ms (worst) | main thread: longest probe gap ms (worst) |',
  '|---|---|---|---|---|---|---|---|---|',
  ...rows,
  '',
  `Target (no read holds the main thread's event loop more than ${TARGET_MS} ms): **${met ? 'met' : 'not met'}**.`,
].join('\n')
console.log(body)
if (process.env.REPORT !== '0') appendSection('Heavy reads and the event loop (`npm run bench:reads`)', body)
