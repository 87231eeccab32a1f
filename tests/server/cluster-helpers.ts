/**
 * Helpers of the multi-process tests (`tests/server/cluster*.test.ts`): `server/main.ts` processes on
 * the real PostgreSQL (a schema per test file, dropped after) and Redis, their metrics, and the
 * reports and pings the tests send.
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { createCityIndex, loadCityFile } from '../../server/city/city-index.ts'
import { ADMIN_TOKEN } from './helpers.ts'
import { freePort, spawnServer, type ChildServer, type Recorder } from './live-helpers.ts'

/** The shared servers (never skipped: a missing one fails the run). */
export const PG_URL = process.env.PG_TEST_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const REDIS_URL = process.env.REDIS_TEST_URL ?? 'redis://127.0.0.1:6379'

export const city = createCityIndex(
  loadCityFile(join(import.meta.dirname, '../../server/cities/430602.json')),
)

/** A fresh PostgreSQL schema name. */
export const newSchema = (prefix: string): string => `${prefix}_${randomBytes(6).toString('hex')}`

export interface Proc {
  port: number
  base: string
  server: ChildServer
}

/** A server process on PostgreSQL (`DATABASE_SCHEMA`), without the simulator unless `env` says so. */
export async function spawnProc(env: Record<string, string>): Promise<Proc> {
  const port = await freePort()
  const server = spawnServer({
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: PG_URL,
    SIMULATE: '0',
    LOG_LEVEL: 'warn',
    ADMIN_TOKEN,
    ...env,
  })
  return { port, base: `http://127.0.0.1:${port}`, server }
}

/** The simulator in real time over a short history: what a cluster runs. */
export const SIMULATING = {
  SIMULATE: '1',
  SIM_SPEED: '1',
  BACKFILL_DAYS: '0.05',
  SIM_EVENTS_PER_DAY: '4000',
}

/** A metric of a process's `/metrics` (NaN when absent). */
export async function metric(base: string, name: string): Promise<number> {
  const text = await (
    await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
  ).text()
  const line = text.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'))
  return line ? Number(line.split(' ').at(-1)) : NaN
}

/** A citizen's report in a grid of `street` (the n-th of its first few grids). */
export function reportBody(n: number, street = '430602001') {
  const grids = city.gridsOf(street).filter((g) => city.inGrid(g.code, ...g.centroid))
  const grid = grids[n % Math.min(5, grids.length)]!
  return {
    category: 'CG0101',
    description: `集群测试 ${n}`,
    lng: grid.centroid[0],
    lat: grid.centroid[1],
    source: 'hotline',
  }
}

/** Whether a wall got a `positions` frame with a worker at (lng, lat) (frames pack ×1e5 integers). */
export function sawPing(client: Recorder, p: { lng: number; lat: number }): boolean {
  return client.of<{ workers: number[] }>('positions').some((f) => {
    for (let i = 0; i < f.workers.length; i += 3)
      if (f.workers[i + 1] === Math.round(p.lng * 1e5) && f.workers[i + 2] === Math.round(p.lat * 1e5))
        return true
    return false
  })
}
