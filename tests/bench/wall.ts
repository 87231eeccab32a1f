/**
 * `npm run bench:wall`: the wall's main-thread cost under a heavy stream, in headless Chromium.
 *
 * A real server makes a two-day backfill, then serves the page and the REST API with the simulator off;
 * `wall-driver.ts` proxies them and plays `/live` itself: 6,000 moving workers and all 652 grids every
 * second, a KPI frame a second and a stream of change frames. Measured after a warm-up:
 *   - per update: the `wall-update` measures of the wall's map layer redraws (options built, set,
 *     layer painted), overall and per layer (the live layer on the tick, the grid layer half a second later),
 *   - main-thread busy time per second (CDP `Performance.getMetrics` TaskDuration: everything the page
 *     does, frames parsed, stores, Vue, charts, animations),
 *   - long tasks (PerformanceObserver `longtask`), excluding the benchmark's own forced GCs,
 *   - JS heap after a forced GC, once a minute, over the soak.
 * Writes a section to BENCHMARKS.md. Options (env): SOAK_MINUTES (10), WARMUP_SECONDS (60),
 * WORKERS (6000), CHANGES_PER_SECOND (10), SIZE (1920x1080), REPORT (0: print only, leave BENCHMARKS.md),
 * PROFILE=file (top JS functions over 20 s), TRACE=file (what the long tasks spent their time in over 20 s).
 */
import { writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import type { Browser, CDPSession, Page } from 'playwright-core'
import { tempDir } from '../server/helpers.ts'
import { freePort } from '../server/live-helpers.ts'
import {
  DISTRICT,
  ensureBuilt,
  launchChromium,
  mintOfficer,
  startServer,
  waitForLive,
  wallEnv,
  watchErrors,
} from '../e2e/wall-harness.ts'
import { appendSection, median, percentile } from './bench-report.ts'
import { startDriver } from './wall-driver.ts'

const SOAK_MINUTES = Number(process.env.SOAK_MINUTES ?? 10)
const WARMUP_SECONDS = Number(process.env.WARMUP_SECONDS ?? 60)
const WORKERS = Number(process.env.WORKERS ?? 6000)
const CHANGES_PER_SECOND = Number(process.env.CHANGES_PER_SECOND ?? 10)
const [WIDTH, HEIGHT] = (process.env.SIZE ?? '1920x1080').split('x').map(Number) as [number, number]
const TARGET = { p95Ms: 33, longTaskMs: 100, heapGrowthMb: 20 }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const MB = 2 ** 20
const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '—')
const log = (s: string) => process.stderr.write(`[bench:wall] ${s}\n`)

/** Installed before the page's own scripts: collects update measures and long tasks. */
function observe(): void {
  const w = window as unknown as { __bench: { updates: [number, string][]; longTasks: [number, number][] } }
  w.__bench = { updates: [], longTasks: [] }
  new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      if (e.name === 'wall-update')
        w.__bench.updates.push([e.duration, String((e as PerformanceMeasure).detail)])
  }).observe({ type: 'measure' })
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) w.__bench.longTasks.push([e.startTime, e.duration])
  }).observe({ type: 'longtask', buffered: true })
}

/** Take what the page collected since the last call (the page keeps nothing for long). */
const drain = (page: Page) =>
  page.evaluate(() => {
    const w = window as unknown as { __bench: { updates: [number, string][]; longTasks: [number, number][] } }
    const out = w.__bench
    w.__bench = { updates: [], longTasks: [] }
    return out
  })

/** The renderer's main-thread task time so far and the time it was read at, both in seconds. */
async function taskTime(cdp: CDPSession): Promise<{ task: number; at: number }> {
  const { metrics } = await cdp.send('Performance.getMetrics')
  const get = (name: string) => metrics.find((m) => m.name === name)!.value
  return { task: get('TaskDuration'), at: get('Timestamp') }
}

/**
 * PROFILE=file: record the page's CPU for 20 s and print the functions with the most self time
 * (a diagnosis aid; the raw profile goes to `file`, loadable in Chrome's DevTools).
 */
async function profile(cdp: CDPSession, file: string): Promise<void> {
  await cdp.send('Profiler.enable')
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 })
  await cdp.send('Profiler.start')
  await sleep(20_000)
  const { profile } = await cdp.send('Profiler.stop')
  writeFileSync(file, JSON.stringify(profile))
  const self = new Map<string, number>()
  const dt = new Map<number, number>()
  profile.samples?.forEach((id, i) => dt.set(id, (dt.get(id) ?? 0) + (profile.timeDeltas?.[i] ?? 0)))
  for (const n of profile.nodes) {
    const f = n.callFrame
    const key = `${f.functionName || '(anon)'} ${f.url.split('/').pop()}:${f.lineNumber}`
    self.set(key, (self.get(key) ?? 0) + (dt.get(n.id) ?? 0))
  }
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 40)
  for (const [k, us] of top) log(`${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`)
}

/** One complete trace event of Chromium's timeline. */
interface TraceEvent {
  name: string
  ph: string
  ts: number
  dur?: number
  pid: number
  tid: number
}

/**
 * TRACE=file: record Chromium's timeline for 20 s and print what the long tasks (over 50 ms) of the
 * page's main thread spent their time in: the trace events directly inside each long task, summed
 * by name (a diagnosis aid; the raw trace goes to `file`, loadable in Chrome's DevTools).
 */
async function trace(browser: Browser, page: Page, file: string): Promise<void> {
  await browser.startTracing(page, {
    categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8', 'blink'],
  })
  await sleep(20_000)
  const raw = await browser.stopTracing()
  writeFileSync(file, raw)
  const events = (JSON.parse(raw.toString()) as { traceEvents: TraceEvent[] }).traceEvents.filter(
    (e) => e.ph === 'X' && e.dur !== undefined,
  )
  const long = events.filter((e) => e.name === 'RunTask' && e.dur! > 50_000)
  const inside = new Map<string, number>()
  for (const t of long) {
    const children = events.filter(
      (e) => e !== t && e.pid === t.pid && e.tid === t.tid && e.ts >= t.ts && e.ts + e.dur! <= t.ts + t.dur!,
    )
    // Only the outermost events inside the task, so nested time is not counted twice.
    const top = children.filter(
      (e) =>
        !children.some((o) => o !== e && o.ts <= e.ts && o.ts + o.dur! >= e.ts + e.dur! && o.dur! > e.dur!),
    )
    for (const e of top) inside.set(e.name, (inside.get(e.name) ?? 0) + e.dur!)
  }
  log(`${long.length} tasks over 50 ms in 20 s: ${long.map((t) => (t.dur! / 1000).toFixed(0)).join(', ')} ms`)
  for (const [name, us] of [...inside].sort((a, b) => b[1] - a[1]).slice(0, 20))
    log(`${(us / 1000).toFixed(1).padStart(8)} ms  ${name}`)
}

async function main(): Promise<void> {
  ensureBuilt()
  const loadBefore = loadavg()[0]!
  const dir = tempDir('bench-wall')
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  log('backfilling two days')
  let server = await startServer(wallEnv(port, dir.path))
  await server.kill('SIGTERM')
  server = await startServer(wallEnv(port, dir.path, { SIMULATE: '0' }))
  const token = await mintOfficer(base)
  const driver = await startDriver({
    upstream: base,
    token,
    region: DISTRICT,
    workers: WORKERS,
    changesPerSecond: CHANGES_PER_SECOND,
  })
  const browser = await launchChromium([
    '--enable-precise-memory-info',
    '--disable-background-timer-throttling',
    '--disable-renderer-backgrounding',
    '--disable-backgrounding-occluded-windows',
  ])
  try {
    const page = await browser.newPage({ viewport: { width: WIDTH, height: HEIGHT }, deviceScaleFactor: 1 })
    const errors = watchErrors(page)
    await page.addInitScript(observe)
    await page.goto(`${driver.base}/wall?token=${token}`)
    await waitForLive(page)
    const cdp = await page.context().newCDPSession(page)
    await cdp.send('Performance.enable')

    const updates: [number, string][] = []
    const longTasks: { at: number; duration: number; soak: boolean }[] = []
    const gcWindows: [number, number][] = []
    const busy: number[] = []
    const heap: { minute: number; used: number; precise: number }[] = []
    let soak = false

    const collect = async () => {
      const d = await drain(page)
      if (soak) updates.push(...d.updates)
      for (const [at, duration] of d.longTasks) longTasks.push({ at, duration, soak })
    }
    const sampleHeap = async (minute: number) => {
      const t0 = await page.evaluate(() => performance.now())
      await cdp.send('HeapProfiler.collectGarbage')
      const { usedSize } = await cdp.send('Runtime.getHeapUsage')
      const precise = await page.evaluate(
        () => (performance as unknown as { memory: { usedJSHeapSize: number } }).memory.usedJSHeapSize,
      )
      gcWindows.push([t0, await page.evaluate(() => performance.now())])
      heap.push({ minute, used: usedSize, precise })
      log(`heap after GC at minute ${minute}: ${fmt(usedSize / MB)} MB`)
    }

    log(`warming up ${WARMUP_SECONDS} s`)
    await sleep(WARMUP_SECONDS * 1000)
    await collect()
    soak = true
    await sampleHeap(0)
    if (process.env.PROFILE) await profile(cdp, process.env.PROFILE)
    if (process.env.TRACE) await trace(browser, page, process.env.TRACE)
    log(`soaking ${SOAK_MINUTES} min`)
    // Busy milliseconds per second of wall-clock time, read about once a second (a busy page answers
    // late, so each reading is divided by the time that actually passed).
    let last = await taskTime(cdp)
    for (let s = 1; s <= SOAK_MINUTES * 60; s++) {
      await sleep(1000)
      const now = await taskTime(cdp)
      busy.push(((now.task - last.task) / (now.at - last.at)) * 1000)
      last = now
      if (s % 10 === 0) await collect()
      if (s % 60 === 0) {
        await sampleHeap(s / 60)
        // The forced GC is the benchmark's cost, not the wall's: start the next reading after it.
        last = await taskTime(cdp)
      }
    }
    await collect()

    const ours = (t: { at: number }) => gcWindows.some(([a, b]) => t.at >= a - 20 && t.at <= b + 100)
    const steady = longTasks.filter((t) => t.soak && !ours(t))
    const loading = longTasks.filter((t) => !t.soak)
    const sorted = (layer?: string) =>
      updates
        .filter(([, l]) => !layer || l === layer)
        .map(([d]) => d)
        .sort((a, b) => a - b)
    const u = sorted()
    const layers = Object.fromEntries(
      ['live', 'grids'].map((l) => {
        const v = sorted(l)
        return [l, { n: v.length, median: median(v), p95: percentile(v, 0.95), max: v.at(-1) ?? NaN }]
      }),
    )
    const b = [...busy].sort((a, b) => a - b)
    const growth = (heap.at(-1)!.used - heap[0]!.used) / MB
    const maxTask = Math.max(0, ...steady.map((t) => t.duration))
    const result = {
      updates: u.length,
      updateMedian: median(u),
      updateP95: percentile(u, 0.95),
      updateMax: u.at(-1) ?? NaN,
      layers,
      busyMedian: median(b),
      busyP95: percentile(b, 0.95),
      longTasks: steady.length,
      longTaskMax: maxTask,
      loadingLongTasks: loading.length,
      loadingLongTaskMax: Math.max(0, ...loading.map((t) => t.duration)),
      heapStart: heap[0]!.used / MB,
      heapEnd: heap.at(-1)!.used / MB,
      growth,
      errors: errors.length,
    }
    log(JSON.stringify(result))
    const ok = (pass: boolean) => (pass ? 'met' : '**not met**')
    const version = browser.version()
    if (process.env.REPORT === '0') return
    appendSection(
      // Another screen size gets its own section, beside the default one.
      WIDTH === 1920 && HEIGHT === 1080
        ? 'Wall rendering under load (bench:wall)'
        : `Wall rendering under load (bench:wall, ${WIDTH}×${HEIGHT})`,
      [
        `Command: \`${process.env.SIZE ? `SIZE=${process.env.SIZE} ` : ''}SOAK_MINUTES=${SOAK_MINUTES} npm run bench:wall\` (warm-up ${WARMUP_SECONDS} s, then a ${SOAK_MINUTES}-minute soak). ` +
          `Headless Chromium ${version} (\`--disable-gpu\`: software rendering), viewport ${WIDTH}×${HEIGHT}, device pixel ratio 1.`,
        '',
        `Load: ${WORKERS.toLocaleString('en')} workers moving (one \`positions\` frame a second), all ${driver.grids} grids changed ` +
          `in one \`grids\` frame a second, a \`kpis\` frame a second, ${CHANGES_PER_SECOND} \`change\` frames a second ` +
          '(the ticker, pulses and trend), an overdue alert every 15 s: a synthetic `/live` (`tests/bench/wall-driver.ts`); the page ' +
          'and the REST API come from the real server (simulator off after a two-day backfill), proxied. ' +
          `Frames sent: ${Object.entries(driver.sent)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}.`,
        '',
        '| Measure (after warm-up) | Result | Target | |',
        '| --- | --- | --- | --- |',
        `| One update: one map layer redrawn (options built, \`setOption\`, layer painted synchronously), median | ${fmt(result.updateMedian)} ms (${result.updates} updates) | | |`,
        `| One update, p95 (max) | ${fmt(result.updateP95)} ms (${fmt(result.updateMax)} ms) | ≤ ${TARGET.p95Ms} ms | ${ok(result.updateP95 <= TARGET.p95Ms)} |`,
        ...Object.entries(layers).map(
          ([l, v]) =>
            `| … the ${l === 'live' ? 'live layer (6,000 workers, pulses, overdue markers; every second)' : 'grid layer (652 grids recoloured; every second, half a second after the live layer)'}: median / p95 (max) | ${fmt(v.median)} / ${fmt(v.p95)} ms (${fmt(v.max)} ms), ${v.n} updates | | |`,
        ),
        `| Main thread busy per second of wall-clock time (everything: frames parsed, stores, Vue, charts, animations), median / p95 | ${fmt(result.busyMedian, 0)} / ${fmt(result.busyP95, 0)} ms | | |`,
        `| Long tasks over 50 ms: count, longest | ${result.longTasks}, ${fmt(result.longTaskMax)} ms | none over ${TARGET.longTaskMs} ms | ${ok(result.longTaskMax <= TARGET.longTaskMs)} |`,
        `| JS heap after forced GC: after warm-up → end of soak | ${fmt(result.heapStart)} → ${fmt(result.heapEnd)} MB (growth ${fmt(growth)} MB) | ≤ ${TARGET.heapGrowthMb} MB | ${ok(growth <= TARGET.heapGrowthMb)} |`,
        '',
        `Heap after GC, once a minute (MB): ${heap.map((h) => fmt(h.used / MB)).join(', ')}. ` +
          `While loading (before the warm-up ended): ${result.loadingLongTasks} long tasks, longest ${fmt(result.loadingLongTaskMax)} ms. ` +
          `Console or page errors: ${result.errors}. ` +
          `Machine load average (1 min) before / after the run: ${fmt(loadBefore, 2)} / ${fmt(loadavg()[0]!, 2)}.`,
        '',
        'Method: `wall-update` is a `performance.measure` around each map layer redraw in `WallPage.vue` (`detail` names the layer), read by a PerformanceObserver; ' +
          'the busy time is the delta of CDP `Performance.getMetrics` `TaskDuration` over the delta of its `Timestamp`, read about ' +
          'once a second (forced GCs left out); long tasks overlapping the benchmark’s own `HeapProfiler.collectGarbage` are left out.',
      ].join('\n'),
    )
    log('BENCHMARKS.md updated')
  } finally {
    await browser.close()
    await driver.close()
    await server.kill()
    dir.remove()
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
