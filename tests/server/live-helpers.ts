/**
 * Helpers of the live-stream tests (`tests/server/live-*.test.ts`): a real server on port 0 (the
 * system's own wiring, or the live server composed by hand where a test must look inside it), real
 * socket.io-client sockets that record every frame, a driver that commits an exact number of
 * lifecycle changes, a TCP proxy that can cut or stall the network, and a child-process server that
 * can be killed with SIGKILL.
 */
import { serve, type ServerType } from '@hono/node-server'
import { spawn, type ChildProcess } from 'node:child_process'
import type { Server as HttpServer } from 'node:http'
import { connect, createServer, type AddressInfo, type Socket as NetSocket } from 'node:net'
import { io, type Socket } from 'socket.io-client'
import { WebSocket } from 'ws'
import { expect } from 'vitest'
import { CATEGORIES } from '../../shared/categories.ts'
import type {
  ChangeFrame,
  ClientToServerEvents,
  LiveEvent,
  Response as LiveResponse,
  ServerToClientEvents,
  Snapshot,
} from '../../shared/live.ts'
import type { Clock, EventAction, Satisfaction } from '../../shared/types.ts'
import { mulberry32 } from '../../shared/random.ts'
import { parseConfig, type Config } from '../../server/config.ts'
import { createKpiService } from '../../server/domain/kpi-service.ts'
import { createLiveServer, type LiveServerOptions } from '../../server/live/live-server.ts'
import { createLiveState, type LiveState } from '../../server/live/live-state.ts'
import { createChangeFeed } from '../../server/store/change-feed.ts'
import type { Store } from '../../server/store/store.ts'
import { createSystem, type System } from '../../server/system.ts'
import {
  createLiveClient,
  type LiveClient,
  type LiveConnectionState,
} from '../../web/src/realtime/live-client.ts'
import {
  ADMIN_TOKEN,
  CLOCK_START,
  allChanges,
  httpRequester,
  mintToken,
  tempDir,
  type ApiChange,
  type Requester,
} from './helpers.ts'

export type LiveSocket = Socket<ServerToClientEvents, ClientToServerEvents>

export const DISTRICT = '430602'

// ---------------------------------------------------------------------------------------------
// Waiting

/** Poll `cond` until it holds or the deadline passes (then fail with `what`). */
export async function until(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
  everyMs = 10,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await cond()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

/** Let the event loop run I/O (not a sleep: one turn). */
export const turn = (): Promise<void> => new Promise((r) => setImmediate(r))

// ---------------------------------------------------------------------------------------------
// Servers

export interface LiveTestServer {
  system: System
  config: Config
  port: number
  base: string
  http: Requester
  dataDir: string
  stop(): Promise<void>
}

/** The environment of a live test server: simulator off (the live stream starts at listen). */
export function liveEnv(dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    SIMULATE: '0',
    BACKFILL_DAYS: '1',
    LOG_LEVEL: 'silent',
    ADMIN_TOKEN,
    ...extra,
  }
}

export function liveConfig(dataDir: string, extra: Record<string, string> = {}): Config {
  const parsed = parseConfig(liveEnv(dataDir, extra))
  if (!parsed.ok) throw new Error(`config invalid: ${parsed.errors.join('; ')}`)
  return parsed.config
}

/** The system as `server/main.ts` wires it, listening on a free port (`system.listen()`). */
export async function startLiveServer(
  opts: { env?: Record<string, string>; clock?: Clock; dataDir?: string } = {},
): Promise<LiveTestServer> {
  const dir = opts.dataDir ? null : tempDir('live')
  const dataDir = opts.dataDir ?? dir!.path
  const config = liveConfig(dataDir, opts.env)
  const system = await createSystem(config, opts.clock ? { clock: opts.clock } : {})
  await system.start()
  const port = await system.listen()
  const base = `http://127.0.0.1:${port}`
  return {
    system,
    config,
    port,
    base,
    http: httpRequester(base),
    dataDir,
    async stop() {
      await system.stop()
      dir?.remove()
    },
  }
}

export interface ComposedLiveServer extends LiveTestServer {
  live: ReturnType<typeof createLiveServer>
  state: LiveState
}

/** The live server's own options a test may set (the parts come from the system). */
export type LiveTuning = Omit<
  LiveServerOptions,
  'httpServer' | 'state' | 'store' | 'tokens' | 'city' | 'clock' | 'timeZone' | 'logger' | 'allowedOrigins'
>

/**
 * The same parts composed by hand (as `server/system.ts` does), so a test can reach the Socket.IO
 * server (`live.io`) and set the live server's options (tick, buffer limit).
 */
export async function startComposedLiveServer(
  opts: {
    env?: Record<string, string>
    clock?: Clock
    live?: LiveTuning
    /** Wraps the store the live parts read (to inject a fault into one call). */
    wrapStore?: (store: Store) => Store
  } = {},
): Promise<ComposedLiveServer> {
  const dir = tempDir('live-composed')
  const config = liveConfig(dir.path, opts.env)
  const system = await createSystem(config, opts.clock ? { clock: opts.clock } : {})
  await system.start()
  const { city, clock, tokens, logger } = system
  const store = opts.wrapStore ? opts.wrapStore(system.store) : system.store
  const calendar = config.calendar
  const kpis = createKpiService({ store, clock, calendar, city, weights: config.weights })
  const state = createLiveState({ store, clock, calendar, city, weights: config.weights, dayOf: kpis.dayOf })
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: system.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
  })
  const port = (server.address() as AddressInfo).port
  const live = createLiveServer({
    httpServer: server as unknown as HttpServer,
    state,
    store,
    tokens,
    city,
    clock,
    timeZone: calendar.timeZone,
    logger,
    allowedOrigins: config.allowedOrigins,
    ...opts.live,
  })
  // The live parts follow the log through the (possibly wrapped) store they read.
  const feed = createChangeFeed(store, { pollMs: 200 })
  await live.start({ feed, onIngest: () => () => undefined })
  const base = `http://127.0.0.1:${port}`
  return {
    system,
    config,
    port,
    base,
    http: httpRequester(base),
    dataDir: dir.path,
    live,
    state,
    async stop() {
      await live.close()
      await feed.stop()
      await new Promise<void>((r) => server.close(() => r()))
      await system.stop()
      dir.remove()
    },
  }
}

/** A free TCP port (for a server that must come back on the same port). */
export async function freePort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const { port } = srv.address() as AddressInfo
  await new Promise<void>((r) => srv.close(() => r()))
  return port
}

/**
 * `server/main.ts` as a child process, as a deployment runs it: ONE node process with tsx as a loader
 * (`node --import tsx`; the tsx CLI would relay a SIGTERM to a child of its own and SIGKILL that child
 * unless it acknowledged within about 60 ms, so no graceful shutdown could be tested). It is started
 * as a process group (a `wrap` command such as taskset included) and `kill()` signals the whole group
 * (SIGKILL by default).
 */
export interface ChildServer {
  child: ChildProcess
  output: () => string
  exited: Promise<number | null>
  kill(signal?: NodeJS.Signals): Promise<void>
}

export function spawnServer(
  env: Record<string, string>,
  /** A command to run the server under, e.g. `['taskset', '-c', '1']` (a benchmark pins it to a core). */
  opts: { wrap?: string[] } = {},
): ChildServer {
  const [cmd, ...args] = [...(opts.wrap ?? []), process.execPath, '--import', 'tsx', 'server/main.ts']
  const child = spawn(cmd!, args, {
    cwd: process.cwd(),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  let out = ''
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()))
  // 'close', not 'exit': the process has ended AND its output has been read to the end, so a crash's
  // last words (an uncaught exception's stack) are in output() when a test reports the exit code.
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)))
  // The group is detached: never leave it running when the test process ends, however it ends.
  const reap = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  process.once('exit', reap)
  void exited.then(() => process.off('exit', reap))
  return {
    child,
    output: () => out,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid!, signal)
        } catch {
          child.kill(signal)
        }
      }
      await exited
    },
  }
}

/** Wait for `GET /readyz` to answer 200. */
export async function waitReady(base: string, child?: ChildServer, timeoutMs = 60_000): Promise<void> {
  await until(
    async () => {
      if (child && (child.child.exitCode !== null || child.child.signalCode !== null))
        throw new Error(`server exited early:\n${child.output()}`)
      try {
        return (await fetch(`${base}/readyz`)).status === 200
      } catch {
        return false
      }
    },
    `${base}/readyz`,
    timeoutMs,
    50,
  )
}

/**
 * A TCP proxy in front of a server: `cut()` drops every connection (a network failure: the client
 * sees a transport close and reconnects by itself); while `blocked`, new connections are refused.
 */
export async function tcpProxy(targetPort: number): Promise<{
  port: number
  base: string
  blocked: boolean
  cut(): void
  close(): Promise<void>
}> {
  const open = new Set<NetSocket>()
  const track = (s: NetSocket) => {
    open.add(s)
    s.on('close', () => open.delete(s))
  }
  const proxy = {
    port: 0,
    base: '',
    blocked: false,
    cut() {
      for (const s of open) s.destroy()
    },
    close: () =>
      new Promise<void>((r) => {
        proxy.cut()
        server.close(() => r())
      }),
  }
  const server = createServer((client) => {
    if (proxy.blocked) return void client.destroy()
    const upstream = connect(targetPort, '127.0.0.1')
    track(client)
    track(upstream)
    const end = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  proxy.port = (server.address() as AddressInfo).port
  proxy.base = `http://127.0.0.1:${proxy.port}`
  return proxy
}

// ---------------------------------------------------------------------------------------------
// Clients

export interface Frame {
  event: string
  payload: unknown
}

export interface Recorder {
  socket: LiveSocket
  /** Every frame received, in order (`onAny`). */
  frames: Frame[]
  changes(): ChangeFrame[]
  of<T>(event: string): T[]
  /** The last seq applied (what a client would send as `since`). */
  lastSeq(): number
  /** Number of `synced` frames received. */
  synced(): number
  connectErrors: { message: string; code?: string }[]
  disconnects: string[]
  subscribe(region: string): Promise<LiveResponse<Snapshot>>
  close(): void
}

export interface ConnectOptions {
  token: string
  since?: number
  /** Send `since` = the last seq applied on every (re)connect (auth as a function). */
  sinceFromLastSeq?: boolean
  transports?: ('polling' | 'websocket')[]
  extraHeaders?: Record<string, string>
  reconnection?: boolean
}

/** A raw socket.io-client socket on `/live` that records every frame. Not yet connected. */
export function liveSocket(base: string, o: ConnectOptions): Recorder {
  const frames: Frame[] = []
  let last = o.since ?? -1
  const socket: LiveSocket = io(`${base}/live`, {
    forceNew: true,
    autoConnect: false,
    reconnection: o.reconnection ?? false,
    reconnectionDelay: 200,
    reconnectionDelayMax: 1000,
    transports: o.transports ?? ['websocket'],
    ...(o.extraHeaders ? { extraHeaders: o.extraHeaders } : {}),
    auth: o.sinceFromLastSeq
      ? (cb) => cb(last >= 0 ? { token: o.token, since: last } : { token: o.token })
      : { token: o.token, ...(o.since !== undefined ? { since: o.since } : {}) },
  })
  const connectErrors: Recorder['connectErrors'] = []
  const disconnects: string[] = []
  socket.onAny((event: string, payload: unknown) => {
    frames.push({ event, payload })
    if (event === 'change') last = Math.max(last, (payload as ChangeFrame).seq)
    if (event === 'synced') last = Math.max(last, (payload as { seq: number }).seq)
  })
  socket.on('connect_error', (err) => {
    const code = (err as Error & { data?: { code?: string } }).data?.code
    connectErrors.push({ message: err.message, ...(code ? { code } : {}) })
  })
  socket.on('disconnect', (reason) => disconnects.push(reason))
  const of = <T>(event: string): T[] => frames.filter((f) => f.event === event).map((f) => f.payload as T)
  return {
    socket,
    frames,
    changes: () => of<ChangeFrame>('change'),
    of,
    lastSeq: () => last,
    synced: () => frames.filter((f) => f.event === 'synced').length,
    connectErrors,
    disconnects,
    subscribe: (region) => socket.timeout(10_000).emitWithAck('subscribe', { region }),
    close: () => void socket.close(),
  }
}

/** Connect and wait until the replay is done (`synced`); internal roles only. */
export async function connectSynced(base: string, o: ConnectOptions): Promise<Recorder> {
  const r = liveSocket(base, o)
  r.socket.connect()
  await until(() => r.synced() > 0 || r.connectErrors.length > 0, 'synced')
  if (r.synced() === 0) throw new Error(`connect failed: ${JSON.stringify(r.connectErrors)}`)
  return r
}

/** Connect and wait for `connect` or `connect_error`. */
export async function connectOutcome(
  r: Recorder,
  timeoutMs = 10_000,
): Promise<{ ok: true } | { ok: false; message: string; code?: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no connect or connect_error')), timeoutMs)
    r.socket.once('connect', () => {
      clearTimeout(timer)
      resolve({ ok: true })
    })
    r.socket.once('connect_error', (err) => {
      clearTimeout(timer)
      const code = (err as Error & { data?: { code?: string } }).data?.code
      resolve({ ok: false, message: err.message, ...(code ? { code } : {}) })
    })
    r.socket.connect()
  })
}

// ---------------------------------------------------------------------------------------------
// Writing changes

const STEPS: { action: EventAction; department?: string; passed?: boolean; satisfaction?: Satisfaction }[] = [
  { action: 'accept' },
  { action: 'file' },
  { action: 'dispatch', department: '城管执法局' },
  { action: 'handle' },
  { action: 'verify', passed: true },
  { action: 'evaluate', satisfaction: 'satisfied' },
]

/** A small deterministic PRNG (mulberry32, `shared/random.ts`). */
export const rng = (seed: number): (() => number) => mulberry32(seed).next

/**
 * Commits lifecycle changes one at a time through `system.events`: a mix of new reports and actions
 * on open events, over grids of `region` (default: the whole district). Every `step()` commits
 * exactly one change.
 */
export function changeDriver(
  system: System,
  opts: {
    region?: string
    seed?: number
    /** Pad descriptions to this many characters. */ descriptionLength?: number
  } = {},
) {
  const random = rng(opts.seed ?? 7)
  const grids = system.city.gridsOf(opts.region ?? system.city.district.code)
  const cats = CATEGORIES.filter((c) => c.code.startsWith('CG'))
  const active: { id: string; step: number }[] = []
  let reported = 0
  async function step(): Promise<number> {
    if (active.length < 8 || random() < 0.25) {
      const g = grids[Math.floor(random() * grids.length)]!
      const cat = cats[Math.floor(random() * cats.length)]!
      const r = await system.events.report({
        category: cat.code,
        description: `test event ${++reported} `.padEnd(opts.descriptionLength ?? 0, '路'),
        lat: g.centroid[1],
        lng: g.centroid[0],
        gridCode: g.code,
        source: 'patrol',
        reporter: { name: '测试员', phone: '13800001111' },
      })
      active.push({ id: r.event.id, step: 0 })
      return r.change.seq
    }
    const i = Math.floor(random() * active.length)
    const a = active[i]!
    const { action, ...fields } = STEPS[a.step]!
    const r = await system.events.act(a.id, { action, ...fields })
    if (++a.step === STEPS.length) active.splice(i, 1)
    return r.change.seq
  }
  return {
    step,
    /**
     * Commit `n` changes. With `chunk`, let the event loop run after every `chunk` changes (and call
     * `onChunk`); with `batch`, commit each chunk in one transaction (fast bulk writing).
     */
    async run(n: number, o: { chunk?: number; batch?: boolean; onChunk?: () => void } = {}): Promise<number> {
      const chunk = o.chunk ?? n
      let last = 0
      for (let done = 0; done < n;) {
        const k = Math.min(chunk, n - done)
        const write = async () => {
          for (let i = 0; i < k; i++) last = await step()
        }
        await (o.batch ? system.store.batch(write) : write())
        done += k
        if (o.chunk) {
          await turn()
          o.onChunk?.()
        }
      }
      return last
    },
  }
}

/**
 * While a server is down, commit `n` changes to its data directory through the product's own system
 * in-process (as another writer would): changes its clients never saw live. Returns the last seq.
 */
export async function commitWhileDown(dataDir: string, n: number, seed = 11): Promise<number> {
  const offline = await createSystem(liveConfig(dataDir))
  try {
    await offline.start()
    return await changeDriver(offline, { seed }).run(n)
  } finally {
    await offline.stop()
  }
}

// ---------------------------------------------------------------------------------------------
// Comparing

/** What a change frame and a change-log entry have in common, normalised. */
export interface ChangeKey {
  seq: number
  at: string
  eventId: string
  gridCode: string
  action: string
  status: string
  data?: Record<string, unknown>
}

const cleanData = (d: Record<string, unknown> | undefined): Record<string, unknown> | undefined =>
  d && Object.keys(d).length > 0 ? d : undefined

export function keyOfFrame(f: ChangeFrame): ChangeKey {
  const e: LiveEvent = f.event
  const data = cleanData(e.data as Record<string, unknown> | undefined)
  return {
    seq: f.seq,
    at: f.at,
    eventId: e.id,
    gridCode: e.gridCode,
    action: e.action ?? '(none)',
    status: e.status,
    ...(data ? { data } : {}),
  }
}

export function keyOfLog(c: ApiChange): ChangeKey {
  const data = cleanData(c.data as Record<string, unknown> | undefined)
  return {
    seq: c.seq,
    at: c.at,
    eventId: c.eventId,
    gridCode: c.gridCode,
    action: c.action,
    status: c.status,
    ...(data ? { data } : {}),
  }
}

/** Seqs that occur more than once. */
export function duplicates(seqs: number[]): number[] {
  const seen = new Set<number>()
  const dup = new Set<number>()
  for (const s of seqs) (seen.has(s) ? dup : seen).add(s)
  return [...dup]
}

/** The change log after `since` (as an admin sees it). */
export const logAfter = (http: Requester, since: number): Promise<ApiChange[]> =>
  allChanges(http, ADMIN_TOKEN, since)

/**
 * The frames received equal the log after `since`: same changes, same order, none twice, none
 * missing. Compares compact summaries first so a failure message stays readable.
 */
export function expectExactlyTheLog(received: ChangeFrame[], log: ApiChange[]): void {
  const seqs = received.map((f) => f.seq)
  expect(duplicates(seqs), 'changes received twice').toEqual([])
  const want = new Set(log.map((c) => c.seq))
  expect(
    seqs.filter((s) => !want.has(s)),
    'changes received that are not in the log after since',
  ).toEqual([])
  const got = new Set(seqs)
  expect(
    log.filter((c) => !got.has(c.seq)).map((c) => c.seq),
    'changes of the log never received',
  ).toEqual([])
  expect(seqs, 'order').toEqual(log.map((c) => c.seq))
  expect(received.map(keyOfFrame)).toEqual(log.map(keyOfLog))
}

// ---------------------------------------------------------------------------------------------
// Hostile clients

/**
 * A raw Socket.IO v5 / engine.io v4 client over one WebSocket (the `ws` package): what no real
 * client library would do. It connects to `/live`, answers pings while it reads, and can stop
 * reading altogether (`pause()`: its TCP socket is paused, the kernel's window closes) while it
 * goes on writing.
 */
export interface RawLiveClient {
  ws: WebSocket
  /** The namespace's answer to CONNECT: `40/live,{…}` (connected) or `44/live,{…}` (refused). */
  connected: Promise<string>
  /** Acknowledgements received, by ack id. */
  acks: Map<number, unknown>
  /** Bytes of every message received. */
  receivedBytes(): number
  /** Emit `event` with an ack id (`42/live,<id>[event, payload]`). */
  emitWithAckId(id: number, event: string, payload: unknown): void
  pause(): void
  resume(): void
  /** Resolves when the connection is closed, by either side. */
  closed: Promise<void>
}

export function rawLiveClient(port: number, token: string): RawLiveClient {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`)
  const acks = new Map<number, unknown>()
  let bytes = 0
  let onConnect: (answer: string) => void = () => undefined
  const connected = new Promise<string>((resolve, reject) => {
    onConnect = resolve
    ws.once('error', reject)
  })
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()))
  ws.on('error', () => undefined)
  ws.on('message', (data: Buffer) => {
    const msg = data.toString()
    bytes += data.length
    if (msg === '2') return ws.send('3')
    if (msg.startsWith('0{')) return ws.send(`40/live,${JSON.stringify({ token })}`)
    if (msg.startsWith('40/live,') || msg.startsWith('44/live,')) return onConnect(msg)
    const ack = /^43\/live,(\d+)(.*)$/s.exec(msg)
    if (ack) acks.set(Number(ack[1]), JSON.parse(ack[2]!))
  })
  return {
    ws,
    connected,
    acks,
    receivedBytes: () => bytes,
    emitWithAckId: (id, event, payload) => ws.send(`42/live,${id}${JSON.stringify([event, payload])}`),
    pause: () => ws.pause(),
    resume: () => ws.resume(),
    closed,
  }
}

/** The server's resident memory as its own `/metrics` reports it (prom-client's process metrics). */
export async function serverRss(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text()
  const m = /^process_resident_memory_bytes (\d+)/m.exec(text)
  if (!m) throw new Error('no process_resident_memory_bytes in /metrics')
  return Number(m[1])
}

// ---------------------------------------------------------------------------------------------
// Restart tests: a simulating child server and two clients streaming from it

/** The environment of a restart test's child server: the simulator at ×300 from the tests' clock. */
export function restartEnv(port: number, dataDir: string): Record<string, string> {
  return {
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    SIMULATE: '1',
    SIM_SPEED: '300',
    BACKFILL_DAYS: '1',
    SIM_SEED: '20260101',
    SIM_CLOCK_START: CLOCK_START,
    LOG_LEVEL: 'silent',
    ADMIN_TOKEN,
  }
}

/** The web's createLiveClient and a raw socket.io-client, both an officer's, recording what they get. */
export interface StreamingPair {
  client: LiveClient
  raw: Recorder
  applied: ChangeFrame[]
  states: LiveConnectionState[]
  /** Snapshots createLiveClient received (one per (re)subscribe). */
  snapshots(): number
  /** The seq each went live at. */
  clientStart: number
  rawStart: number
  close(): void
}

/** The server's committed head, from `/readyz`. */
export const headOf = async (base: string): Promise<number> =>
  ((await (await fetch(`${base}/readyz`)).json()) as { seq: number }).seq

/**
 * Both clients live, then `ahead` live changes past where they went live (mid-stream: more are
 * coming). The raw client's auth is a function sending its last seq; a refusal by the middleware
 * (not_ready while a restarted server catches up) is final for socket.io-client, so it tries again,
 * as createLiveClient does.
 */
export async function streamingPair(
  base: string,
  o: { ahead: number; transports?: ('polling' | 'websocket')[] },
): Promise<StreamingPair> {
  const officer = await mintToken(httpRequester(base), 'officer')
  const applied: ChangeFrame[] = []
  const states: LiveConnectionState[] = []
  let snapshots = 0
  const client = createLiveClient({
    url: base,
    token: officer,
    region: DISTRICT,
    ...(o.transports ? { transports: o.transports } : {}),
    handlers: {
      change: (f) => applied.push(f),
      state: (s) => states.push(s),
      snapshot: () => void snapshots++,
    },
  })
  const raw = liveSocket(base, { token: officer, sinceFromLastSeq: true, reconnection: true })
  raw.socket.on('connect_error', () => {
    if (!raw.socket.active) setTimeout(() => raw.socket.connect(), 300)
  })
  raw.socket.connect()
  await until(() => client.state.status === 'live' && raw.synced() === 1, 'both clients live')
  const clientStart = (states.find((s) => s.status === 'live') ?? client.state).lastSeq
  const rawStart = raw.of<{ seq: number }>('synced')[0]!.seq
  const target = Math.max(clientStart, rawStart) + o.ahead
  await until(() => client.state.lastSeq >= target && raw.lastSeq() >= target, 'live changes', 30_000)
  return {
    client,
    raw,
    applied,
    states,
    snapshots: () => snapshots,
    clientStart,
    rawStart,
    close() {
      client.close()
      raw.close()
    },
  }
}

/** After a restart: both clients live again by themselves, then at a head 20 changes on. Returns it. */
export async function backAtHead(base: string, p: StreamingPair): Promise<number> {
  await until(
    () => p.client.state.status === 'live' && p.raw.synced() >= 2,
    'both clients live again by themselves',
    30_000,
  )
  // Everything up to a head of the restarted server, with the simulator still writing.
  const head = (await headOf(base)) + 20
  await until(async () => (await headOf(base)) >= head, 'more changes after the restart', 30_000)
  await until(
    () => p.client.state.lastSeq >= head && p.raw.lastSeq() >= head,
    'the clients at the head',
    30_000,
  )
  return head
}
