/**
 * `npm run bench:fanout`: the live stream under a fixed, stated load, the product against a fair
 * non-coalescing baseline (naive-live.ts) at equal socket counts, in one run.
 *
 * The load is not the simulator's (its diurnal curve made one command deliver 276,000 items/s at
 * one hour and 30,000 at another): the servers run with SIMULATE=0 on a copy of one seeded store,
 * and fanout-load.ts posts a city's pings and a busy hour's events over HTTP at fixed rates.
 * Sockets come from CLIENT_PROCS client processes, pinned with `taskset` to CLIENT_CPUS, away from
 * the server's SERVER_CPUS; the load generator runs with the clients. Latency is measured in the
 * server process with server-side timestamps (fanout-server.ts), and at the clients besides.
 *
 * Parts (env):
 * - the sweep: SWEEP total sockets (default 250,1000,2000,4000,8000,12000), INTERNAL_SHARE of them
 *   officers (default 1/6: 2,000 of 12,000), the rest public; each design of MODES at each count.
 * - the cluster: CLUSTER_PROCS (default 1,3) processes of the product on PostgreSQL + Redis
 *   (DATABASE_URL, REDIS_URL; skipped without them), CLUSTER_SOCKETS sockets spread over them, the
 *   same load: cluster efficiency = delivered items per server CPU-second with 3 ÷ with 1.
 * - the burst: the product as it was before its sliced delivery (each tick's frames to whole rooms
 *   at once, design `burst`) at BURST_SOCKETS (default the sweep's largest count), beside the
 *   sweep's coalesced row at that count: where a change frame waited, and what slicing removed.
 *   PARTS=sweep,burst,cluster chooses (default all three).
 * Window: WARMUP_S (10) after the sockets are connected, then SECONDS (30) measured. Load: WORKERS
 * (6060), PING_EVERY_S (10), EVENTS_PER_HOUR (busy hour, scaled to WORKERS), SELF_HANDLED (0.8),
 * STEP_S (2). PLAN=1 prints what would run and exits; REPORT=0 prints the section and leaves
 * BENCHMARKS.md alone; otherwise the results replace the block between the fan-out section's
 * `fanout:results` markers (the rest of the section is kept).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { dropPgSchema } from '../../server/store/pg-store.ts'
import { appendSection, percentile } from './bench-report.ts'
import { changesPerSecond, loadPlan } from './fanout-load.ts'

const env = process.env
const num = (k: string, d: number) => Number(env[k] ?? d)
const SWEEP = (env.SWEEP ?? '250,1000,2000,4000,8000,12000').split(',').map(Number)
const INTERNAL_SHARE = num('INTERNAL_SHARE', 1 / 6)
const MODES = (env.MODES ?? 'coalesced,naive').split(',') as Design[]
const PARTS = (env.PARTS ?? 'sweep,burst,cluster').split(',')
const SECONDS = num('SECONDS', 30)
const WARMUP_S = num('WARMUP_S', 10)
const CLIENT_PROCS = num('CLIENT_PROCS', 4)
const N_CPUS = cpus().length
const SERVER_CPUS = env.SERVER_CPUS ?? '0'
const CLIENT_CPUS = env.CLIENT_CPUS ?? (N_CPUS > 2 ? `1-${N_CPUS - 1}` : N_CPUS > 1 ? '1' : '0')
const BURST_SOCKETS = num('BURST_SOCKETS', Math.max(...SWEEP))
const CLUSTER_PROCS = (env.CLUSTER_PROCS ?? '1,3').split(',').map(Number)
const CLUSTER_SOCKETS = num('CLUSTER_SOCKETS', 12_000)
const DATABASE_URL = env.DATABASE_URL
const REDIS_URL = env.REDIS_URL
const SEED_DAYS = num('SEED_DAYS', 2)
const CITY = env.CITY ?? '430602'
const SAMPLE_EVERY = num('BENCH_SAMPLE_EVERY', 5)
/** How long the clients go on opening a row's sockets (and wait for each handshake). */
const CONNECT_SECONDS = num('CONNECT_SECONDS', 300)
const P99_TARGET_MS = 400
const ADMIN = 'bench-admin-token-0123456789abcdef'
const PLAN = loadPlan(env)
const BASE_PORT = num('BASE_PORT', 18_700)

/** `burst`: the product with each tick's frames to whole rooms at once (before the sliced delivery). */
type Design = 'coalesced' | 'burst' | 'naive'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const T0 = Date.now()
const log = (s: string) =>
  process.stderr.write(
    s.replace(/^(\n?)/, (m) => `${m}${((Date.now() - T0) / 1000).toFixed(0).padStart(5)}s `) + '\n',
  )

// ------------------------------------------------------------------ processes and /proc

const cpuSeconds = (pid: number): number => {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(f[11]) + Number(f[12])) / 100
  } catch {
    return NaN
  }
}
const rssBytes = (pid: number): number => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024
  } catch {
    return NaN
  }
}
/** Pids of the processes named `comm` (the shared services of a cluster run: redis-server, postgres). */
const pidsNamed = (comm: string): number[] =>
  readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/comm`, 'utf8').trim() === comm
      } catch {
        return false
      }
    })
    .map(Number)

interface Child {
  proc: ChildProcess
  pid: number
  /** The next IPC message of `type`. */
  next(type: string, timeoutMs?: number): Promise<Record<string, unknown> | null>
  send(cmd: string): void
  exited: Promise<number | null>
}

const tsxArgs = ['--import', 'tsx']
/** A node process running `file`, pinned to `cpusList` with taskset, with an IPC channel. */
function start(
  file: string,
  cpusList: string,
  extra: Record<string, string>,
  nodeArgs: string[] = [],
): Child {
  const args = [...nodeArgs, ...tsxArgs, file]
  // The shared services reach a process only when its part asks for them (a SQLite row must not
  // inherit the DATABASE_URL and REDIS_URL the cluster part is given).
  const extraEnv: Record<string, string | undefined> = {
    DATABASE_URL: undefined,
    DATABASE_SCHEMA: undefined,
    REDIS_URL: undefined,
    ...extra,
  }
  const proc =
    env.TASKSET === '0'
      ? spawn(process.execPath, args, {
          env: { ...env, ...extraEnv },
          stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        })
      : spawn('taskset', ['-c', cpusList, process.execPath, ...args], {
          env: { ...env, ...extraEnv },
          stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        })
  const waiters: ((m: Record<string, unknown>) => boolean)[] = []
  proc.on('message', (m: Record<string, unknown>) => {
    if (m.type === 'error') log(`  ${file}: ${String(m.message)}`)
    for (let i = 0; i < waiters.length; i++) if (waiters[i]!(m)) waiters.splice(i--, 1)
  })
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)))
  return {
    proc,
    pid: proc.pid!,
    next: (type, timeoutMs = 600_000) =>
      Promise.race([
        new Promise<Record<string, unknown>>((resolve) =>
          waiters.push((m) => (m.type === type ? (resolve(m), true) : false)),
        ),
        sleep(timeoutMs).then(() => null),
        exited.then(() => null),
      ]),
    send: (cmd) => {
      if (proc.connected) proc.send({ cmd })
    },
    exited,
  }
}

async function stop(c: Child, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (c.proc.exitCode !== null || c.proc.signalCode !== null) return
  c.proc.kill(signal)
  const t = setTimeout(() => c.proc.kill('SIGKILL'), 20_000)
  await c.exited
  clearTimeout(t)
}

async function waitReady(port: number, child: Child, timeoutMs = 300_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if (child.proc.exitCode !== null) throw new Error(`server on ${port} exited (${child.proc.exitCode})`)
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) return
    } catch {
      /* not listening yet */
    }
    await sleep(300)
  }
  throw new Error(`server on ${port} not ready`)
}

async function api(port: number, path: string, body: unknown): Promise<Record<string, unknown>> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return r.json() as Promise<Record<string, unknown>>
}

// ------------------------------------------------------------------ stores

interface Store {
  env: Record<string, string>
  drop(): Promise<void>
}

const serverEnv = (sockets: number): Record<string, string> => ({
  ADMIN_TOKEN: ADMIN,
  CITY,
  LOG_LEVEL: 'warn',
  SIMULATE: '0',
  // Every benchmark socket comes from 127.0.0.1 with one of two tokens; the load from one address too.
  LIVE_MAX_CONNECTIONS_PER_IP: String(sockets + 1000),
  LIVE_MAX_CONNECTIONS_PER_TOKEN: String(sockets + 1000),
  RATE_LIMIT_PER_IP: '100000000',
  RATE_LIMIT_PER_TOKEN: '100000000',
  CI: '',
})

/** The seeded store each run starts from: SEED_DAYS of simulated history, then the simulator stopped. */
async function seed(storeEnv: Record<string, string>, port: number): Promise<void> {
  const c = start('server/main.ts', SERVER_CPUS, {
    ...serverEnv(10),
    ...storeEnv,
    PORT: String(port),
    SIMULATE: '1',
    SIM_SPEED: '1',
    BACKFILL_DAYS: String(SEED_DAYS),
  })
  await waitReady(port, c, 600_000)
  await stop(c)
}

let sqliteSeed: string | null = null
async function sqliteStore(): Promise<Store> {
  if (!sqliteSeed) {
    // SEED_DIR: a seeded data directory kept between runs (made there if it does not exist).
    const kept = env.SEED_DIR
    sqliteSeed = kept ?? mkdtempSync(join(tmpdir(), 'fanout-seed-'))
    if (!kept || !existsSync(join(kept, 'city-brain.sqlite'))) {
      log(`seeding a SQLite store with ${SEED_DAYS} days of history…`)
      await seed({ DATA_DIR: sqliteSeed }, BASE_PORT + 90)
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'fanout-run-'))
  cpSync(sqliteSeed, dir, { recursive: true })
  return { env: { DATA_DIR: dir }, drop: async () => rmSync(dir, { recursive: true, force: true }) }
}

let schemaN = 0
async function pgStore(): Promise<Store> {
  const schema = `bench_fanout_${process.pid}_${schemaN++}`
  const storeEnv = { DATABASE_URL: DATABASE_URL!, DATABASE_SCHEMA: schema, REDIS_URL: REDIS_URL! }
  log(`seeding PostgreSQL schema ${schema} with ${SEED_DAYS} days of history…`)
  await seed(storeEnv, BASE_PORT + 91)
  return { env: storeEnv, drop: () => dropPgSchema(DATABASE_URL!, schema) }
}

// ------------------------------------------------------------------ one measured point

interface Counted {
  frames: number
  bytes: number
  items: number
}
interface ServerReport {
  seconds: number
  eventLoop: { p50: number; p99: number; max: number; mean: number; utilisation: number }
  broadcasts: Record<string, { calls: number; ms: number; maxMs: number; sockets: number }>
  longestBurst: number
  sampled: { internal: number; public: number }
  fed: number[]
  changeQueued: number[]
  changeWritten: number[]
  publicWritten: number[]
}
interface LoadMark {
  at: number
  pingsDue: number
  pingsOk: number
  pingsFailed: number
  pingsBehind: number
  reports: number
  actions: number
  eventsFailed: number
  errors: Record<string, number>
  pingP50: number | null
  pingP99: number | null
}

export interface Point {
  design: Design
  procs: number
  internal: number
  public: number
  connected: number
  failed: string | null
  seconds: number
  cpu: number
  servicesCpu: number | null
  internalOut: Counted
  publicOut: Counted
  rssPerConnKB: number
  lat: {
    fed: number[]
    queued: number[]
    written: number[]
    publicWritten: number[]
    client: number[]
    clientPublic: number[]
  }
  eventLoopP99: number
  eventLoopMax: number
  longestBurst: number
  broadcastMsPerS: Record<string, number>
  load: { pingsPerS: number; behindPerS: number; failedPerS: number; changesPerS: number; errors: string[] }
  clientCpu: number
}

const sorted = (a: number[]) => [...a].sort((x, y) => x - y)

async function runPoint(design: Design, total: number, procs: number, pg: boolean): Promise<Point> {
  const internal = Math.round(total * INTERNAL_SHARE)
  const pub = total - internal
  const label = `[${design} ×${procs}, ${internal}+${pub} sockets]`
  log(`\n${label} preparing…`)
  const store = pg ? await pgStore() : await sqliteStore()
  const ports = Array.from({ length: procs }, (_, i) => BASE_PORT + i)
  const servers: Child[] = []
  const clients: Child[] = []
  let load: Child | null = null
  const point: Point = {
    design,
    procs,
    internal,
    public: pub,
    connected: 0,
    failed: null,
    seconds: 0,
    cpu: NaN,
    servicesCpu: null,
    internalOut: { frames: 0, bytes: 0, items: 0 },
    publicOut: { frames: 0, bytes: 0, items: 0 },
    rssPerConnKB: NaN,
    lat: { fed: [], queued: [], written: [], publicWritten: [], client: [], clientPublic: [] },
    eventLoopP99: NaN,
    eventLoopMax: NaN,
    longestBurst: NaN,
    broadcastMsPerS: {},
    load: { pingsPerS: 0, behindPerS: 0, failedPerS: 0, changesPerS: 0, errors: [] },
    clientCpu: NaN,
  }
  try {
    for (const port of ports) {
      const s = start(
        'tests/bench/fanout-server.ts',
        SERVER_CPUS,
        {
          ...serverEnv(total),
          ...store.env,
          PORT: String(port),
          BENCH_DESIGN: design,
          BENCH_SAMPLE_EVERY: String(SAMPLE_EVERY),
        },
        // SERVER_NODE_ARGS: node flags for the measured servers only (e.g. `--cpu-prof`).
        (env.SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean),
      )
      servers.push(s)
    }
    await Promise.all(ports.map((p, i) => waitReady(p, servers[i]!)))
    const mint = async (role: string) =>
      (await api(ports[0]!, '/api/v1/tokens', { role, ttl: '2h' })).token as string
    const [officer, publicToken] = [await mint('officer'), await mint('public')]
    const urls = ports.map((p) => `http://127.0.0.1:${p}`)
    load = start('tests/bench/fanout-load.ts', CLIENT_CPUS, {
      TARGETS: urls.join(','),
      ADMIN_TOKEN: ADMIN,
      CITY,
      WORKERS: String(PLAN.workers),
      PING_EVERY_S: String(PLAN.pingEverySeconds),
      EVENTS_PER_HOUR: String(PLAN.eventsPerHour),
      SELF_HANDLED: String(PLAN.selfHandled),
      STEP_S: String(PLAN.stepSeconds),
    })
    await load.next('started', 60_000)
    await sleep(5000)
    const rss0 = servers.reduce((s, c) => s + rssBytes(c.pid), 0)
    log(`${label} connecting…`)
    const share = (n: number, i: number) => Math.floor(n / CLIENT_PROCS) + (i < n % CLIENT_PROCS ? 1 : 0)
    for (let i = 0; i < CLIENT_PROCS; i++)
      clients.push(
        start('tests/bench/fanout-clients.ts', CLIENT_CPUS, {
          URLS: urls.join(','),
          REGION: CITY,
          INTERNAL: String(share(internal, i)),
          PUBLIC: String(share(pub, i)),
          OFFICER_TOKEN: officer,
          PUBLIC_TOKEN: publicToken,
          INDEX: String(i),
          CONNECT_SECONDS: String(CONNECT_SECONDS),
        }),
      )
    const connected = await Promise.all(
      clients.map((c) => c.next('connected', (CONNECT_SECONDS + 120) * 1000)),
    )
    point.connected = connected.reduce((s, m) => s + Number(m?.connected ?? 0), 0)
    log(`${label} ${point.connected} of ${total} connected; warming up ${WARMUP_S}s, measuring ${SECONDS}s`)
    await sleep(WARMUP_S * 1000)
    if (servers.some((s) => s.proc.exitCode !== null)) throw new Error('a server process died')

    const servicePids = () => (pg ? [...pidsNamed('redis-server'), ...pidsNamed('postgres')] : [])
    const svc0 = new Map(servicePids().map((p) => [p, cpuSeconds(p)]))
    for (const c of [...servers, ...clients]) c.send('reset')
    const mark0 = (await (load.send('mark'), load.next('mark', 30_000))) as unknown as LoadMark
    const cpu0 = servers.reduce((s, c) => s + cpuSeconds(c.pid), 0)
    const clientCpu0 = [...clients, load].reduce((s, c) => s + cpuSeconds(c.pid), 0)
    const t0 = Date.now()
    let rssMax = 0
    while (Date.now() - t0 < SECONDS * 1000) {
      await sleep(1000)
      rssMax = Math.max(
        rssMax,
        servers.reduce((s, c) => s + rssBytes(c.pid), 0),
      )
    }
    const cpu1 = servers.reduce((s, c) => s + cpuSeconds(c.pid), 0)
    const clientCpu1 = [...clients, load].reduce((s, c) => s + cpuSeconds(c.pid), 0)
    // Per process: its CPU in the window (all of it for one started since); a process that exited
    // meanwhile (a PostgreSQL backend) is not counted, rather than taken off the total.
    const svc1 = servicePids().reduce((sum, p) => {
      const now = cpuSeconds(p)
      const was = svc0.get(p) ?? 0
      return Number.isFinite(now) && Number.isFinite(was) ? sum + now - was : sum
    }, 0)
    const seconds = (Date.now() - t0) / 1000
    const reports = await Promise.all(clients.map((c) => (c.send('report'), c.next('report', 120_000))))
    const serverReports = await Promise.all(servers.map((c) => (c.send('report'), c.next('report', 120_000))))
    const mark1 = (await (load.send('mark'), load.next('mark', 30_000))) as unknown as LoadMark
    if (servers.some((s) => s.proc.exitCode !== null)) throw new Error('a server process died')

    point.seconds = seconds
    point.cpu = cpu1 - cpu0
    point.servicesCpu = pg ? svc1 : null
    point.clientCpu = (clientCpu1 - clientCpu0) / seconds
    point.rssPerConnKB = (rssMax - rss0) / Math.max(1, point.connected) / 1024
    for (const r of reports) {
      if (!r) continue
      const c = r.counted as { internal: Counted; public: Counted }
      for (const k of ['frames', 'bytes', 'items'] as const) {
        point.internalOut[k] += c.internal[k]
        point.publicOut[k] += c.public[k]
      }
      point.lat.client.push(...(r.changeLatency as number[]))
      point.lat.clientPublic.push(...(r.publicLatency as number[]))
    }
    point.connected = reports.reduce((s, r) => s + Number(r?.connected ?? 0), 0)
    let elP99 = 0
    let elMax = 0
    let burst = 0
    for (const m of serverReports) {
      const r = m as unknown as ServerReport | null
      if (!r) continue
      point.lat.fed.push(...r.fed)
      point.lat.queued.push(...r.changeQueued)
      point.lat.written.push(...r.changeWritten)
      point.lat.publicWritten.push(...r.publicWritten)
      elP99 = Math.max(elP99, r.eventLoop.p99)
      elMax = Math.max(elMax, r.eventLoop.max)
      burst = Math.max(burst, r.longestBurst)
      for (const [k, b] of Object.entries(r.broadcasts))
        point.broadcastMsPerS[k] = (point.broadcastMsPerS[k] ?? 0) + b.ms / r.seconds / procs
    }
    // The fed list of one process counts each change once (every process hears every change).
    const firstFed = (serverReports[0] as unknown as ServerReport | null)?.fed.length ?? 0
    point.eventLoopP99 = elP99
    point.eventLoopMax = elMax
    point.longestBurst = burst
    const dt = (mark1.at - mark0.at) / 1000
    point.load = {
      pingsPerS: (mark1.pingsOk - mark0.pingsOk) / dt,
      behindPerS: (mark1.pingsBehind - mark0.pingsBehind) / dt,
      failedPerS: (mark1.pingsFailed - mark0.pingsFailed + mark1.eventsFailed - mark0.eventsFailed) / dt,
      changesPerS: firstFed / seconds,
      errors: Object.entries(mark1.errors).map(([k, n]) => `${k} ×${n}`),
    }
    for (const k of Object.keys(point.lat) as (keyof Point['lat'])[]) point.lat[k] = sorted(point.lat[k])
  } catch (err) {
    point.failed = err instanceof Error ? err.message : String(err)
    log(`${label} failed: ${point.failed}`)
  } finally {
    for (const c of clients) c.send('quit')
    await Promise.all(
      clients.map((c) => Promise.race([c.exited, sleep(5000)]).then(() => stop(c, 'SIGKILL'))),
    )
    if (load) await stop(load, 'SIGKILL')
    await Promise.all(servers.map((s) => stop(s)))
    await store.drop().catch((err: unknown) => log(`dropping the store failed: ${String(err)}`))
  }
  log(`${label} ${summary(point)}`)
  return point
}

// ------------------------------------------------------------------ figures

const fmt = (n: number | null | undefined, digits = 0): string =>
  n === null || n === undefined || Number.isNaN(n)
    ? '—'
    : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
const p = (a: number[], q: number) => fmt(percentile(a, q))
const pp = (a: number[]) => (a.length ? `${p(a, 0.5)} / ${p(a, 0.99)}` : '—')
const per = (c: Counted, s: number) => ({ frames: c.frames / s, kb: c.bytes / 1024 / s, items: c.items / s })
const itemsPerCpu = (r: Point) => (r.internalOut.items + r.publicOut.items) / r.cpu
const framesPerCpu = (r: Point) => (r.internalOut.frames + r.publicOut.frames) / r.cpu
const kbPerCpu = (r: Point) => (r.internalOut.bytes + r.publicOut.bytes) / 1024 / r.cpu
const p99 = (r: Point) => percentile(r.lat.written, 0.99)
const complete = (r: Point) => !r.failed && r.connected === r.internal + r.public
const sustains = (r: Point) => complete(r) && p99(r) <= P99_TARGET_MS

/** A row's failure as the tables print it (a row not run says so, not "failed"). */
const failedText = (why: string) => (why.startsWith('not run') ? why : `failed: ${why}`)

function summary(r: Point): string {
  if (r.failed) return failedText(r.failed)
  return `connected ${r.connected}; CPU ${fmt((r.cpu / r.seconds) * 100)}%; items/CPU-s ${fmt(itemsPerCpu(r))}; change written p50/p99 ${pp(r.lat.written)} ms; client p50/p99 ${pp(r.lat.client)} ms; event loop p99 ${fmt(r.eventLoopP99)} ms; longest burst ${fmt(r.longestBurst)} ms; pings ${fmt(r.load.pingsPerS)}/s (behind ${fmt(r.load.behindPerS)}/s); changes ${fmt(r.load.changesPerS, 2)}/s`
}

const machine = () =>
  `${N_CPUS} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average at the start ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`

function loadText(): string {
  const pings = PLAN.workers / PLAN.pingEverySeconds
  return [
    `Load, fixed and the same for every row (no simulator in the servers: SIMULATE=0; ${SEED_DAYS} days of simulated history seeded into the store first): **${fmt(PLAN.workers)} workers on duty, each posting its own ping every ${PLAN.pingEverySeconds} s = ${fmt(pings)} pings/s**, one \`POST /api/v1/positions\` each, spread evenly over the second. The city file (${CITY}) has ${CITY === '430602' ? '652' : 'fewer'} workers, so the pings go round-robin over them: each real worker pings ${CITY === '430602' ? `every ${((652 / pings) * 1).toFixed(2)} s` : 'proportionally more often'}; the pings/s and the workers moving per second are those of ${fmt(PLAN.workers)} workers, the workers the server holds are the city's. **Events: ${fmt(PLAN.eventsPerHour)} reports/h** (the simulator's busy hour, 09:00 on a working day, 200/h for 652 workers, scaled to ${fmt(PLAN.workers)}), ${Math.round(PLAN.selfHandled * 100)} % closed on the spot (report, self_handle), the rest through the whole lifecycle (report, accept, file, dispatch, handle, verify, evaluate), one step every ${PLAN.stepSeconds} s, all over HTTP: **${fmt(changesPerSecond(PLAN), 2)} changes/s** committed. Each row says how much of it the server took.`,
    '',
    `Sockets: a share ${fmt(INTERNAL_SHARE * 100, 1)} % officers (internal, subscribed to the district: change, kpis, grids, positions, alert frames), the rest public (kpis and grids only), over WebSocket from ${CLIENT_PROCS} client processes. Pinned with \`taskset\`: server process(es) on CPU ${SERVER_CPUS}; client processes and the load generator on CPU ${CLIENT_CPUS}. Each row: connect, ${WARMUP_S} s warm-up, then a ${SECONDS} s window; server CPU is user+system time of the server process(es), all threads, over the window; deliveries are counted at the clients over the same window.`,
  ].join('\n')
}

const LATENCY_TEXT = [
  "Latency is the server's own, from server-side timestamps in the server process (fanout-server.ts), for every change committed in the window, on one internal socket in " +
    SAMPLE_EVERY +
    " (and as many public ones): **change → written** is from the change's `at` (stamped by the event service just before its commit, same clock) to the moment the transport handed that socket's frame to the kernel (its write callback); **→ created** is to the moment the broadcast created the frame for that socket; **→ feed** to the moment the change feed delivered the change to the live stream (the emit). Public: from the change's `at` to the first kpis or grids frame covering its seq, written. Client-observed latency (receive time at the client − `at`) includes the client processes' own queue and is given apart. Event loop: `monitorEventLoopDelay` in the server process over the window; longest burst: the longest run of broadcasts with no other callback between them.",
].join('')

function sweepText(rows: Point[]): string {
  const byCount = new Map<number, Point[]>()
  for (const r of rows) byCount.set(r.internal + r.public, [...(byCount.get(r.internal + r.public) ?? []), r])
  const ratio = (n: number): number | null => {
    const c = byCount.get(n)?.find((r) => r.design === 'coalesced')
    const b = byCount.get(n)?.find((r) => r.design === 'naive')
    return c && b && !c.failed && !b.failed ? itemsPerCpu(c) / itemsPerCpu(b) : null
  }
  const ok = (r: Point) => (r.failed ? failedText(r.failed) : `${fmt(r.connected)}`)
  const t1 = [
    '| sockets (internal + public) | design | connected | server CPU (1 core = 100 %) | internal frames/s | internal KB/s | internal items/s | public frames/s | public KB/s | public items/s | frames per CPU-s | KB per CPU-s | items per CPU-s | items per CPU-s, coalesced ÷ naive |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => {
      if (r.failed)
        return `| ${fmt(r.internal)} + ${fmt(r.public)} | ${r.design} | ${ok(r)} | — | — | — | — | — | — | — | — | — | — | — |`
      const i = per(r.internalOut, r.seconds)
      const u = per(r.publicOut, r.seconds)
      const x = r.design === 'coalesced' ? ratio(r.internal + r.public) : null
      return `| ${fmt(r.internal)} + ${fmt(r.public)} | ${r.design} | ${ok(r)} | ${fmt((r.cpu / r.seconds) * 100)} % | ${fmt(i.frames)} | ${fmt(i.kb)} | ${fmt(i.items)} | ${fmt(u.frames)} | ${fmt(u.kb)} | ${fmt(u.items)} | ${fmt(framesPerCpu(r))} | ${fmt(kbPerCpu(r))} | ${fmt(itemsPerCpu(r))} | ${x === null ? '' : `**${fmt(x, 1)}×**`} |`
    }),
  ]
  const t2 = [
    '| sockets | design | change → feed p50 / p99 ms | change → created p50 / p99 ms | **change → written p50 / p99 ms** (p99 target ≤ 400) | public: change → covering frame written p50 / p99 ms | client-observed change p50 / p99 ms | event loop delay p99 / max ms | longest burst ms | broadcast ms per s (by frame) | server RSS per connection KB | pings taken/s (not sent: server behind) | changes/s heard | client + load CPU (cores) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows
      .filter((r) => !r.failed)
      .map(
        (r) =>
          `| ${fmt(r.internal)} + ${fmt(r.public)} | ${r.design} | ${pp(r.lat.fed)} | ${pp(r.lat.queued)} | ${pp(r.lat.written)} | ${pp(r.lat.publicWritten)} | ${pp(r.lat.client)} | ${fmt(r.eventLoopP99)} / ${fmt(r.eventLoopMax)} | ${fmt(r.longestBurst)} | ${Object.entries(
            r.broadcastMsPerS,
          )
            .sort((a, b) => b[1] - a[1])
            .map(([k, v]) => `${k} ${fmt(v)}`)
            .join(
              ', ',
            )} | ${fmt(r.rssPerConnKB, 1)} | ${fmt(r.load.pingsPerS)} (${fmt(r.load.behindPerS)}) | ${fmt(r.load.changesPerS, 2)} | ${fmt(r.clientCpu, 2)} |`,
      ),
  ]
  const most = (d: Design) => {
    const good = rows.filter((r) => r.design === d && sustains(r)).map((r) => r.internal + r.public)
    return good.length ? Math.max(...good) : null
  }
  const errors = [...new Set(rows.flatMap((r) => r.load.errors))]
  return [
    '### The sweep: both designs at equal socket counts',
    '',
    t1.join('\n'),
    '',
    LATENCY_TEXT,
    '',
    t2.join('\n'),
    '',
    `An item is what a client applies: a change, a kpis frame or an alert is one, a grids frame one per grid, a positions frame one per worker. Bytes are the engine.io packets' payload as received.`,
    '',
    `Most sockets sustained (all connected, internal change → written p99 ≤ ${P99_TARGET_MS} ms), of the counts tried: coalesced ${most('coalesced') === null ? 'none' : fmt(most('coalesced'))}, naive ${most('naive') === null ? 'none' : fmt(most('naive'))}.`,
    errors.length ? `\nRequests of the load refused or failed: ${errors.join('; ')}.` : '',
  ].join('\n')
}

/** What a verdict's row lacked to be the stated measure: its sockets that did not connect. */
const shortOf = (r: Point) =>
  complete(r) ? '' : ` with ${fmt(r.connected)} of ${fmt(r.internal + r.public)} connected`

/** The naive row at a coalesced row's count, as the verdicts say it (connected, or why not run). */
function naiveAt(c: Point, rows: Point[]): string {
  const n = rows.find((r) => r.design === 'naive' && r.internal === c.internal)
  if (!n) return 'not run'
  return n.failed ? failedText(n.failed) : `${fmt(n.connected)}`
}

function verdicts(rows: Point[], cluster: Point[]): string {
  const full = (d: Design) =>
    rows.find(
      (r) =>
        r.design === d &&
        r.internal === Math.max(...rows.filter((x) => x.design === d).map((x) => x.internal)),
    )
  const c = full('coalesced')
  const mark = (met: boolean | null) => (met === null ? '**not measured**' : met ? '**met**' : '**not met**')
  const lines: string[] = ['### Targets']
  // A ratio is a comparison at equal load only where both rows had every socket connected.
  const equal = rows
    .filter((r) => r.design === 'coalesced' && complete(r))
    .map(
      (r) =>
        [
          r,
          rows.find((x) => x.design === 'naive' && x.internal === r.internal && x.public === r.public),
        ] as const,
    )
    .filter((pair): pair is readonly [Point, Point] => !!pair[1] && complete(pair[1]))
    .at(-1)
  if (equal) {
    const [a, b] = equal
    const x = itemsPerCpu(a) / itemsPerCpu(b)
    lines.push(
      `- Delivered items per server CPU-second, coalesced ÷ naive, at the largest count where both had every socket connected (${fmt(a.internal)} + ${fmt(a.public)}): ${fmt(x, 1)}× (target ≥ 5×): ${mark(x >= 5)}. Equal sockets and equal offered load; the load taken was not: ${fmt(a.load.pingsPerS)} pings/s coalesced, ${fmt(b.load.pingsPerS)} naive, of ${fmt(PLAN.workers / PLAN.pingEverySeconds)} offered.`,
    )
  } else
    lines.push(
      `- Items per CPU-second, coalesced ÷ naive, at equal load: ${mark(null)} (no count had every socket of both designs connected).`,
    )
  if (c && !complete(c))
    lines.push(
      `  At the largest count (${fmt(c.internal + c.public)}) the rows are not at equal load: coalesced had ${fmt(c.connected)} sockets connected, naive ${naiveAt(c, rows)}.`,
    )
  const at2000 = rows.find((r) => r.design === 'coalesced' && r.internal === 2000)
  lines.push(
    at2000 && !at2000.failed
      ? `- Internal p99 at 2,000 internal clients (with ${fmt(at2000.public)} public), change → written: ${fmt(p99(at2000))} ms${shortOf(at2000)} (target ≤ 400 ms): ${mark(complete(at2000) && p99(at2000) <= P99_TARGET_MS)}.`
      : `- Internal p99 at 2,000 internal clients: ${mark(null)} (no row with 2,000 internal sockets in this run).`,
  )
  // One process with 10,000 public viewers: the sweep's (SQLite), or else the cluster part's one
  // PostgreSQL process if only that one had them all connected.
  const pubRows = [...rows, ...cluster].filter(
    (r) => r.design === 'coalesced' && r.public >= 10_000 && r.procs === 1 && !r.failed,
  )
  const pub = pubRows.find(complete) ?? pubRows[0]
  const engine = (r: Point) => (cluster.includes(r) ? 'PostgreSQL' : 'SQLite')
  lines.push(
    pub
      ? `- ${fmt(pub.public)} public viewers on one ${engine(pub)} process, ${fmt(pub.rssPerConnKB, 1)} KB RSS per connection under load${shortOf(pub)} (target 10,000 at ≤ 100 KB): ${mark(complete(pub) && pub.rssPerConnKB <= 100)}.`
      : `- 10,000 public viewers per process at ≤ 100 KB RSS: ${mark(null)} (no row with 10,000 public sockets in this run).`,
  )
  const one = cluster.find((r) => r.procs === 1)
  const three = cluster.find((r) => r.procs === 3)
  if (one && three && !one.failed && !three.failed) {
    const e = itemsPerCpu(three) / itemsPerCpu(one)
    const same = complete(one) && complete(three)
    lines.push(
      `- Cluster efficiency, items per server CPU-second with 3 processes ÷ with 1: ${fmt(e, 2)} (target ≥ 0.8): ${same ? mark(e >= 0.8) : `${mark(null)} at equal load (connected: ${fmt(one.connected)} on 1, ${fmt(three.connected)} on 3)`}.`,
    )
  } else
    lines.push(
      `- Cluster efficiency: ${mark(null)}${DATABASE_URL && REDIS_URL ? ' (a run failed; see the table)' : ' (needs DATABASE_URL and REDIS_URL)'}.`,
    )
  return lines.join('\n')
}

/** The burst delivery beside the sliced one, same count, same load. */
function burstText(b: Point, rows: Point[]): string {
  const c = rows.find((r) => r.design === 'coalesced' && r.internal === b.internal && r.public === b.public)
  const line = (r: Point, name: string) =>
    r.failed
      ? `| ${name} | failed: ${r.failed} | | | | | | | |`
      : `| ${name} | ${fmt(r.connected)} | ${pp(r.lat.fed)} | ${pp(r.lat.queued)} | ${pp(r.lat.written)} | ${pp(r.lat.client)} | ${fmt(r.eventLoopP99)} / ${fmt(r.eventLoopMax)} | ${fmt(r.longestBurst)} | ${fmt((r.cpu / r.seconds) * 100)} % | ${fmt(itemsPerCpu(r))} |`
  return [
    `### Where a change frame waited: burst and sliced delivery, ${fmt(b.internal)} + ${fmt(b.public)} sockets`,
    '',
    "Before, each second's tick sent its kpis, grids and positions frames to whole rooms in one synchronous step: a change committed meanwhile had its frame emitted only after the whole burst. Now the tick's frames go out in slices of 256 sockets, one slice per turn of the event loop, each socket's frames of the tick in one write (server/live/broadcast.ts). Same load, same count, same run; the sliced row is the sweep's.",
    '',
    '| delivery | connected | change → feed p50 / p99 ms | change → created p50 / p99 ms | change → written p50 / p99 ms | client-observed p50 / p99 ms | event loop delay p99 / max ms | longest burst ms | server CPU | items per CPU-s |',
    '|---|---|---|---|---|---|---|---|---|---|',
    line(b, 'burst (before)'),
    c ? line(c, 'sliced (now)') : '| sliced (now) | not in this run | | | | | | | | |',
    ...(c && c.connected !== b.connected
      ? [
          '',
          `Not at equal load: ${fmt(b.connected)} and ${fmt(c.connected)} sockets were connected; the rows say where each design spent its time, not which is faster.`,
        ]
      : []),
  ].join('\n')
}

function clusterText(rows: Point[]): string {
  if (!rows.length) return ''
  const t = [
    '| processes | sockets (internal + public) | connected | server CPU, all processes (1 core = 100 %) | Redis + PostgreSQL CPU | items/s delivered | items per server CPU-s | change → written p50 / p99 ms | client-observed p50 / p99 ms | pings taken/s (behind) | changes/s | server RSS per connection KB (all processes) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) =>
      r.failed
        ? `| ${r.procs} | ${fmt(r.internal)} + ${fmt(r.public)} | failed: ${r.failed} | | | | | | | | | |`
        : `| ${r.procs} | ${fmt(r.internal)} + ${fmt(r.public)} | ${fmt(r.connected)} | ${fmt((r.cpu / r.seconds) * 100)} % | ${fmt(((r.servicesCpu ?? 0) / r.seconds) * 100)} % | ${fmt((r.internalOut.items + r.publicOut.items) / r.seconds)} | ${fmt(itemsPerCpu(r))} | ${pp(r.lat.written)} | ${pp(r.lat.client)} | ${fmt(r.load.pingsPerS)} (${fmt(r.load.behindPerS)}) | ${fmt(r.load.changesPerS, 2)} | ${fmt(r.rssPerConnKB, 1)} |`,
    ),
  ]
  return [
    '### One process and three, same load (PostgreSQL + Redis)',
    '',
    `The product on PostgreSQL and Redis (the Redis Streams adapter and ingest bus), no simulator (SIMULATE=0, the same HTTP load), with 1 and with ${Math.max(...CLUSTER_PROCS)} processes, all pinned to CPU ${SERVER_CPUS}; the sockets are spread round-robin over the processes (straight to their ports, no proxy in front), the load's requests likewise. Efficiency counts the server processes' CPU only; Redis and PostgreSQL are shown apart.`,
    '',
    t.join('\n'),
  ].join('\n')
}

// ------------------------------------------------------------------ BENCHMARKS.md

const TITLE = 'Live fan-out (`npm run bench:fanout`)'
const START = '<!-- fanout:results:start -->'
const END = '<!-- fanout:results:end -->'

/** Replace the results block of the fan-out section (the rest of the section stays). */
function writeResults(block: string): void {
  const file = 'BENCHMARKS.md'
  const text = existsSync(file) ? readFileSync(file, 'utf8') : ''
  const a = text.indexOf(START)
  const b = text.indexOf(END)
  if (a < 0 || b < a) return appendSection(TITLE, `${START}\n${block}\n${END}`)
  writeFileSync(file, text.slice(0, a + START.length) + '\n' + block + '\n' + text.slice(b))
}

function commandLine(): string {
  const keys = [
    'SWEEP',
    'MODES',
    'PARTS',
    'SECONDS',
    'WARMUP_S',
    'CLIENT_PROCS',
    'SERVER_CPUS',
    'CLIENT_CPUS',
    'BURST_SOCKETS',
    'CLUSTER_PROCS',
    'CLUSTER_SOCKETS',
    'WORKERS',
    'PING_EVERY_S',
    'EVENTS_PER_HOUR',
    'SELF_HANDLED',
    'STEP_S',
    'INTERNAL_SHARE',
    'SEED_DAYS',
    'CITY',
  ]
  const set = keys.filter((k) => env[k] !== undefined).map((k) => `${k}=${env[k]}`)
  if (env.DATABASE_URL) set.push(`DATABASE_URL=${env.DATABASE_URL}`)
  if (env.REDIS_URL) set.push(`REDIS_URL=${env.REDIS_URL}`)
  return [...set, 'npm run bench:fanout'].join(' ')
}

async function main(): Promise<void> {
  const doSweep = PARTS.includes('sweep')
  const doCluster = PARTS.includes('cluster') && !!DATABASE_URL && !!REDIS_URL
  const doBurst = PARTS.includes('burst')
  const plan = [
    ...(doSweep
      ? SWEEP.flatMap((n) =>
          MODES.map(
            (d) => `sweep: ${d}, 1 process, ${n} sockets (${Math.round(n * INTERNAL_SHARE)} internal)`,
          ),
        )
      : []),
    ...(doBurst ? [`burst: the product with burst delivery, 1 process, ${BURST_SOCKETS} sockets`] : []),
    ...(doCluster
      ? CLUSTER_PROCS.map(
          (k) => `cluster: coalesced, ${k} process(es), ${CLUSTER_SOCKETS} sockets, PostgreSQL + Redis`,
        )
      : []),
  ]
  log(
    `load: ${PLAN.workers} workers / ${PLAN.pingEverySeconds} s = ${fmt(PLAN.workers / PLAN.pingEverySeconds)} pings/s; ${PLAN.eventsPerHour} reports/h = ${fmt(changesPerSecond(PLAN), 2)} changes/s`,
  )
  log(
    `server CPU ${SERVER_CPUS}; clients and load CPU ${CLIENT_CPUS}; ${CLIENT_PROCS} client processes; ${WARMUP_S} s warm-up + ${SECONDS} s window per row`,
  )
  log(plan.map((l) => `  ${l}`).join('\n'))
  if (PARTS.includes('cluster') && !doCluster) log('  (cluster part skipped: set DATABASE_URL and REDIS_URL)')
  if (env.PLAN === '1') return
  const started = new Date().toISOString()
  const header = `Measured ${started} on ${machine()}.\n\nCommand: \`${commandLine()}\``
  const rows: Point[] = []
  if (doSweep)
    for (const n of SWEEP)
      for (const d of MODES) {
        // A design that failed, or did not get every socket connected, at a smaller count is not
        // tried at a larger one (it would only spend CONNECT_SECONDS finding the same limit again).
        const prior = rows.find((r) => r.design === d && (r.failed || r.connected < r.internal + r.public))
        if (prior) {
          const at = prior.internal + prior.public
          rows.push({
            ...prior,
            internal: Math.round(n * INTERNAL_SHARE),
            public: n - Math.round(n * INTERNAL_SHARE),
            connected: 0,
            failed: prior.failed
              ? `not run: failed at ${fmt(at)}`
              : `not run: ${fmt(prior.connected)} of ${fmt(at)} connected at ${fmt(at)}`,
          })
          continue
        }
        rows.push(await runPoint(d, n, 1, false))
      }
  const burst = doBurst ? await runPoint('burst', BURST_SOCKETS, 1, false) : null
  const cluster: Point[] = []
  if (doCluster)
    for (const k of CLUSTER_PROCS) cluster.push(await runPoint('coalesced', CLUSTER_SOCKETS, k, true))
  const block = [
    header,
    '',
    loadText(),
    '',
    doSweep ? sweepText(rows) : '',
    '',
    burst ? burstText(burst, rows) : '',
    '',
    clusterText(cluster),
    '',
    verdicts(rows, cluster),
  ]
    .filter((s, i, a) => !(s === '' && a[i - 1] === ''))
    .join('\n')
  console.log(block)
  if (env.REPORT !== '0') writeResults(block)
  if (sqliteSeed && !env.SEED_DIR) rmSync(sqliteSeed, { recursive: true, force: true })
  process.exit(0)
}

void main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
