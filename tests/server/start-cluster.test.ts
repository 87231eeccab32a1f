/**
 * `npm run start:cluster -- --workers 2` (server/tools/cluster.ts) as a user runs it, on PostgreSQL
 * and Redis (a schema of this test's): one port in front of two processes; walls over WebSocket and
 * over polling (which needs the front to keep a client on one process) get the changes; a process
 * killed with SIGKILL is started again by itself; SIGTERM stops everything and exits 0. Without
 * DATABASE_URL / REDIS_URL it refuses to start, saying why.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { afterAll, describe, expect, it } from 'vitest'
import { dropPgSchema } from '../../server/store/pg-store.ts'
import { PG_URL, REDIS_URL, newSchema, reportBody } from './cluster-helpers.ts'
import { ADMIN_TOKEN, call, httpRequester, mintToken } from './helpers.ts'
import { connectSynced, freePort, until } from './live-helpers.ts'

const schema = newSchema('startcluster')

const children: ChildProcess[] = []
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) process.kill(-c.pid!, 'SIGKILL')
  await dropPgSchema(PG_URL, schema)
})

function launch(env: Record<string, string>): {
  child: ChildProcess
  output: () => string
  exited: Promise<number | null>
} {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/tools/cluster.ts', '--workers', '2'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  children.push(child)
  let out = ''
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)))
  return { child, output: () => out, exited }
}

const pids = async (base: string): Promise<string> =>
  (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }))
    .text()
    .then((t) => t.match(/^process_start_time_seconds (\S+)/m)?.[1] ?? '')

describe('npm run start:cluster', () => {
  it('refuses to start without a shared PostgreSQL and Redis', async () => {
    const { exited, output } = launch({ DATABASE_URL: '', REDIS_URL: '', PORT: String(await freePort()) })
    expect(await exited).toBe(2)
    expect(output()).toMatch(/DATABASE_URL.*REDIS_URL/)
  })

  it('serves two processes behind one port, restarts one that dies, and stops on SIGTERM', async () => {
    const port = await freePort()
    const workerPort = await freePort()
    const base = `http://127.0.0.1:${port}`
    const run = launch({
      PORT: String(port),
      CLUSTER_WORKER_PORT: String(workerPort),
      DATABASE_URL: PG_URL,
      DATABASE_SCHEMA: schema,
      REDIS_URL,
      SIMULATE: '0',
      LOG_LEVEL: 'warn',
      ADMIN_TOKEN,
    })
    await until(
      async () =>
        (await fetch(`${base}/readyz`).then(
          (r) => r.status,
          () => 0,
        )) === 200,
      'the front ready',
      60_000,
      250,
    )
    // Both processes come up.
    await until(
      async () =>
        (
          await Promise.all(
            [workerPort, workerPort + 1].map((p) =>
              fetch(`http://127.0.0.1:${p}/readyz`).then(
                (r) => r.status,
                () => 0,
              ),
            ),
          )
        ).every((s) => s === 200),
      'both processes ready',
      60_000,
      250,
    )
    const token = await mintToken(httpRequester(base), 'officer')
    const ws = await connectSynced(base, { token, transports: ['websocket'] })
    const polling = await connectSynced(base, { token, transports: ['polling'] })
    const r = await call<{ id: string }>(httpRequester(base), '/api/v1/events', {
      token,
      body: reportBody(0),
    })
    expect(r.status).toBe(201)
    for (const c of [ws, polling])
      await until(
        () => c.changes().some((x) => x.event.id === r.body.id),
        'the change on both transports',
        5000,
      )
    ws.close()
    polling.close()

    // A process killed with SIGKILL is started again.
    const worker = `http://127.0.0.1:${workerPort + 1}`
    const before = await pids(worker)
    const pid = Number([...run.output().matchAll(/worker 1 started: pid (\d+)/g)].at(-1)![1])
    process.kill(pid, 'SIGKILL')
    await until(
      async () => {
        const now = await pids(worker).catch(() => '')
        return now !== '' && now !== before
      },
      'the process started again',
      30_000,
      250,
    )

    run.child.kill('SIGTERM')
    expect(await run.exited, run.output()).toBe(0)
    const refused = await fetch(`${base}/healthz`).then(
      () => 'answered',
      () => 'refused',
    )
    expect(refused).toBe('refused')
  }, 120_000)
})
