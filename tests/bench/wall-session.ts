/**
 * One measured wall session of `npm run bench:wall`: Chromium (pinned to a core when asked) opens the
 * wall with the probe of `wall-probe.ts`, waits for it to be live, warms up, then records for a
 * number of seconds: the probe's data, main-thread busy time (CDP `Performance.getMetrics`
 * TaskDuration), and at fixed intervals a forced GC with the JS heap after it and what the wall shows
 * (connection state, tile seq, the `reported` tile, the header clock).
 */
import { writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type CDPSession, type Page } from 'playwright-core'
import { CHROMIUM, waitForLive, watchErrors } from '../e2e/wall-harness.ts'
import { addProbe, drainProbe, probe, type ProbeData } from './wall-probe.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
export const log = (s: string) => process.stderr.write(`[bench:wall ${new Date().toISOString()}] ${s}\n`)

/** Chromium, run under `taskset -c <core>` (a wrapper script: Playwright must exec the browser itself). */
export function launchPinned(dir: string, core: number | null): Promise<Browser> {
  let executablePath = CHROMIUM
  if (core !== null) {
    executablePath = join(dir, 'chromium-pinned.sh')
    writeFileSync(executablePath, `#!/bin/sh\nexec taskset -c ${core} ${CHROMIUM} "$@"\n`, { mode: 0o755 })
  }
  return chromium.launch({
    executablePath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--enable-precise-memory-info',
      '--disable-background-timer-throttling',
      '--disable-renderer-backgrounding',
      '--disable-backgrounding-occluded-windows',
    ],
  })
}

/** What the wall shows, read from its data attributes. */
export interface WallShows {
  status: string
  staleSince: string
  seq: string
  reported: string
  clock: string
}

const readWall = (page: Page): Promise<WallShows> =>
  page.evaluate(() => {
    const c = document.querySelector('[data-testid=connection]')
    const tile = (k?: string) =>
      document.querySelector<HTMLElement>(`[data-testid=kpi-tile]${k ? `[data-kpi=${k}]` : ''}`)
    return {
      status: c?.getAttribute('data-status') ?? '',
      staleSince: c?.getAttribute('data-stale-since') ?? '',
      seq: tile()?.dataset.seq ?? '',
      reported: tile('reported')?.dataset.value ?? '',
      clock: document.querySelector('[data-testid=clock]')?.textContent?.trim() ?? '',
    }
  })

export interface Sample extends WallShows {
  /** Seconds since the measured window began. */
  second: number
  heapMb: number
  /** Whatever the caller adds (the server's clock and seq). */
  extra: Record<string, string | number>
}

export interface SessionResult {
  probe: ProbeData
  /** Page times (ms) of the measured window. */
  from: number
  to: number
  /** Busy ms per wall-clock second, one a second (sorted), and the share over the window. */
  busy: number[]
  busyShare: number
  gcWindows: [number, number][]
  samples: Sample[]
  /** What the wall showed every 10 s that was not live. */
  notLive: { second: number; shows: WallShows }[]
  errors: string[]
  chromium: string
  load: [number, number]
  /** The 1-minute load average every 10 s of the window (the machine is shared). */
  loads: number[]
}

export interface SessionOptions {
  url: string
  dir: string
  core: number | null
  size: [number, number]
  warmupSeconds: number
  seconds: number
  sampleEverySeconds: number
  /** Extra figures for each sample (e.g. the server's clock). */
  extra?: () => Promise<Record<string, string | number>>
  /** Run after the warm-up, before the measured window (PROFILE, TRACE). */
  diagnose?: (browser: Browser, page: Page, cdp: CDPSession) => Promise<void>
}

async function taskTime(cdp: CDPSession): Promise<{ task: number; at: number }> {
  const { metrics } = await cdp.send('Performance.getMetrics')
  const get = (name: string) => metrics.find((m) => m.name === name)!.value
  return { task: get('TaskDuration'), at: get('Timestamp') }
}

export async function runSession(o: SessionOptions): Promise<SessionResult> {
  const load0 = loadavg()[0]!
  const browser = await launchPinned(o.dir, o.core)
  try {
    const page = await browser.newPage({
      viewport: { width: o.size[0], height: o.size[1] },
      deviceScaleFactor: 1,
    })
    const errors = watchErrors(page)
    // tsx (esbuild, keepNames) wraps named inner functions in `__name(…)`: the page needs it too.
    await page.addInitScript({ content: 'window.__name = (f) => f' })
    await page.addInitScript(probe)
    await page.goto(o.url)
    await waitForLive(page)
    const cdp = await page.context().newCDPSession(page)
    await cdp.send('Performance.enable')
    const now = () => page.evaluate(() => performance.now())
    const record: ProbeData = { msgs: [], updates: [], frames: [], longTasks: [] }
    const r: SessionResult = {
      probe: record,
      from: 0,
      to: 0,
      busy: [],
      busyShare: NaN,
      gcWindows: [],
      samples: [],
      notLive: [],
      errors,
      chromium: browser.version(),
      load: [load0, NaN],
      loads: [],
    }
    const sample = async (second: number) => {
      const t0 = await now()
      await cdp.send('HeapProfiler.collectGarbage')
      const { usedSize } = await cdp.send('Runtime.getHeapUsage')
      r.gcWindows.push([t0, await now()])
      const s: Sample = {
        second,
        heapMb: usedSize / 2 ** 20,
        ...(await readWall(page)),
        extra: (await o.extra?.()) ?? {},
      }
      r.samples.push(s)
      log(
        `t+${second}s heap ${s.heapMb.toFixed(2)} MB, ${s.status}, seq ${s.seq}, ${JSON.stringify(s.extra)}`,
      )
    }
    log(`live; warming up ${o.warmupSeconds} s`)
    await sleep(o.warmupSeconds * 1000)
    await o.diagnose?.(browser, page, cdp)
    r.from = await now()
    await sample(0)
    let last = await taskTime(cdp)
    let busyTask = 0
    let busyTime = 0
    for (let s = 1; s <= o.seconds; s++) {
      await sleep(1000)
      const cur = await taskTime(cdp)
      r.busy.push(((cur.task - last.task) / (cur.at - last.at)) * 1000)
      busyTask += cur.task - last.task
      busyTime += cur.at - last.at
      last = cur
      if (s % 10 === 0) {
        addProbe(record, await drainProbe(page))
        r.loads.push(loadavg()[0]!)
        const shows = await readWall(page)
        if (shows.status !== 'live') r.notLive.push({ second: s, shows })
      }
      if (s % o.sampleEverySeconds === 0) {
        await sample(s)
        // The forced GC is the benchmark's cost, not the wall's: the next reading starts after it.
        last = await taskTime(cdp)
      }
    }
    r.to = await now()
    // Let the last data second be drawn and framed before the final drain.
    await sleep(2000)
    addProbe(record, await drainProbe(page))
    r.busy.sort((a, b) => a - b)
    r.busyShare = busyTask / busyTime
    r.load[1] = loadavg()[0]!
    return r
  } finally {
    await browser.close()
  }
}
