/**
 * `npm run bench:reads`: how long each heavy read blocks the event loop. The system is built as in
 * production (real SQLite file) with BACKFILL_DAYS of simulated history (30 by default: about a
 * minute; DATA_DIR=<dir> keeps and reuses the store), the clock fixed, nothing else running. Each
 * read goes through `app.request()` RUNS times; a probe re-arms `setImmediate` for as long as the
 * request is in flight and records the longest gap between two of its turns, which is the longest
 * time the loop did not turn; the event loop's active time over a run without the probe bounds the
 * main thread's own work for it. Target: ≤ 50 ms for every read. Writes a section to
 * BENCHMARKS.md unless REPORT=0.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseConfig } from '../../server/config.ts'
import { createSystem } from '../../server/system.ts'
import { startOfLocalDay } from '../../shared/working-time.ts'
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
const reused = process.env.DATA_DIR !== undefined
const built = performance.now()
await system.startSimulation()
const backfillS = (performance.now() - built) / 1000
const events = await system.store.countEvents()

const now = FIXED_NOW
const yesterday = now - DAY
const READS: [string, string][] = [
  ['KPIs today, district', `/api/v1/kpis?region=430602`],
  [
    'KPIs as of yesterday (the wall’s “vs yesterday”)',
    `/api/v1/kpis?region=430602&from=${isoQ(startOfLocalDay(yesterday, 'Asia/Shanghai'))}&to=${isoQ(yesterday)}&at=${isoQ(yesterday)}`,
  ],
  [
    `KPIs as of ${DAYS - 1} days ago`,
    `/api/v1/kpis?region=430602&from=${isoQ(now - DAYS * DAY)}&to=${isoQ(now - (DAYS - 1) * DAY)}&at=${isoQ(now - (DAYS - 1) * DAY)}`,
  ],
  [
    'KPIs over 400 days, district',
    `/api/v1/kpis?region=430602&from=${isoQ(now - 400 * DAY)}&to=${isoQ(now)}`,
  ],
  ['Street ranking, this month', `/api/v1/rankings?level=street`],
  [
    'Community ranking, 30 days',
    `/api/v1/rankings?level=community&from=${isoQ(now - 30 * DAY)}&to=${isoQ(now)}`,
  ],
  ['Street ranking, 400 days', `/api/v1/rankings?level=street&from=${isoQ(now - 400 * DAY)}&to=${isoQ(now)}`],
  ['Stats, 72 hours', `/api/v1/stats?region=430602&hours=72`],
]

// The machine's own noise: the longest gap of the probe while nothing runs (other processes on
// the same cores deschedule this one), and one read first so the worker thread has started.
const idle = await measure(() => new Promise((r) => setTimeout(r, 2000)))
await system.app.request(READS[0]![1], { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
const rows: string[] = [
  `| nothing (2 s idle: the noise floor) | 2000 | — | ${idle.blockMs.toFixed(1)} | ${idle.blockMs.toFixed(1)} | — |`,
]
let met = true
for (const [what, path] of READS) {
  const blocks: number[] = []
  const totals: number[] = []
  const busy: number[] = []
  const read = async () => {
    const res = await system.app.request(path, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`)
    await res.arrayBuffer()
  }
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
  const worstBusy = busy.at(-1)!
  met &&= worstBusy <= TARGET_MS
  rows.push(
    `| ${what} | ${median(totals).toFixed(0)} | ${worstBusy.toFixed(1)} | ${median(blocks).toFixed(1)} | ${blocks.at(-1)!.toFixed(1)} | ${worstBusy <= TARGET_MS ? 'met' : '**not met**'} |`,
  )
  console.log(rows.at(-1))
}
await system.stop()
if (!process.env.DATA_DIR) rmSync(dir, { recursive: true, force: true })

const body = [
  `Command: \`BACKFILL_DAYS=${DAYS} RUNS=${RUNS} npm run bench:reads\``,
  '',
  `Store: ${DAYS} days of simulated history (${events} events; ${reused ? 'a store kept from an earlier run' : `backfilled in ${backfillS.toFixed(0)} s`}; load average at the end ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores), the clock fixed at ${new Date(now).toISOString()}, nothing else running. Each read goes through \`app.request()\` with the admin token, ${RUNS} times. "Longest block" is the longest gap between two turns of a \`setImmediate\` probe kept running while the request was in flight: the longest time the loop did not turn, which includes the time the OS gave the cores to other processes (the idle row shows how much). "Main-thread busy" is the event loop's active time (\`performance.eventLoopUtilization\`) over a run of the read without the probe: all the main thread's own work for it, so a bound on its longest block; the target is judged on it.`,
  '',
  '| read | total ms (median) | main-thread busy ms (worst) | longest probe gap ms (median) | longest probe gap ms (worst) | target ≤ 50 ms |',
  '|---|---|---|---|---|---|',
  ...rows,
  '',
  `Target (no read holds the main thread's event loop more than ${TARGET_MS} ms): **${met ? 'met' : 'not met'}**.`,
].join('\n')
console.log(body)
if (process.env.REPORT !== '0') appendSection('Heavy reads and the event loop (`npm run bench:reads`)', body)
