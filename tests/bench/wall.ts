/**
 * `npm run bench:wall`: what a viewer of the wall sees, in headless Chromium (software rendering).
 *
 * Two modes, each writing its own section of BENCHMARKS.md (`wall-report.ts`):
 *   - short runs (default, `RUNS=3 MINUTES=5`): a real server makes a two-day backfill, then serves the
 *     page and the REST API with the simulator off; `wall-driver.ts` proxies them and plays `/live`
 *     itself: 6,000 moving workers and all 652 grids every second, a KPI frame a second, 10 change
 *     frames a second. Each run opens a fresh browser, warms up (WARMUP_SECONDS, 60), then measures
 *     for MINUTES; figures are given per run and as the median and spread of the runs.
 *   - soak (`SOAK=1 MINUTES=60 SIM_SPEED=60`): the real server and its simulator at SIM_SPEED, the page
 *     straight from it, the simulated clock starting at SIM_CLOCK_START (default 09:00 +08:00 today,
 *     so at ×60 the local midnight passes 15, 39 and 63 minutes in). After a 5-minute warm-up
 *     (WARMUP_SECONDS, 300) a forced GC every SAMPLE_SECONDS (120): the JS heap after it, what the
 *     wall shows (connection state, tile seq) and the server's clock and seq. Heap growth is the
 *     least-squares slope of those samples, in MB/hour.
 * What is measured (definitions in `wall-probe.ts`): one data second from the arrival of its
 * `positions`/`grids` frames at the page's WebSocket to the first requestAnimationFrame callback after
 * the last redraw that drew them (p50/p95/p99/max); gaps between consecutive rAF timestamps over
 * 50 and 100 ms, per minute; the main thread's busy share (CDP TaskDuration over wall-clock time);
 * long tasks (PerformanceObserver), leaving out the benchmark's own forced GCs.
 * COMPARE_DIST=dir: the same short runs for two builds of the client in one session, alternating
 * (before, after, after, before, …: RUNS of each): `dir` is an earlier build (`vite build --outDir dir`
 * in a checkout of the earlier commit, named by COMPARE_LABEL), served by the driver; "after" is this
 * checkout's build from the server. Writes the section "Wall: before and after …" (`reportCompare`).
 * PIN (1): the browser under `taskset -c 0`, the server and this process (the driver) on core 1.
 * Other options (env): WORKERS (6000), CHANGES_PER_SECOND (10), SIZE (1920x1080), REPORT (0: print
 * only), RESULT (where the raw result is kept), REPORT_FROM=file (write the section from a kept
 * result), PROFILE=file, TRACE=file (diagnosis aids, `wall-diagnose.ts`).
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { tempDir } from '../server/helpers.ts'
import { freePort, spawnServer, waitReady, type ChildServer } from '../server/live-helpers.ts'
import { DISTRICT, ensureBuilt, mintOfficer, readySeq, wallEnv } from '../e2e/wall-harness.ts'
import { profile, trace } from './wall-diagnose.ts'
import { startDriver } from './wall-driver.ts'
import { reportCompare, reportShort, reportSoak, summarise, type RunSummary } from './wall-report.ts'
import { log, runSession, type SessionOptions } from './wall-session.ts'

const env = process.env
const SOAK = env.SOAK === '1'
const MINUTES = Number(env.MINUTES ?? (SOAK ? 60 : 5))
const RUNS = SOAK ? 1 : Number(env.RUNS ?? 3)
const WARMUP_SECONDS = Number(env.WARMUP_SECONDS ?? (SOAK ? 300 : 60))
const SAMPLE_SECONDS = Number(env.SAMPLE_SECONDS ?? (SOAK ? 120 : MINUTES * 60))
const SIM_SPEED = env.SIM_SPEED ?? '60'
const SIM_CLOCK_START = env.SIM_CLOCK_START ?? `${new Date().toISOString().slice(0, 10)}T09:00:00+08:00`
const WORKERS = Number(env.WORKERS ?? 6000)
const CHANGES_PER_SECOND = Number(env.CHANGES_PER_SECOND ?? 10)
const SIZE = (env.SIZE ?? '1920x1080').split('x').map(Number) as [number, number]
const PIN = env.PIN !== '0'
/** Where the raw result goes (REPORT_FROM=that file writes the section again). */
const RESULT = env.RESULT ?? `/tmp/bench-wall-${SOAK ? 'soak' : 'short'}.json`

/** The command that reproduces this run, as BENCHMARKS.md quotes it. */
const command = () => {
  const keys = SOAK
    ? ['SOAK', 'MINUTES', 'SIM_SPEED', 'SIM_CLOCK_START', 'WARMUP_SECONDS', 'SAMPLE_SECONDS', 'SIZE', 'PIN']
    : [
        'RUNS',
        'MINUTES',
        'WARMUP_SECONDS',
        'WORKERS',
        'CHANGES_PER_SECOND',
        'SIZE',
        'PIN',
        'COMPARE_DIST',
        'COMPARE_LABEL',
      ]
  const value = (v: string) => (/^[\w./:+-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`)
  return `${keys.flatMap((k) => (env[k] ? [`${k}=${value(env[k])}`] : [])).join(' ')} npm run bench:wall`.trim()
}

async function serve(e: Record<string, string>): Promise<ChildServer> {
  const server = spawnServer(e, PIN ? { wrap: ['taskset', '-c', '1'] } : {})
  await waitReady(`http://127.0.0.1:${e.PORT}`, server, 300_000)
  return server
}

function diagnose(): SessionOptions['diagnose'] {
  if (!env.PROFILE && !env.TRACE) return undefined
  return async (browser, page, cdp) => {
    if (env.PROFILE) await profile(cdp, env.PROFILE)
    if (env.TRACE) await trace(browser, page, env.TRACE)
  }
}

async function main(): Promise<void> {
  if (env.REPORT_FROM) {
    const saved = JSON.parse(readFileSync(env.REPORT_FROM, 'utf8'))
    return saved.run ? reportSoak(saved) : saved.before ? reportCompare(saved) : reportShort(saved)
  }
  ensureBuilt()
  // This process runs the synthetic driver: it shares the server's core, not the browser's.
  if (PIN) execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' })
  const dir = tempDir('bench-wall')
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const session = {
    dir: dir.path,
    core: PIN ? 0 : null,
    size: SIZE,
    warmupSeconds: WARMUP_SECONDS,
    seconds: MINUTES * 60,
    sampleEverySeconds: SAMPLE_SECONDS,
    diagnose: diagnose(),
  }
  let server: ChildServer | null = null
  let driver: Awaited<ReturnType<typeof startDriver>> | null = null
  try {
    if (SOAK) {
      log(`soak: real server, simulator ×${SIM_SPEED} from ${SIM_CLOCK_START}, backfilling two days`)
      server = await serve(wallEnv(port, dir.path, { SIM_SPEED, SIM_CLOCK_START }))
      const token = await mintOfficer(base)
      const clock = async () => {
        const who = (await (
          await fetch(`${base}/api/v1/whoami`, { headers: { authorization: `Bearer ${token}` } })
        ).json()) as { now: string }
        return { serverNow: who.now, serverSeq: await readySeq(base) }
      }
      const r = await runSession({ ...session, url: `${base}/wall?token=${token}`, extra: clock })
      const s = summarise(r)
      log(JSON.stringify(s))
      const result = { run: r, summary: s, command: command(), speed: SIM_SPEED, size: SIZE }
      // Kept so the section can be written again from it (REPORT_FROM) without another hour.
      writeFileSync(RESULT, JSON.stringify(result))
      if (env.REPORT !== '0') reportSoak(result)
      return
    }
    log('backfilling two days')
    server = await serve(wallEnv(port, dir.path))
    await server.kill('SIGTERM')
    server = await serve(wallEnv(port, dir.path, { SIMULATE: '0' }))
    const token = await mintOfficer(base)
    driver = await startDriver({
      upstream: base,
      token,
      region: DISTRICT,
      workers: WORKERS,
      changesPerSecond: CHANGES_PER_SECOND,
    })
    const grids = driver.grids
    /** What a short run's result says of how it was run (both modes). */
    const setup = (chromium: string) => ({
      command: command(),
      chromium,
      size: SIZE,
      warmupSeconds: WARMUP_SECONDS,
      workers: WORKERS,
      changesPerSecond: CHANGES_PER_SECOND,
      grids,
      pinned: PIN,
    })
    if (env.COMPARE_DIST) {
      const dist = env.COMPARE_DIST
      const before: RunSummary[] = []
      const after: RunSummary[] = []
      let chromium = ''
      // ABBA order, so a drift of the machine over the session weighs on both builds alike.
      const order = Array.from({ length: 2 * RUNS }, (_, i) =>
        i % 4 === 0 || i % 4 === 3 ? 'before' : 'after',
      )
      for (const [i, which] of order.entries()) {
        driver.setPage(which === 'before' ? dist : null)
        const shell = await (await fetch(`${driver.base}/wall`)).text()
        const script = /src="([^"]+\.js)"/.exec(shell)?.[1]
        log(`run ${i + 1} of ${order.length} (${which}, ${script}): ${MINUTES} min`)
        const r = await runSession({ ...session, url: `${driver.base}/wall?token=${token}` })
        chromium = r.chromium
        ;(which === 'before' ? before : after).push(summarise(r))
        log(JSON.stringify((which === 'before' ? before : after).at(-1)))
      }
      const result = {
        before,
        after,
        beforeLabel: env.COMPARE_LABEL ?? dist,
        afterLabel: execFileSync('git', ['log', '-1', '--format=%h']).toString().trim(),
        ...setup(chromium),
      }
      writeFileSync(RESULT, JSON.stringify(result))
      if (env.REPORT !== '0') reportCompare(result)
      return
    }
    const runs: RunSummary[] = []
    let chromium = ''
    for (let i = 1; i <= RUNS; i++) {
      log(`run ${i} of ${RUNS}: ${MINUTES} min`)
      const r = await runSession({ ...session, url: `${driver.base}/wall?token=${token}` })
      chromium = r.chromium
      runs.push(summarise(r))
      log(JSON.stringify(runs.at(-1)))
    }
    const result = {
      runs,
      ...setup(chromium),
    }
    writeFileSync(RESULT, JSON.stringify(result))
    if (env.REPORT !== '0') reportShort(result)
  } finally {
    await driver?.close()
    await server?.kill()
    dir.remove()
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
