/**
 * The load of `npm run bench:fanout`: a city as its sources send, over HTTP, at a fixed rate that
 * does not depend on the hour (no simulator runs in the server: SIMULATE=0).
 *
 * - Pings: WORKERS grid workers on duty, each posting its own ping every PING_EVERY_S seconds, one
 *   `POST /api/v1/positions` per ping, spread evenly over the second. The city file holds fewer
 *   workers than that (430602: 652), so the pings go round-robin over the city's workers: each real
 *   worker pings WORKERS / (city workers) times as often. The rate of pings, and of distinct workers
 *   in a second, are those of WORKERS workers; what the server holds per worker is the city's.
 * - Events: EVENTS_PER_HOUR reports (`POST /api/v1/events`), evenly spaced, a share SELF_HANDLED of
 *   them grid workers' finds closed on the spot (report, self_handle: 2 changes), the rest hotline
 *   cases with a reporter through the whole lifecycle (report, accept, file, dispatch, handle,
 *   verify, evaluate: 7 changes), one step every STEP_S seconds (`POST /api/v1/events/{id}/actions`).
 *
 * Sent round-robin to TARGETS (one base URL a server process). At most MAX_IN_FLIGHT requests are
 * outstanding: a ping due while the server has not answered that many is not sent and is counted as
 * "behind" (the load the server could not take, reported rather than queued without bound).
 * Talks to the parent over IPC: `{cmd: 'mark'}` answers with the counters so far.
 */
import { Agent, request } from 'node:http'
import { join } from 'node:path'
import { CATEGORIES } from '../../shared/categories.ts'
import { mulberry32 } from '../../shared/random.ts'
import { createCityIndex, loadCityFile } from '../../server/city/city-index.ts'

export interface LoadPlan {
  workers: number
  pingEverySeconds: number
  eventsPerHour: number
  selfHandled: number
  stepSeconds: number
}

/** The busy hour (09:00 on a working day) of the simulator's default 1,000 events a day over 652 workers. */
const BUSY_HOUR_EVENTS_PER_WORKER = 200 / 652

export function loadPlan(env: Record<string, string | undefined> = process.env): LoadPlan {
  const workers = Number(env.WORKERS ?? 6060)
  return {
    workers,
    pingEverySeconds: Number(env.PING_EVERY_S ?? 10),
    eventsPerHour: Number(env.EVENTS_PER_HOUR ?? Math.round(workers * BUSY_HOUR_EVENTS_PER_WORKER)),
    selfHandled: Number(env.SELF_HANDLED ?? 0.8),
    stepSeconds: Number(env.STEP_S ?? 2),
  }
}

/** Changes per second the plan commits in its steady state. */
export const changesPerSecond = (p: LoadPlan): number =>
  (p.eventsPerHour / 3600) * (2 * p.selfHandled + 7 * (1 - p.selfHandled))

const HOTLINE_STEPS: { action: string; [k: string]: unknown }[] = [
  { action: 'accept' },
  { action: 'file' },
  { action: 'dispatch' },
  { action: 'handle', note: '已处置' },
  { action: 'verify', passed: true },
  { action: 'evaluate', satisfaction: 'satisfied' },
]

async function main(): Promise<void> {
  const plan = loadPlan()
  const targets = (process.env.TARGETS ?? '').split(',').filter(Boolean)
  const token = process.env.ADMIN_TOKEN!
  const city = createCityIndex(
    loadCityFile(join(process.cwd(), 'server/cities', `${process.env.CITY ?? '430602'}.json`)),
  )
  const maxInFlight = Number(process.env.MAX_IN_FLIGHT ?? 256)
  const rng = mulberry32(Number(process.env.SEED ?? 11))
  const random = () => rng.next()
  const workers = city.workers()
  const grids = city.gridsOf(city.district.code)
  // Each worker walks among a few points of its own grid.
  const walks = workers.map((w) => Array.from({ length: 8 }, () => city.randomPointIn(w.gridCode, random)))
  const agent = new Agent({ keepAlive: true, maxSockets: 64 })
  const counts = {
    pingsDue: 0,
    pingsSent: 0,
    pingsOk: 0,
    pingsFailed: 0,
    pingsBehind: 0,
    reports: 0,
    actions: 0,
    eventsFailed: 0,
    errors: {} as Record<string, number>,
    pingMs: [] as number[],
    /** [seq, instant the request that committed it was sent (ms)] of each report and action. */
    sent: [] as [number, number][],
  }
  let inFlight = 0
  let rr = 0

  function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const base = targets[rr++ % targets.length]!
    const data = JSON.stringify(body)
    inFlight++
    return new Promise((resolve) => {
      const req = request(
        `${base}${path}`,
        {
          method: 'POST',
          agent,
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(data),
          },
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => {
            inFlight--
            let json: Record<string, unknown> = {}
            try {
              json = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>
            } catch {
              /* not JSON */
            }
            resolve({ status: res.statusCode ?? 0, json })
          })
        },
      )
      req.on('error', (err) => {
        inFlight--
        resolve({ status: 0, json: { error: err.message } })
      })
      req.end(data)
    })
  }
  const failed = (what: string, r: { status: number; json: Record<string, unknown> }) => {
    const key = `${what} ${r.status} ${JSON.stringify(r.json.error ?? '').slice(0, 80)}`
    counts.errors[key] = (counts.errors[key] ?? 0) + 1
  }

  function ping(i: number): void {
    counts.pingsDue++
    if (inFlight >= maxInFlight) return void counts.pingsBehind++
    const wi = i % workers.length
    const [lng, lat] = walks[wi]![Math.floor(i / workers.length) % 8]!
    counts.pingsSent++
    const t0 = performance.now()
    void post('/api/v1/positions', {
      positions: [{ workerId: workers[wi]!.id, lat, lng, at: new Date().toISOString() }],
    }).then((r) => {
      if (r.status >= 200 && r.status < 300) {
        counts.pingsOk++
        if (counts.pingMs.length < 200_000) counts.pingMs.push(performance.now() - t0)
      } else {
        counts.pingsFailed++
        failed('ping', r)
      }
    })
  }

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
  async function event(i: number): Promise<void> {
    const grid = grids[Math.floor(random() * grids.length)]!
    const [lng, lat] = city.randomPointIn(grid.code, random)
    const category = CATEGORIES[Math.floor(random() * CATEGORIES.length)]!
    const self = random() < plan.selfHandled
    const sentAt = Date.now()
    const r = await post('/api/v1/events', {
      category: category.code,
      description: `${category.zh}：${self ? '网格员巡查发现，当即处置' : '市民来电反映'} BENCH-${i}`,
      lat,
      lng,
      source: self ? 'patrol' : 'hotline',
      ...(self ? {} : { reporter: { name: '王女士', phone: '138 0000 0000' } }),
    })
    if (r.status !== 201) return void (counts.eventsFailed++, failed('report', r))
    counts.reports++
    counts.sent.push([r.json.seq as number, sentAt])
    const id = r.json.id as string
    const steps = self
      ? [{ action: 'self_handle', note: '当即办理' }]
      : HOTLINE_STEPS.map((s) => (s.action === 'dispatch' ? { ...s, department: category.department.zh } : s))
    for (const step of steps) {
      await sleep(plan.stepSeconds * 1000)
      const at = Date.now()
      const a = await post(`/api/v1/events/${id}/actions`, step)
      if (a.status !== 200) return void (counts.eventsFailed++, failed(step.action, a))
      counts.actions++
      counts.sent.push([a.json.seq as number, at])
    }
  }

  const t0 = performance.now()
  const pingsPerSecond = plan.workers / plan.pingEverySeconds
  const eventsPerSecond = plan.eventsPerHour / 3600
  let pings = 0
  let events = 0
  setInterval(() => {
    const s = (performance.now() - t0) / 1000
    while (pings < Math.floor(s * pingsPerSecond)) ping(pings++)
    while (events < Math.floor(s * eventsPerSecond)) void event(events++)
  }, 5)

  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'mark') {
      const pingMs = counts.pingMs.sort((a, b) => a - b)
      process.send?.({
        type: 'mark',
        at: Date.now(),
        ...counts,
        pingMs: undefined,
        pingP50: pingMs[Math.floor(pingMs.length / 2)] ?? null,
        pingP99: pingMs[Math.floor(pingMs.length * 0.99)] ?? null,
        inFlight,
      })
      counts.pingMs = []
      counts.sent = []
    }
  })
  process.send?.({ type: 'started' })
}

if (process.argv[1]?.endsWith('fanout-load.ts'))
  void main().catch((err: unknown) => {
    console.error(err)
    process.exit(1)
  })
