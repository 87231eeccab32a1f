/**
 * Diagnosis aids of `npm run bench:wall` (not figures of BENCHMARKS.md): PROFILE=file records the
 * page's CPU for 20 s after the warm-up, TRACE=file Chromium's timeline for 20 s.
 */
import { writeFileSync } from 'node:fs'
import type { Browser, CDPSession, Page } from 'playwright-core'
import { log } from './wall-session.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * PROFILE=file: record the page's CPU for 20 s and print the functions with the most self time
 * (a diagnosis aid; the raw profile goes to `file`, loadable in Chrome's DevTools).
 */
export async function profile(cdp: CDPSession, file: string): Promise<void> {
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
export async function trace(browser: Browser, page: Page, file: string): Promise<void> {
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
