/**
 * `npm run start:cluster -- --workers N`: N identical server processes on one machine, sharing
 * PostgreSQL (DATABASE_URL) and Redis (REDIS_URL), behind one port (PORT, default 8080).
 *
 * The front is a reverse proxy (http-proxy) that keeps each client on one process (by its address,
 * as nginx's ip_hash does: Socket.IO's polling transport needs it; a WebSocket is one connection
 * anyway) and passes WebSocket upgrades through. A process that dies is started again with back-off;
 * while it is away its clients go to the others (they reconnect and replay by `seq`). SIGTERM or
 * SIGINT stops every process gracefully, then the front. On several machines, put your own load
 * balancer in front of `server/main.ts` processes instead (README, "Several processes").
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage } from 'node:http'
import { availableParallelism } from 'node:os'
import type { Duplex } from 'node:stream'
import { parseArgs } from 'node:util'
import httpProxy from 'http-proxy'

interface Worker {
  index: number
  port: number
  child: ChildProcess | null
  up: boolean
  restarts: number
}

function fail(message: string): never {
  console.error(message)
  process.exit(2)
}

const { values } = parseArgs({
  options: { workers: { type: 'string', short: 'w' }, help: { type: 'boolean', short: 'h' } },
})
if (values.help) {
  console.log('usage: npm run start:cluster -- --workers N   (needs DATABASE_URL and REDIS_URL)')
  process.exit(0)
}
const count = Number(values.workers ?? availableParallelism())
if (!Number.isInteger(count) || count < 1 || count > 64)
  fail(`--workers 需为 1–64 的整数 / --workers must be an integer from 1 to 64 (got ${values.workers})`)
if (!process.env.DATABASE_URL || !process.env.REDIS_URL)
  fail(
    '集群需要共享的 PostgreSQL 与 Redis / a cluster needs a shared PostgreSQL and Redis: set DATABASE_URL=postgres://… and REDIS_URL=redis://…',
  )

const port = Number(process.env.PORT ?? 8080)
const host = process.env.HOST ?? '0.0.0.0'
const firstWorkerPort = Number(process.env.CLUSTER_WORKER_PORT ?? port + 1)
const publicUrl = process.env.PUBLIC_URL ?? `http://localhost:${port}`
let stopping = false

const workers: Worker[] = Array.from({ length: count }, (_, index) => ({
  index,
  port: firstWorkerPort + index,
  child: null,
  up: false,
  restarts: 0,
}))

function start(w: Worker): void {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    env: {
      ...process.env,
      PORT: String(w.port),
      HOST: '127.0.0.1',
      PUBLIC_URL: publicUrl,
      // Every process sees the front's address as its clients': one client is one address behind it.
      TRUST_PROXY: String(Number(process.env.TRUST_PROXY ?? 0) + 1),
    },
    // The first process prints the banner with the login URLs; the others only their warnings.
    stdio: ['ignore', w.index === 0 && w.restarts === 0 ? 'inherit' : 'ignore', 'inherit'],
  })
  w.child = child
  console.error(`进程 ${w.index} 启动 / worker ${w.index} started: pid ${child.pid}, port ${w.port}`)
  const ready = setInterval(() => {
    fetch(`http://127.0.0.1:${w.port}/readyz`).then(
      (r) => {
        if (r.status !== 200) return
        clearInterval(ready)
        w.up = true
        w.restarts = 0
      },
      () => undefined,
    )
  }, 500)
  child.once('exit', (code, signal) => {
    clearInterval(ready)
    w.up = false
    w.child = null
    if (stopping) return
    const delay = Math.min(30_000, 1000 * 2 ** w.restarts++)
    console.error(
      `进程 ${w.index} 退出 / worker ${w.index} exited (${signal ?? code}); restarting in ${delay / 1000} s`,
    )
    setTimeout(() => !stopping && start(w), delay)
  })
}

/** The process for a client: by a hash of its address, skipping those that are down. */
function pick(req: IncomingMessage): Worker | null {
  const addr = req.socket.remoteAddress ?? ''
  const h = createHash('sha1').update(addr).digest().readUInt32BE(0)
  for (let i = 0; i < workers.length; i++) {
    const w = workers[(h + i) % workers.length]!
    if (w.up) return w
  }
  return null
}

const proxy = httpProxy.createProxyServer({ xfwd: true, ws: true })
proxy.on('error', (_err, _req, res) => {
  // A process that died mid-request: the client retries (a wall reconnects by itself).
  if ('writeHead' in res && !res.headersSent) {
    res.writeHead(502, { 'content-type': 'application/json', 'retry-after': '1' })
    res.end(JSON.stringify({ error: { code: 'bad_gateway', message: 'the process went away: retry' } }))
  } else res.destroy()
})

const front = createServer((req, res) => {
  const w = pick(req)
  if (!w) {
    res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '2' })
    return res.end(JSON.stringify({ error: { code: 'not_ready', message: 'no process is ready yet' } }))
  }
  proxy.web(req, res, { target: `http://127.0.0.1:${w.port}` })
})
front.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
  const w = pick(req)
  if (!w) return socket.destroy()
  proxy.ws(req, socket, head, { target: `http://127.0.0.1:${w.port}` })
})

for (const w of workers) start(w)
front.listen(port, host, () => {
  console.error(
    `城市大脑集群 City Brain cluster: ${count} processes on ports ${firstWorkerPort}–${firstWorkerPort + count - 1}, one front on ${publicUrl}`,
  )
})

async function shutdown(): Promise<void> {
  if (stopping) return
  stopping = true
  const exits = workers.map(
    (w) =>
      new Promise<void>((resolve) => {
        if (!w.child) return resolve()
        w.child.once('exit', () => resolve())
        w.child.kill('SIGTERM')
      }),
  )
  await Promise.all(exits)
  front.close()
  front.closeAllConnections()
  proxy.close()
  process.exit(0)
}
process.on('SIGTERM', () => void shutdown())
process.on('SIGINT', () => void shutdown())
