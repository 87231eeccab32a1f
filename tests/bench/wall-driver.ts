/**
 * The wall benchmark's synthetic city: an HTTP server that proxies the page and the REST API to a
 * real server (simulator off, after a backfill) and answers `/live` itself, enough for the wall
 * (`shared/live.ts`): `synced` on connect, a snapshot on `subscribe`, then every second a `positions`
 * frame for `workers` moving workers, a `grids` frame with every grid changed and a `kpis` frame;
 * `changesPerSecond` change frames spread over each second; an overdue alert every 15 s.
 * `setPage(dir)` serves the page and its assets from another build (`vite build --outDir dir`) until
 * `setPage(null)`: the same load drawn by two versions of the client, for `COMPARE_DIST`.
 */
import { readFile } from 'node:fs/promises'
import { extname, join, normalize } from 'node:path'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Server } from 'socket.io'
import { CATEGORIES } from '../../shared/categories.ts'
import type {
  ChangeFrame,
  ClientToServerEvents,
  GridAggregate,
  KpiFrame,
  PositionsFrame,
  ServerToClientEvents,
} from '../../shared/live.ts'
import type { ChangeAction, EventStatus } from '../../shared/types.ts'
import { rng } from '../server/live-helpers.ts'

export interface DriverOptions {
  /** The real server the page and the API come from. */
  upstream: string
  /** A token the driver reads the city with. */
  token: string
  region: string
  workers: number
  changesPerSecond: number
  seed?: number
}

export interface Driver {
  port: number
  base: string
  /** How many grids the region has (every one changes every second). */
  grids: number
  /** Frames sent so far, by event name. */
  sent: Record<string, number>
  /** Serve the page from this build directory instead of the upstream server (null: upstream again). */
  setPage(dir: string | null): void
  close(): Promise<void>
}

/** The lifecycle the synthetic changes walk through (action, resulting status). */
const STEPS: [ChangeAction, EventStatus][] = [
  ['report', 'reported'],
  ['accept', 'accepted'],
  ['file', 'filed'],
  ['dispatch', 'dispatched'],
  ['handle', 'handled'],
  ['verify', 'closed'],
]

async function proxy(upstream: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const headers: Record<string, string> = {}
  for (const h of ['authorization', 'accept', 'accept-language'])
    if (typeof req.headers[h] === 'string') headers[h] = req.headers[h]
  try {
    const r = await fetch(upstream + req.url, { headers })
    const out: Record<string, string> = {}
    // fetch has decoded the body: its encoding and length headers no longer apply.
    for (const [k, v] of r.headers)
      if (!['content-encoding', 'content-length', 'transfer-encoding', 'connection'].includes(k)) out[k] = v
    res.writeHead(r.status, out).end(Buffer.from(await r.arrayBuffer()))
  } catch (err) {
    res.writeHead(502).end(String(err))
  }
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
}

/** The page (any path outside /api/ and /live) from a build directory; `index.html` for app routes. */
async function servePage(dir: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname))
  const file = extname(path) ? join(dir, path) : join(dir, 'index.html')
  try {
    const body = await readFile(file)
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body)
  } catch {
    res.writeHead(404).end()
  }
}

export async function startDriver(o: DriverOptions): Promise<Driver> {
  const random = rng(o.seed ?? 20260101)
  const get = async <T>(path: string): Promise<T> => {
    const r = await fetch(o.upstream + path, { headers: { authorization: `Bearer ${o.token}` } })
    if (!r.ok) throw new Error(`${path}: ${r.status}`)
    return (await r.json()) as T
  }
  const geo = await get<{ features: { properties: { code: string; centroid: [number, number] } }[] }>(
    `/api/v1/regions/${o.region}/geo?level=grid`,
  )
  const grids = geo.features.map((f) => f.properties)
  const kpi = await get<KpiFrame>(`/api/v1/kpis?region=${o.region}`)
  const categories = CATEGORIES.map((c) => c.code)
  let seq = kpi.seq

  // Workers: a home grid each, a random walk around its centroid (about ±400 m).
  const workerIds = Array.from({ length: o.workers }, (_, i) => `BW${String(i).padStart(5, '0')}`)
  const home = workerIds.map((_, i) => grids[i % grids.length]!.centroid)
  const offset = new Float64Array(o.workers * 2).map(() => (random() - 0.5) * 0.008)
  const aggregates: GridAggregate[] = grids.map((g) => [g.code, Math.floor(random() * 6), 0, 0, 0])
  const values = { ...kpi.values }

  const positionsFrame = (): PositionsFrame => {
    const workers: number[] = new Array(o.workers * 3)
    for (let i = 0; i < o.workers; i++) {
      for (const d of [0, 1]) {
        const k = i * 2 + d
        offset[k] = Math.max(-0.004, Math.min(0.004, offset[k]! + (random() - 0.5) * 0.0006))
      }
      workers[i * 3] = i
      workers[i * 3 + 1] = Math.round((home[i]![0] + offset[i * 2]!) * 1e5)
      workers[i * 3 + 2] = Math.round((home[i]![1] + offset[i * 2 + 1]!) * 1e5)
    }
    return { at: new Date().toISOString(), workers }
  }
  const stepGrids = (): GridAggregate[] => {
    for (const a of aggregates) {
      a[1] = Math.max(0, a[1] + Math.round((random() - 0.5) * 2))
      a[2] = random() < 0.01 ? 1 : a[2] > 0 && random() < 0.2 ? 0 : a[2]
      if (random() < 0.05) a[3]++
      if (random() < 0.01) a[4] = (a[4] ?? 0) + 1
    }
    return aggregates.map((a) => [...a])
  }
  const kpiFrame = (): KpiFrame => ({ ...kpi, seq, values: { ...values } })
  let n = 0
  const changeFrame = (): ChangeFrame => {
    const g = grids[Math.floor(random() * grids.length)]!
    const [action, status] = STEPS[n++ % STEPS.length]!
    if (action === 'report') values.reported++
    return {
      seq: ++seq,
      at: new Date().toISOString(),
      event: {
        id: `E${String(Math.floor(n / STEPS.length)).padStart(8, '0')}`,
        gridCode: g.code,
        category: categories[Math.floor(random() * categories.length)]!,
        source: 'patrol',
        lat: g.centroid[1],
        lng: g.centroid[0],
        status,
        action,
        reportedAt: new Date().toISOString(),
        description: `基准测试事件 bench event ${n}`,
      },
    }
  }

  const sent: Record<string, number> = {}
  let pageDir: string | null = null
  const http = createServer(
    (req, res) =>
      void (pageDir && !req.url?.startsWith('/api/')
        ? servePage(pageDir, req, res)
        : proxy(o.upstream, req, res)),
  )
  const io = new Server<ClientToServerEvents, ServerToClientEvents>(http, { serveClient: false })
  const live = io.of('/live')
  const emit = <E extends keyof ServerToClientEvents>(
    event: E,
    ...args: Parameters<ServerToClientEvents[E]>
  ) => {
    sent[event] = (sent[event] ?? 0) + 1
    live.to('wall').emit(event, ...args)
  }
  live.on('connection', (socket) => {
    socket.emit('synced', { seq })
    socket.on('subscribe', (req, ack) => {
      void socket.join('wall')
      ack({
        ok: true,
        data: {
          seq,
          region: req.region,
          kpis: kpiFrame(),
          grids: aggregates.map((a) => [...a]),
          openEvents: [],
          workerIds,
          positions: positionsFrame(),
        },
      })
    })
  })

  let second = 0
  const everySecond = setInterval(() => {
    second++
    emit('positions', positionsFrame())
    emit('grids', { seq, region: o.region, at: new Date().toISOString(), grids: stepGrids() })
    values.onlineWorkers = o.workers - Math.floor(random() * 20)
    values.disposalRate = 0.3 + random() * 0.05
    emit('kpis', kpiFrame())
    if (second % 15 === 0) {
      const g = grids[Math.floor(random() * grids.length)]!
      emit('alert', {
        kind: 'overdue',
        at: new Date().toISOString(),
        seq,
        eventId: 'E00000001',
        gridCode: g.code,
        category: categories[0]!,
        deadline: new Date().toISOString(),
      })
    }
  }, 1000)
  const changes =
    o.changesPerSecond > 0
      ? setInterval(() => emit('change', changeFrame()), 1000 / o.changesPerSecond)
      : null

  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r))
  const port = (http.address() as AddressInfo).port
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    grids: grids.length,
    sent,
    setPage(dir) {
      pageDir = dir
    },
    async close() {
      clearInterval(everySecond)
      if (changes) clearInterval(changes)
      await new Promise<void>((r) => io.close(() => r()))
    },
  }
}
