/**
 * What `npm run bench:wall` records inside the page, and how it turns that into what a viewer sees.
 *
 * `probe` is an init script (it runs before the app's own scripts): it stamps every socket.io event
 * the page's WebSocket delivers (`performance.now()` in a `message` listener added in the socket's
 * constructor, so it runs before engine.io's own `onmessage`), keeps the `wall-update` measures of
 * the map layer redraws (start, end, layer), runs a requestAnimationFrame loop that records every
 * frame (its timestamp and the time its callback ran), and the long tasks.
 *
 * One data second: the `positions` and `grids` frames one server tick sends (they arrive together;
 * a frame joins the group of the frame before it when it arrives within 250 ms of the group's first
 * and its event is not in the group yet). It is shown when each of its frames has been drawn: a
 * `positions` frame by the first live-layer redraw that starts after it arrived (the wall's 1 s
 * tick), a `grids` frame by the first grid-layer redraw that starts after it arrived (the same tick
 * half a second later). Its latency runs from the arrival of its first frame to the first
 * requestAnimationFrame callback that runs after the last of those redraws ended. A frame
 * overtaken by a newer frame of its kind before its redraw is counted as superseded: the viewer
 * never saw it on its own (its latency still runs to the redraw that drew the newer one).
 */
import type { Page } from 'playwright-core'
import { median, percentile } from './bench-report.ts'

/** What the page collected since the last drain. */
export interface ProbeData {
  /** [arrival ms, socket.io event name] */
  msgs: [number, string][]
  /** [start ms, end ms, layer] of each `wall-update` measure */
  updates: [number, number, string][]
  /** [rAF timestamp ms, ms its callback ran at] */
  frames: [number, number][]
  /** [start ms, duration ms] */
  longTasks: [number, number][]
}

/** The init script (serialised by Playwright: it must not reference anything outside itself). */
export function probe(): void {
  const w = window as unknown as { __bench: ProbeData }
  w.__bench = { msgs: [], updates: [], frames: [], longTasks: [] }
  const Native = window.WebSocket
  // An engine.io message (4) carrying a socket.io event (2) on /live: `42/live,["name",…]`.
  const event = /^42\/live,\["([A-Za-z]+)"/
  class Probed extends Native {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols)
      this.addEventListener('message', (e: MessageEvent) => {
        const m = typeof e.data === 'string' ? event.exec(e.data) : null
        if (m) w.__bench.msgs.push([performance.now(), m[1]!])
      })
    }
  }
  window.WebSocket = Probed
  new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      if (e.name === 'wall-update')
        w.__bench.updates.push([
          e.startTime,
          e.startTime + e.duration,
          String((e as PerformanceMeasure).detail),
        ])
  }).observe({ type: 'measure' })
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) w.__bench.longTasks.push([e.startTime, e.duration])
  }).observe({ type: 'longtask', buffered: true })
  const frame = (ts: number) => {
    w.__bench.frames.push([ts, performance.now()])
    requestAnimationFrame(frame)
  }
  requestAnimationFrame(frame)
}

/** Take what the page collected since the last call (the page keeps nothing for long). */
export const drainProbe = (page: Page): Promise<ProbeData> =>
  page.evaluate(() => {
    const w = window as unknown as { __bench: ProbeData }
    const out = w.__bench
    w.__bench = { msgs: [], updates: [], frames: [], longTasks: [] }
    return out
  })

/** Append one drain to the run's record. */
export function addProbe(into: ProbeData, d: ProbeData): void {
  into.msgs.push(...d.msgs)
  into.updates.push(...d.updates)
  into.frames.push(...d.frames)
  into.longTasks.push(...d.longTasks)
}

const LAYER: Record<string, string> = { positions: 'live', grids: 'grids' }

/** Index of the first element of `sorted` (by `key`) that is ≥ `t`. */
function firstAtOrAfter<T>(sorted: T[], t: number, key: (x: T) => number): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (key(sorted[mid]!) < t) lo = mid + 1
    else hi = mid
  }
  return lo
}

export interface DataSeconds {
  /** Latency of each data second shown, ms (sorted). */
  latency: number[]
  /** From the start of the second's last redraw to the rAF after it, ms (sorted): the drawing part. */
  drawToFrame: number[]
  superseded: number
  /** Frames of each kind that arrived in the window. */
  frames: Record<string, number>
}

/** The data seconds that arrived in [from, to) and were shown before the record ends. */
export function dataSeconds(p: ProbeData, from: number, to: number): DataSeconds {
  const msgs = p.msgs.filter(([t, e]) => LAYER[e] && t >= from && t < to)
  const byLayer = (l: string) => p.updates.filter((u) => u[2] === l)
  const updates = { live: byLayer('live'), grids: byLayer('grids') } as Record<string, typeof p.updates>
  const arrivals = (e: string) => p.msgs.filter((m) => m[1] === e).map((m) => m[0])
  const arrived = { positions: arrivals('positions'), grids: arrivals('grids') } as Record<string, number[]>
  const groups: [number, string][][] = []
  for (const m of msgs) {
    const g = groups.at(-1)
    if (g && m[0] - g[0]![0] < 250 && !g.some(([, e]) => e === m[1])) g.push(m)
    else groups.push([m])
  }
  const out: DataSeconds = { latency: [], drawToFrame: [], superseded: 0, frames: {} }
  for (const g of groups) {
    let lastEnd = -Infinity
    let lastStart = -Infinity
    let shown = true
    for (const [t, e] of g) {
      out.frames[e] = (out.frames[e] ?? 0) + 1
      const list = updates[LAYER[e]!]!
      const u = list[firstAtOrAfter(list, t, (x) => x[0])]
      if (!u) {
        shown = false
        break
      }
      const next = arrived[e]![firstAtOrAfter(arrived[e]!, t + 1e-6, (x) => x)]
      if (next !== undefined && next < u[0]) out.superseded++
      if (u[1] > lastEnd) [lastStart, lastEnd] = [u[0], u[1]]
    }
    const f = shown ? p.frames[firstAtOrAfter(p.frames, lastEnd, (x) => x[1])] : undefined
    if (!f) continue
    out.latency.push(f[1] - g[0]![0])
    out.drawToFrame.push(f[1] - lastStart)
  }
  out.latency.sort((a, b) => a - b)
  out.drawToFrame.sort((a, b) => a - b)
  return out
}

export interface FrameGaps {
  frames: number
  /** Gaps between consecutive rAF timestamps over 50 / 100 ms: total, and per minute of the window. */
  over50: number
  over100: number
  perMinute50: number[]
  perMinute100: number[]
  maxGap: number
}

/**
 * Gaps between consecutive frames in [from, to), leaving out gaps that overlap `skip` (the
 * benchmark's own forced GCs).
 */
export function frameGaps(p: ProbeData, from: number, to: number, skip: [number, number][]): FrameGaps {
  const ts = p.frames.map((f) => f[0]).filter((t) => t >= from && t < to)
  const minutes = Math.max(1, Math.round((to - from) / 60_000))
  const out: FrameGaps = {
    frames: ts.length,
    over50: 0,
    over100: 0,
    perMinute50: new Array<number>(minutes).fill(0),
    perMinute100: new Array<number>(minutes).fill(0),
    maxGap: 0,
  }
  for (let i = 1; i < ts.length; i++) {
    const [a, b] = [ts[i - 1]!, ts[i]!]
    if (skip.some(([s, e]) => a <= e + 100 && b >= s - 20)) continue
    const gap = b - a
    out.maxGap = Math.max(out.maxGap, gap)
    const m = Math.min(minutes - 1, Math.floor((b - from) / 60_000))
    if (gap > 50) {
      out.over50++
      out.perMinute50[m]!++
    }
    if (gap > 100) {
      out.over100++
      out.perMinute100[m]!++
    }
  }
  return out
}

/** p50 / p95 / p99 / max of a sorted list. */
export const quantiles = (s: number[]) => ({
  n: s.length,
  p50: median(s),
  p95: percentile(s, 0.95),
  p99: percentile(s, 0.99),
  max: s.at(-1) ?? NaN,
})
