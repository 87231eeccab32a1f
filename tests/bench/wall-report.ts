/**
 * The figures of `npm run bench:wall` (`summarise`) and its two BENCHMARKS.md sections: the short
 * runs (median and spread over the runs) and the soak (heap slope, the wall across the day's
 * rollovers). Every label says from which event to which the figure was timed.
 */
import { appendSection, median } from './bench-report.ts'
import { dataSeconds, frameGaps, quantiles } from './wall-probe.ts'
import type { Sample, SessionResult } from './wall-session.ts'

export const TARGET = {
  latencyP95Ms: 1100,
  drawP95Ms: 33,
  gapsOver100PerMin: 0,
  longTaskMs: 100,
  slopeMbH: 1,
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my)
    den += (xs[i]! - mx) ** 2
  }
  return den === 0 ? NaN : num / den
}

/** Longest silence between two frames of `event` in the window, ms. */
function silence(r: SessionResult, event: string): number {
  const t = r.probe.msgs.filter(([a, e]) => e === event && a >= r.from && a < r.to).map(([a]) => a)
  let max = t.length ? Math.max(t[0]! - r.from, r.to - t.at(-1)!) : r.to - r.from
  for (let i = 1; i < t.length; i++) max = Math.max(max, t[i]! - t[i - 1]!)
  return max
}

export function summarise(r: SessionResult) {
  const ds = dataSeconds(r.probe, r.from, r.to)
  const gaps = frameGaps(r.probe, r.from, r.to, r.gcWindows)
  const ours = ([at]: [number, number]) => r.gcWindows.some(([a, b]) => at >= a - 20 && at <= b + 100)
  const tasks = r.probe.longTasks.filter((t) => t[0] >= r.from && t[0] < r.to && !ours(t))
  const minutes = (r.to - r.from) / 60_000
  const s = r.samples
  return {
    minutes,
    latency: quantiles(ds.latency),
    drawToFrame: quantiles(ds.drawToFrame),
    superseded: ds.superseded,
    framesOf: ds.frames,
    fps: gaps.frames / ((r.to - r.from) / 1000),
    gaps,
    over50PerMin: gaps.over50 / minutes,
    over100PerMin: gaps.over100 / minutes,
    busyShare: r.busyShare,
    busyMedian: median(r.busy),
    longTasks: tasks.length,
    longTaskMax: Math.max(0, ...tasks.map((t) => t[1])),
    heapStart: s[0]?.heapMb ?? NaN,
    heapEnd: s.at(-1)?.heapMb ?? NaN,
    slopeMbH:
      s.length > 2
        ? slope(
            // Hours by the page's clock at each forced GC (the sampling loop drifts from whole seconds).
            r.gcWindows.map(([at]) => (at - r.from) / 3_600_000),
            s.map((x) => x.heapMb),
          )
        : NaN,
    silence: { positions: silence(r, 'positions'), grids: silence(r, 'grids'), kpis: silence(r, 'kpis') },
    notLive: r.notLive.length,
    errors: r.errors.length,
    errorTexts: r.errors.slice(0, 5),
    load: r.load,
    // Absent from results kept before it was recorded.
    loadMax: Math.max(...(r.loads ?? [NaN])),
  }
}
export type RunSummary = ReturnType<typeof summarise>

const fmt = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '—')
const ok = (pass: boolean) => (pass ? 'met' : '**not met**')
/** Median and spread (min–max) of one figure over the runs. */
function across(runs: RunSummary[], f: (r: RunSummary) => number, d = 0): { med: number; cell: string } {
  const inOrder = runs.map(f)
  const v = [...inOrder].sort((a, b) => a - b)
  const med = median(v)
  return {
    med,
    cell: `${inOrder.map((x) => fmt(x, d)).join(' / ')} | **${fmt(med, d)}** (${fmt(v[0]!, d)}–${fmt(v.at(-1)!, d)})`,
  }
}

const DEFINITION =
  'One data second: the `positions` and `grids` frames of one server tick (they arrive together). Its latency runs from the moment the page’s WebSocket delivers the first of them (a `message` listener added before the app’s own, `performance.now()`) to the first `requestAnimationFrame` callback that runs after the last redraw that drew them: the first live-layer redraw starting after the `positions` frame arrived (the wall’s 1 s tick) and the first grid-layer redraw starting after the `grids` frame arrived (half a second after the tick). “Redraw → frame” is from the start of that last redraw to the same callback. A frame overtaken by a newer one of its kind before its redraw is “superseded”. Frame gaps are between consecutive rAF timestamps of the benchmark’s own rAF loop (which keeps Chromium producing frames); busy share is CDP `TaskDuration` over wall-clock time; long tasks and gaps that overlap the benchmark’s forced GCs are left out.'

const CHANGED =
  'What is measured changed on 2026-12-01 (issue 9): earlier sections timed only `setOption` inside a `wall-update` measure and labelled it “layer painted”, and gave heap growth as the difference of two samples over 10 minutes. Those figures measured less than their labels said; they survive only in the section “Wall, earlier measure”, under labels that say what was timed, and must not be compared with these.'

export function reportShort(o: {
  runs: RunSummary[]
  command: string
  chromium: string
  size: [number, number]
  warmupSeconds: number
  workers: number
  changesPerSecond: number
  grids: number
  pinned: boolean
}): void {
  const { runs } = o
  const n = runs.length
  const lat95 = across(runs, (r) => r.latency.p95)
  const draw95 = across(runs, (r) => r.drawToFrame.p95, 1)
  const g100 = across(runs, (r) => r.over100PerMin, 2)
  const tmax = across(runs, (r) => r.longTaskMax)
  const header = `| Measure (after a ${o.warmupSeconds} s warm-up) | ${runs.map((_, i) => `run ${i + 1}`).join(' / ')} | median (spread) | Target | |`
  const row = (label: string, a: { cell: string }, target = '', met = '') =>
    `| ${label} | ${a.cell} | ${target} | ${met} |`
  appendSection(
    `Wall: data second to presented frame, short runs (bench:wall${o.size.join('×') === '1920×1080' ? '' : `, ${o.size.join('×')}`})`,
    [
      `Command: \`${o.command}\` (${n} runs of ${fmt(runs[0]!.minutes, 1)} min, each in a fresh browser). Headless Chromium ${o.chromium} (\`--disable-gpu\`: software rendering), viewport ${o.size.join('×')}, device pixel ratio 1. ` +
        (o.pinned
          ? 'Browser under `taskset -c 0`; the server and the benchmark process (the synthetic driver) under `taskset -c 1`.'
          : 'Not pinned to cores (PIN=0).'),
      '',
      `Load (synthetic, \`tests/bench/wall-driver.ts\`): ${o.workers.toLocaleString('en')} workers moving (one \`positions\` frame a second), all ${o.grids} grids changed in one \`grids\` frame a second, a \`kpis\` frame a second, ${o.changesPerSecond} \`change\` frames a second, an overdue alert every 15 s; the page and the REST API from the real server (simulator off after a two-day backfill), proxied.`,
      '',
      CHANGED,
      '',
      header,
      '| --- | --- | --- | --- | --- |',
      row(
        'Data second: socket message → next rAF after its last redraw, p50 ms',
        across(runs, (r) => r.latency.p50),
      ),
      row(
        '… p95 ms',
        lat95,
        `≤ ${TARGET.latencyP95Ms} ms (1 s tick + 100 ms)`,
        ok(lat95.med <= TARGET.latencyP95Ms),
      ),
      row(
        '… p99 ms',
        across(runs, (r) => r.latency.p99),
      ),
      row(
        '… max ms',
        across(runs, (r) => r.latency.max),
      ),
      row('… data seconds measured / frames superseded', {
        cell: `${runs.map((r) => `${r.latency.n}/${r.superseded}`).join(' / ')} | —`,
      }),
      row(
        'Redraw → frame: start of the second’s last redraw → next rAF, p50 ms',
        across(runs, (r) => r.drawToFrame.p50, 1),
      ),
      row('… p95 ms', draw95, `≤ ${TARGET.drawP95Ms} ms`, ok(draw95.med <= TARGET.drawP95Ms)),
      row(
        'Frames per second (rAF callbacks)',
        across(runs, (r) => r.fps, 1),
      ),
      row(
        'Frame gaps over 50 ms (consecutive rAF timestamps), per minute',
        across(runs, (r) => r.over50PerMin, 2),
      ),
      row('Frame gaps over 100 ms, per minute', g100, 'none', ok(g100.med <= TARGET.gapsOver100PerMin)),
      row(
        'Longest frame gap, ms',
        across(runs, (r) => r.gaps.maxGap),
      ),
      row(
        'Main thread busy share (TaskDuration / wall-clock), %',
        across(runs, (r) => r.busyShare * 100, 1),
      ),
      row(
        'Long tasks over 50 ms, per minute',
        across(runs, (r) => r.longTasks / r.minutes, 2),
      ),
      row(
        'Longest long task, ms',
        tmax,
        `none over ${TARGET.longTaskMs} ms`,
        ok(tmax.med <= TARGET.longTaskMs),
      ),
      row('JS heap after forced GC, start of window → end, MB (not a slope: see the soak)', {
        cell: `${runs.map((r) => `${fmt(r.heapStart, 1)}→${fmt(r.heapEnd, 1)}`).join(' / ')} | —`,
      }),
      '',
      'The wall draws on its own 1 s timers (live layer on the tick, grid layer half a second later), whose phase against the server’s 1 s tick is set when the page loads: within a run the data-second latency stays near one value, between about 0.5 s and 1 s plus the drawing, and the spread between runs mostly shows that phase. ' +
        `A target is judged on the median of the runs. Spread is min–max over the ${n} runs. Ratio p99 / p50 of the data-second latency (median run): ${fmt(median(runs.map((r) => r.latency.p99 / r.latency.p50).sort((a, b) => a - b)), 2)}. ` +
        `Frame gaps over 100 ms per minute, by minute, per run: ${runs.map((r) => `[${r.gaps.perMinute100.join(', ')}]`).join(' ')}. ` +
        `Console or page errors: ${runs.map((r) => r.errors).join(' / ')}; checks (every 10 s) where the wall was not live: ${runs.map((r) => r.notLive).join(' / ')}. ` +
        `Machine load average (1 min) at start → end of each run (highest, read every 10 s): ${runs.map((r) => `${fmt(r.load[0], 2)} → ${fmt(r.load[1], 2)} (${fmt(r.loadMax, 2)})`).join(', ')} (other work shared the machine).`,
      '',
      DEFINITION,
    ].join('\n'),
  )
}

export function reportSoak(o: {
  run: SessionResult
  summary: RunSummary
  command: string
  speed: string
  size: [number, number]
}): void {
  const s = o.summary
  const samples = o.run.samples
  const day = (x: Sample) => String(x.extra.serverNow ?? '').slice(0, 10)
  const rollovers = samples.filter((x, i) => i > 0 && day(x) !== day(samples[i - 1]!)).length
  const stalls = samples.filter(
    (x, i) => i > 0 && x.seq === samples[i - 1]!.seq && x.extra.serverSeq !== samples[i - 1]!.extra.serverSeq,
  )
  // kpis, grids and positions frames come only when figures changed, so silence alone is not staleness.
  const stale = s.notLive > 0 || stalls.length > 0
  const table = samples.map(
    (x, i) =>
      `| ${fmt((o.run.gcWindows[i]![0] - o.run.from) / 60_000, 1)} | ${x.extra.serverNow} | ${x.status}${x.staleSince ? ` (stale since ${x.staleSince})` : ''} | ${x.seq} | ${x.extra.serverSeq} | ${x.reported} | ${fmt(x.heapMb, 2)} |`,
  )
  appendSection(
    `Wall soak: heap slope and the day rolling over (bench:wall SOAK=1${o.size.join('×') === '1920×1080' ? '' : `, ${o.size.join('×')}`})`,
    [
      `Command: \`${o.command}\`. Headless Chromium ${o.run.chromium} (software rendering), viewport ${o.size.join('×')}. The REAL server and its simulator at ×${o.speed} (not the synthetic driver); the page straight from the server. Browser under \`taskset -c 0\`, server under \`taskset -c 1\` (unless PIN=0 in the command). Machine load average (1 min) at start → end: ${fmt(s.load[0], 2)} → ${fmt(s.load[1], 2)} (other work shared the machine).`,
      '',
      CHANGED,
      '',
      '| Measure (after the warm-up) | Result | Target | |',
      '| --- | --- | --- | --- |',
      `| JS heap after forced GC: least-squares slope over ${samples.length} samples in ${fmt(s.minutes)} min | ${fmt(s.slopeMbH, 2)} MB/hour (${fmt(s.heapStart, 1)} → ${fmt(s.heapEnd, 1)} MB) | ≤ ${TARGET.slopeMbH} MB/hour | ${ok(s.slopeMbH <= TARGET.slopeMbH)} |`,
      `| Local midnights passed on the server’s clock (between samples) | ${rollovers} | ≥ 1 | ${ok(rollovers >= 1)} |`,
      `| Wall live throughout: checks (every 10 s) where the connection was not live / samples where the tile seq stood still while the server’s advanced | ${s.notLive} of ${Math.floor((samples.at(-1)?.second ?? 0) / 10)} / ${stalls.length} of ${samples.length - 1} | 0 / 0 | ${ok(!stale)} |`,
      `| Data second: socket message → next rAF after its last redraw, p50 / p95 / p99 / max (one run, real simulator: not comparable with the short runs) | ${fmt(s.latency.p50)} / ${fmt(s.latency.p95)} / ${fmt(s.latency.p99)} / ${fmt(s.latency.max)} ms (${s.latency.n} seconds, ${s.superseded} superseded) | | |`,
      `| Frame gaps over 50 / 100 ms, per minute; longest | ${fmt(s.over50PerMin, 2)} / ${fmt(s.over100PerMin, 2)}; ${fmt(s.gaps.maxGap)} ms | | |`,
      `| Main thread busy share; long tasks over 50 ms (longest) | ${fmt(s.busyShare * 100, 1)} %; ${s.longTasks} (${fmt(s.longTaskMax)} ms) | | |`,
      '',
      `Longest silence between frames in the window: positions ${fmt(s.silence.positions / 1000, 1)} s, grids ${fmt(s.silence.grids / 1000, 1)} s, kpis ${fmt(s.silence.kpis / 1000, 1)} s (the server sends each only when its figures changed; the simulated workers are on duty about 08:00–18:00, so no \`positions\` frames come at night). Console or page errors: ${s.errors}${s.errorTexts.length ? ` (${s.errorTexts.join('; ')})` : ''}. ` +
        `Checks where the wall was not live: ${o.run.notLive.length ? o.run.notLive.map((n) => `t+${n.second} s ${n.shows.status} (stale since ${n.shows.staleSince || '—'}, clock ${n.shows.clock})`).join('; ') : 'none'}.`,
      '',
      'Samples (one forced GC each; server clock from `GET /api/v1/whoami`, server seq from `/readyz`, the rest from the wall’s data attributes):',
      '',
      '| minute | server clock | wall connection | tile seq | server seq | `reported` tile | heap MB |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...table,
      '',
      DEFINITION,
    ].join('\n'),
  )
}

/**
 * Two builds of the client under one load in one session (COMPARE_DIST): each measure's median and
 * spread for both, the ratio after / before of the medians, and whether "after" is no worse: its
 * median no higher than the before runs' highest (within what the earlier build itself spread over).
 */
export function reportCompare(o: {
  before: RunSummary[]
  after: RunSummary[]
  beforeLabel: string
  afterLabel: string
  command: string
  chromium: string
  size: [number, number]
  warmupSeconds: number
  workers: number
  changesPerSecond: number
  grids: number
  pinned: boolean
}): void {
  const cell = (runs: RunSummary[], f: (r: RunSummary) => number, d: number) => {
    const v = runs.map(f).sort((a, b) => a - b)
    return {
      med: median(v),
      max: v.at(-1)!,
      text: `**${fmt(median(v), d)}** (${fmt(v[0]!, d)}–${fmt(v.at(-1)!, d)})`,
    }
  }
  const row = (label: string, f: (r: RunSummary) => number, d = 0, lowerIsBetter = true) => {
    const b = cell(o.before, f, d)
    const a = cell(o.after, f, d)
    const ratio = b.med === 0 ? (a.med === 0 ? '1.00' : '—') : fmt(a.med / b.med, 2)
    const verdict = lowerIsBetter
      ? a.med <= b.max
        ? 'no worse'
        : '**worse**'
      : a.med >= Math.min(...o.before.map(f))
        ? 'no worse'
        : '**worse**'
    return `| ${label} | ${b.text} | ${a.text} | ${ratio} | ${verdict} |`
  }
  const n = o.before.length
  appendSection(
    `Wall: before and after the shared web parts (bench:wall COMPARE_DIST, issue 12)`,
    [
      `Command: \`${o.command}\` (${n} runs of each build, ${fmt(o.before[0]!.minutes, 1)} min each after a ${o.warmupSeconds} s warm-up, in the order before, after, after, before, … in one session, each run in a fresh browser). “Before”: the client built from ${o.beforeLabel} (the wall in one \`WallPage.vue\`, \`bindLive\`), served by the driver; “after”: the client built from ${o.afterLabel} (\`<DistrictMap>\`, \`useLive\`, …), from the server. The same server, driver and load for both. Headless Chromium ${o.chromium} (\`--disable-gpu\`), viewport ${o.size.join('×')}. ` +
        (o.pinned
          ? 'Browser under `taskset -c 0`; the server and the driver under `taskset -c 1`.'
          : 'Not pinned to cores (PIN=0).'),
      '',
      `Load (synthetic, \`tests/bench/wall-driver.ts\`): ${o.workers.toLocaleString('en')} workers moving, all ${o.grids} grids changed every second, a \`kpis\` frame a second, ${o.changesPerSecond} \`change\` frames a second, an overdue alert every 15 s. The measures are those of “Wall: data second to presented frame, short runs” (definitions there).`,
      '',
      '| Measure | before: median (spread) | after: median (spread) | after / before | Target: after no worse |',
      '| --- | --- | --- | --- | --- |',
      row('Data second: socket message → next rAF after its last redraw, p95 ms', (r) => r.latency.p95),
      row('… p99 ms', (r) => r.latency.p99),
      row(
        'Redraw → frame: start of the second’s last redraw → next rAF, p95 ms',
        (r) => r.drawToFrame.p95,
        1,
      ),
      row('Frames per second (rAF callbacks)', (r) => r.fps, 1, false),
      row('Frame gaps over 50 ms, per minute', (r) => r.over50PerMin, 2),
      row('Frame gaps over 100 ms, per minute', (r) => r.over100PerMin, 2),
      row('Main thread busy share, %', (r) => r.busyShare * 100, 1),
      row('Long tasks over 50 ms, per minute', (r) => r.longTasks / r.minutes, 2),
      row('Longest long task, ms', (r) => r.longTaskMax),
      row('JS heap after forced GC at the end of the window, MB', (r) => r.heapEnd, 1),
      '',
      `“No worse” means the after runs’ median is no higher (frames per second: no lower) than the worst before run. ` +
        `Reading the data-second rows: both builds draw on the same schedule (the live layer on a 1 s \`setInterval\`, the grid layer on another started 500 ms later: the same two lines, once in \`WallPage.vue\`, now in \`DistrictMap.vue\`), so a frame waits for the next timer, and where that timer falls against the server’s tick is set by the moment each page loads: the wait falls anywhere between about 0.5 and 1 s, once per page load. With ${n} runs a build, that phase dominates the rows; the drawing itself is the redraw → frame row and the busy share. Waiting for the timer (p50 data second − p50 redraw → frame), per run, before: ${o.before.map((r) => fmt(r.latency.p50 - r.drawToFrame.p50)).join(', ')} ms; after: ${o.after.map((r) => fmt(r.latency.p50 - r.drawToFrame.p50)).join(', ')} ms. ` +
        `Console or page errors (before / after): ${o.before.map((r) => r.errors).join(', ')} / ${o.after.map((r) => r.errors).join(', ')}; checks where the wall was not live: ${o.before.map((r) => r.notLive).join(', ')} / ${o.after.map((r) => r.notLive).join(', ')}. ` +
        `Machine load average (1 min) at the start of each run (before / after): ${o.before.map((r) => fmt(r.load[0], 2)).join(', ')} / ${o.after.map((r) => fmt(r.load[0], 2)).join(', ')}.`,
    ].join('\n'),
  )
}
