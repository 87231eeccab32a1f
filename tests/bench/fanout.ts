/**
 * `npm run bench:fanout`: the live stream under load, against a naive baseline, in one run.
 * For each mode it starts the real server (accelerated simulator), connects INTERNAL officer and
 * PUBLIC public sockets from a separate client process, posts probe events, and measures delivered
 * frames/s, ingest-to-client latency p50/p99, server RSS per connection and server CPU.
 * Writes a section to BENCHMARKS.md. Options (env): INTERNAL (2000), PUBLIC (10000), SECONDS (30),
 * SIM_SPEED (10), MODES (coalesced,naive), REPORT (0: print only, leave BENCHMARKS.md).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { appendSection, median, percentile } from './bench-report.ts'

const INTERNAL = Number(process.env.INTERNAL ?? 2000)
const PUBLIC = Number(process.env.PUBLIC ?? 10000)
const SECONDS = Number(process.env.SECONDS ?? 30)
const SIM_SPEED = process.env.SIM_SPEED ?? '10'
const MODES = (process.env.MODES ?? 'coalesced,naive').split(',') as ('coalesced' | 'naive')[]
const ADMIN = 'bench-admin-token-0123456789abcdef'
const tsx = join(process.cwd(), 'node_modules/.bin/tsx')

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const procStat = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return { cpuSeconds: (Number(f[11]) + Number(f[12])) / 100 }
}
const rssBytes = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024

async function api(port: number, path: string, init: RequestInit = {}) {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${ADMIN}`,
      'content-type': 'application/json',
      ...(init.headers ?? {}),
    },
  })
  return r.json() as Promise<Record<string, unknown>>
}

/** The server of each mode: the product's own, or the naive baseline composed by the benchmark. */
const ENTRY = { coalesced: 'server/main.ts', naive: 'tests/bench/naive-live.ts' } as const

async function startServer(mode: keyof typeof ENTRY, dataDir: string, port: number): Promise<ChildProcess> {
  // One process (node with tsx's loader), so its CPU time and RSS are the server's own.
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY[mode]], {
    env: {
      ...process.env,
      PORT: String(port),
      DATA_DIR: dataDir,
      ADMIN_TOKEN: ADMIN,
      SIM_SPEED,
      BACKFILL_DAYS: '2',
      LOG_LEVEL: 'warn',
      // Every benchmark socket comes from 127.0.0.1, most of them with one token.
      LIVE_MAX_CONNECTIONS_PER_IP: String(INTERNAL + PUBLIC + 100),
      LIVE_MAX_CONNECTIONS_PER_TOKEN: String(INTERNAL + PUBLIC + 100),
      CI: '',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  for (let i = 0; i < 600; i++) {
    await sleep(500)
    try {
      const r = await fetch(`http://127.0.0.1:${port}/readyz`)
      if (r.status === 200) return child
    } catch {
      /* not listening yet */
    }
  }
  throw new Error('server did not become ready')
}

function startClients(port: number, officer: string, pub: string) {
  const child = spawn(tsx, ['tests/bench/fanout-clients.ts'], {
    env: {
      ...process.env,
      URL: `http://127.0.0.1:${port}`,
      INTERNAL: String(INTERNAL),
      PUBLIC: String(PUBLIC),
      OFFICER_TOKEN: officer,
      PUBLIC_TOKEN: pub,
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const lines = createInterface({ input: child.stdout! })
  const waiters: ((m: Record<string, unknown>) => boolean)[] = []
  lines.on('line', (l) => {
    const msg = JSON.parse(l) as Record<string, unknown>
    if (msg.type === 'progress') process.stderr.write(`\r  connected ${String(msg.connected)}   `)
    if (msg.type === 'error') process.stderr.write(`\n  client error: ${String(msg.message)}\n`)
    for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i]!(msg)) waiters.splice(i, 1)
  })
  const next = (type: string) =>
    new Promise<Record<string, unknown>>((resolve) =>
      waiters.push((m) => (m.type === type ? (resolve(m), true) : false)),
    )
  return { child, next, cmd: (c: string) => child.stdin!.write(c + '\n') }
}

interface Result {
  mode: string
  connected: number
  framesPerSec: number
  internalFramesPerSec: number
  publicFramesPerSec: number
  p50: number
  p99: number
  publicP50: number | null
  rssPerConnKB: number
  cpuPerSec: number
  updatesPerSec: number
  updatesPerCpuSec: number
  probes: number
}

async function runMode(mode: 'coalesced' | 'naive', port: number): Promise<Result> {
  const dataDir = mkdtempSync(join(tmpdir(), `fanout-${mode}-`))
  process.stderr.write(`\n[${mode}] starting server…\n`)
  const server = await startServer(mode, dataDir, port)
  try {
    const mint = async (role: string) =>
      (await api(port, '/api/v1/tokens', { method: 'POST', body: JSON.stringify({ role, ttl: '2h' }) }))
        .token as string
    await sleep(3000)
    const rss0 = rssBytes(server.pid!)
    const clients = startClients(port, await mint('officer'), await mint('public'))
    // A server that cannot keep up (the naive baseline) can starve the client process too: do not
    // wait for ever, measure with whatever connected.
    const connected = await Promise.race([
      clients.next('connected').then((m) => m.connected as number),
      sleep(300_000).then(() => -1),
    ])
    process.stderr.write(`\n[${mode}] ${connected} sockets connected; measuring ${SECONDS}s\n`)
    await sleep(2000)
    const rss1 = rssBytes(server.pid!)
    clients.cmd('reset')
    const cpu0 = procStat(server.pid!).cpuSeconds
    const t0 = Date.now()
    const sent = new Map<string, { at: number; seq: number }>()
    let n = 0
    while (Date.now() - t0 < SECONDS * 1000) {
      const id = `BENCH-PROBE-${mode}-${n++}`
      const at = Date.now()
      const ev = await api(port, '/api/v1/events', {
        method: 'POST',
        body: JSON.stringify({
          category: 'CG0101',
          description: id,
          lat: 29.37,
          lng: 113.13,
          source: 'hotline',
        }),
      })
      sent.set(id, { at, seq: ev.seq as number })
      await sleep(500)
    }
    const elapsed = (Date.now() - t0) / 1000
    const cpu1 = procStat(server.pid!).cpuSeconds
    await sleep(1500)
    clients.cmd('report')
    const report = (await Promise.race([
      clients.next('report'),
      sleep(60_000).then(() => ({
        frames: { internal: 0, public: 0 },
        updates: { internal: 0, public: 0 },
        probes: {},
        publicSeen: [],
        saturated: true,
      })),
    ])) as unknown as {
      frames: { internal: number; public: number }
      updates: { internal: number; public: number }
      probes: Record<string, number[]>
      publicSeen: { seq: number; at: number }[]
    }
    clients.cmd('quit')
    setTimeout(() => clients.child.kill('SIGKILL'), 5000).unref()
    const lat: number[] = []
    for (const [id, times] of Object.entries(report.probes))
      for (const t of times) lat.push(t - sent.get(id)!.at)
    lat.sort((a, b) => a - b)
    const pubLat: number[] = []
    const seen = [...report.publicSeen].sort((a, b) => a.at - b.at)
    for (const { at, seq } of sent.values()) {
      const first = seen.find((s) => s.seq >= seq && s.at >= at)
      if (first) pubLat.push(first.at - at)
    }
    pubLat.sort((a, b) => a - b)
    const frames = report.frames.internal + report.frames.public
    const updates = report.updates.internal + report.updates.public
    const cpu = cpu1 - cpu0
    return {
      mode,
      connected,
      framesPerSec: frames / elapsed,
      internalFramesPerSec: report.frames.internal / elapsed,
      publicFramesPerSec: report.frames.public / elapsed,
      p50: percentile(lat, 0.5),
      p99: percentile(lat, 0.99),
      publicP50: pubLat.length ? median(pubLat) : null,
      rssPerConnKB: (rss1 - rss0) / Math.max(1, connected < 0 ? INTERNAL + PUBLIC : connected) / 1024,
      cpuPerSec: cpu / elapsed,
      updatesPerSec: updates / elapsed,
      updatesPerCpuSec: updates / Math.max(cpu, 0.01),
      probes: sent.size,
    }
  } finally {
    server.kill('SIGTERM')
    await new Promise((r) => server.once('exit', r))
    rmSync(dataDir, { recursive: true, force: true })
  }
}

async function main() {
  const results: Result[] = []
  for (const [i, mode] of MODES.entries()) results.push(await runMode(mode, 18_700 + i))
  const row = (r: Result) =>
    `| ${r.mode} | ${r.connected < 0 ? 'connecting never finished (client starved)' : r.connected} | ${r.framesPerSec.toFixed(0)} | ${r.updatesPerSec.toFixed(0)} | ${Number.isNaN(r.p50) ? 'none arrived' : r.p50.toFixed(0)} | ${Number.isNaN(r.p99) ? 'none arrived' : r.p99.toFixed(0)} | ${r.publicP50 === null ? '—' : r.publicP50.toFixed(0)} | ${r.rssPerConnKB.toFixed(1)} | ${(r.cpuPerSec * 100).toFixed(0)}% | ${r.updatesPerCpuSec.toFixed(0)} |`
  const c = results.find((r) => r.mode === 'coalesced')
  const b = results.find((r) => r.mode === 'naive')
  const ratio = c && b ? c.updatesPerCpuSec / b.updatesPerCpuSec : null
  const body = [
    `Command: \`INTERNAL=${INTERNAL} PUBLIC=${PUBLIC} SECONDS=${SECONDS} SIM_SPEED=${SIM_SPEED} npm run bench:fanout\``,
    '',
    `Load: ${INTERNAL} internal (officer) + ${PUBLIC} public sockets over WebSocket from a separate client process, all subscribed to the district; the simulator at ×${SIM_SPEED}; one probe event posted every 0.5 s for ${SECONDS} s. Latency is from the POST to the probe's change frame on each internal socket (p50/p99 over all sockets × probes); public latency is to the first frame whose seq covers the probe. Server CPU is its user+system time over the window; RSS per connection is (RSS with all sockets − RSS before) / sockets.`,
    '',
    '| mode | sockets connected | frames/s delivered | updates/s delivered | internal p50 ms | internal p99 ms | public p50 ms | server RSS/conn KB | server CPU (1 core = 100%) | updates per server CPU-s |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...results.map(row),
    '',
    'An update is one item a client receives: a change, a KPI frame, one grid of a grids frame, one worker of a positions frame. The naive server sends one frame per change or ping to every socket, public ones included; when it falls behind, probes stop arriving and sockets fail to connect, which the table shows as it is.',
    '',
    ratio === null
      ? ''
      : `Delivered updates per server CPU-second, coalesced vs naive: **${ratio.toFixed(1)}×** (target ≥ 5×). Targets: internal p99 ≤ 400 ms at 2,000 internal clients; 10,000 public clients on one process; ≤ 100 KB RSS per connection.`,
  ].join('\n')
  console.log(body)
  if (process.env.REPORT !== '0') appendSection('Live fan-out (`npm run bench:fanout`)', body)
}

void main().catch((err) => {
  console.error(err)
  process.exit(1)
})
