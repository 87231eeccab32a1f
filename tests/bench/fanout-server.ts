/**
 * The server process of `npm run bench:fanout`: `server/main.ts`'s system (`createSystem`) with the
 * live stream of the design under test (BENCH_DESIGN: `coalesced`, the product's
 * `createLiveServer`; `burst`, the same with each tick's frames sent to whole rooms at once, as before
 * the sliced delivery of server/live/broadcast.ts; `naive`, the baseline of naive-live.ts), watched
 * from outside its code:
 *
 * - the event loop's delay (`monitorEventLoopDelay`, 5 ms resolution) and utilisation;
 * - every broadcast's synchronous duration, by frame kind (the adapter's `broadcast` wrapped);
 * - for one internal socket in BENCH_SAMPLE_EVERY (and as many public ones), with server-side
 *   timestamps only: when each frame was created for that socket (engine.io `packetCreate`: the
 *   broadcast loop reached it) and when the transport handed it to the kernel (the transport's
 *   `drain`, after the write callback), against the change's own `at` (stamped by the event service
 *   before its commit, same clock) and the instant the change feed delivered it to the live stream.
 *
 * The parent talks to it over IPC: `{cmd: 'reset'}` opens the measured window, `{cmd: 'report'}`
 * answers with what was seen since. The hooks cost the server a regex on the sampled sockets' frames.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import type { Server, Socket } from 'socket.io'
import { parseConfig } from '../../server/config.ts'
import { delivery } from '../../server/live/broadcast.ts'
import { createLiveServer, type LiveServerOptions } from '../../server/live/live-server.ts'
import { INTERNAL_ROLES } from '../../shared/live.ts'
import { createSystem } from '../../server/system.ts'
import type { ChangeFeed } from '../../server/store/change-feed.ts'
import type { PatrolRound, Position } from '../../shared/types.ts'
import { createNaiveLiveServer } from './naive-live.ts'

const design = process.env.BENCH_DESIGN ?? 'coalesced'
if (design === 'burst') delivery.mode = 'burst'
const sampleEvery = Number(process.env.BENCH_SAMPLE_EVERY ?? 5)
const now = (): number => performance.timeOrigin + performance.now()

interface Broadcasts {
  calls: number
  ms: number
  maxMs: number
  sockets: number
}

/** What the window saw. Latencies in ms, against the change's `at`. */
let w = fresh()
function fresh() {
  return {
    since: now(),
    elu: performance.eventLoopUtilization(),
    broadcasts: {} as Record<string, Broadcasts>,
    /** Feed delivery (= the live stream's emit) − `at`, per change committed in the window. */
    fed: [] as number[],
    /** Internal sampled sockets: frame created for the socket − `at`, and handed to the kernel − `at`. */
    changeQueued: [] as number[],
    changeWritten: [] as number[],
    /** Public sampled sockets: first kpis/grids frame covering the change handed to the kernel − `at`. */
    publicWritten: [] as number[],
    /** The longest run of back-to-back broadcasts with no turn of the loop between them (ms). */
    longestBurst: 0,
  }
}
const eld = monitorEventLoopDelay({ resolution: 5 })
eld.enable()

/** seq → the change's `at`, for the changes heard in the last minutes. */
const atOf = new Map<number, number>()
let lastSeqHeard = 0

function trace(socket: Socket, kind: 'internal' | 'public'): void {
  const conn = socket.conn
  const pattern =
    kind === 'internal' ? /^2\/live,\["change",\{"seq":(\d+)/ : /^2\/live,\["(?:kpis|grids)",\{"seq":(\d+)/
  /** Seqs created for the socket and not written yet. */
  const pending: number[] = []
  /** Public: the highest seq a written frame covered. */
  let covered = -1
  conn.on('packetCreate', (p: { data?: unknown }) => {
    if (typeof p.data !== 'string') return
    const m = pattern.exec(p.data)
    if (!m) return
    const seq = Number(m[1])
    pending.push(seq)
    const at = atOf.get(seq)
    if (kind === 'internal' && at !== undefined && at >= w.since) w.changeQueued.push(now() - at)
  })
  const written = (): void => {
    if (!pending.length) return
    const t = now()
    for (const seq of pending) {
      if (kind === 'internal') {
        const at = atOf.get(seq)
        if (at !== undefined && at >= w.since) w.changeWritten.push(t - at)
      } else {
        if (covered < 0) covered = seq
        for (let s = covered + 1; s <= seq; s++) {
          const at = atOf.get(s)
          if (at !== undefined && at >= w.since) w.publicWritten.push(t - at)
        }
        covered = Math.max(covered, seq)
      }
    }
    pending.length = 0
  }
  conn.transport.on('drain', written)
  conn.on('upgrade', (t: typeof conn.transport) => t.on('drain', written))
}

const sampled = { internal: 0, public: 0 }
const seen = { internal: 0, public: 0 }

function instrument(io: Server): void {
  const nsp = io.of('/live')
  const adapter = nsp.adapter as unknown as {
    rooms: Map<string, Set<string>>
    broadcast: (packet: { data: unknown[] }, opts: { rooms: Set<string> }) => void
  }
  const broadcast = adapter.broadcast.bind(adapter)
  let burstStart = 0
  let burstEnd = 0
  adapter.broadcast = (packet, opts) => {
    const t0 = performance.now()
    broadcast(packet, opts)
    const t1 = performance.now()
    const kind = String(packet.data[0])
    const b = (w.broadcasts[kind] ??= { calls: 0, ms: 0, maxMs: 0, sockets: 0 })
    b.calls++
    b.ms += t1 - t0
    b.maxMs = Math.max(b.maxMs, t1 - t0)
    let n = 0
    for (const r of opts.rooms) n += adapter.rooms.get(r)?.size ?? 0
    b.sockets += n
    // Back to back when no other callback ran in between (the gap is the loop's own bookkeeping).
    if (t0 - burstEnd > 1) burstStart = t0
    burstEnd = t1
    w.longestBurst = Math.max(w.longestBurst, burstEnd - burstStart)
  }
  nsp.on('connection', (socket) => {
    const kind = INTERNAL_ROLES.includes((socket.data as { role: never }).role) ? 'internal' : 'public'
    if (seen[kind]++ % sampleEvery !== 0) return
    sampled[kind]++
    trace(socket, kind)
    socket.on('disconnect', () => sampled[kind]--)
  })
}

type Live = Pick<ReturnType<typeof createLiveServer>, 'start' | 'close'> & { io: Server }

function liveUnderTest(o: LiveServerOptions): Live {
  const live: Live = design === 'naive' ? createNaiveLiveServer(o) : createLiveServer(o)
  instrument(live.io)
  return {
    io: live.io,
    async start(hooks: {
      feed: ChangeFeed
      onIngest: (l: (p: Position[], r: PatrolRound[]) => void) => () => void
    }) {
      // Subscribed before the live stream is: this listener runs first in each delivery, in the
      // same synchronous step as the live stream's emits.
      hooks.feed.subscribe((items) => {
        const t = now()
        for (const { change } of items) {
          atOf.set(change.seq, change.at)
          lastSeqHeard = change.seq
          if (change.at >= w.since) w.fed.push(t - change.at)
        }
        if (atOf.size > 100_000) for (const k of [...atOf.keys()].slice(0, 50_000)) atOf.delete(k)
      })
      await live.start(hooks)
    },
    close: () => live.close(),
  }
}

process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'reset') {
    w = fresh()
    eld.reset()
  } else if (m.cmd === 'report') {
    const elu = performance.eventLoopUtilization(w.elu)
    process.send?.({
      type: 'report',
      design,
      pid: process.pid,
      seconds: (now() - w.since) / 1000,
      eventLoop: {
        p50: eld.percentile(50) / 1e6,
        p99: eld.percentile(99) / 1e6,
        max: eld.max / 1e6,
        mean: eld.mean / 1e6,
        utilisation: elu.utilization,
      },
      broadcasts: w.broadcasts,
      longestBurst: w.longestBurst,
      sampled,
      lastSeq: lastSeqHeard,
      fed: w.fed,
      changeQueued: w.changeQueued,
      changeWritten: w.changeWritten,
      publicWritten: w.publicWritten,
      memory: process.memoryUsage(),
    })
  }
})

async function main(): Promise<void> {
  const parsed = parseConfig(process.env)
  if (!parsed.ok) throw new Error(parsed.errors.join('; '))
  const system = await createSystem(parsed.config, { live: liveUnderTest })
  await system.start()
  process.on('unhandledRejection', (reason) => system.reportError('unhandledRejection', reason))
  await system.listen()
  process.on('SIGTERM', () => void system.stop().then(() => process.exit(0)))
  await system.startSimulation()
  process.send?.({ type: 'ready', pid: process.pid })
}

void main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
