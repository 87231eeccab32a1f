/**
 * The PostgreSQL lease (server/cluster/lease.ts), against the real server: exactly one holder at a
 * time; when the holder's session ends (its backend terminated, or its process killed with -9) the
 * next contender takes the lease within its poll; a holder that loses its connection says so.
 */
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { createPgLease, type Lease } from '../../server/cluster/lease.ts'
import { until } from './live-helpers.ts'

const url = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const leases: Lease[] = []
afterEach(async () => {
  await Promise.all(leases.splice(0).map((l) => l.stop()))
})

const lease = (name: string, pollMs = 200): Lease => {
  const l = createPgLease({ connectionString: url, name, pollMs, onError: () => undefined })
  leases.push(l)
  return l
}

async function sql<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    return (await c.query<T>(text, values)).rows
  } finally {
    await c.end()
  }
}

describe('the PostgreSQL lease', () => {
  it('is held by exactly one of three contenders, and moves when the holder stops', async () => {
    const name = `t-${randomUUID()}`
    const all = [lease(name), lease(name), lease(name)]
    for (const l of all) l.start()
    await until(() => all.some((l) => l.held), 'all.some((l) => l.held)', 5000)
    // Several polls later, still exactly one.
    await new Promise((r) => setTimeout(r, 700))
    expect(all.filter((l) => l.held)).toHaveLength(1)
    const holder = all.find((l) => l.held)!
    await holder.stop()
    await until(
      () => all.some((l) => l !== holder && l.held),
      'all.some((l) => l !== holder && l.held)',
      3000,
    )
    expect(all.filter((l) => l.held)).toHaveLength(1)
  })

  it('a different name is a different lease', async () => {
    const a = lease(`t-${randomUUID()}`)
    const b = lease(`t-${randomUUID()}`)
    a.start()
    b.start()
    await until(() => a.held && b.held, 'a.held && b.held', 5000)
  })

  it('moves within its poll when the holder’s session is terminated, and the holder hears it lost the lease', async () => {
    const name = `t-${randomUUID()}`
    const first = lease(name)
    const heard: boolean[] = []
    first.onChange((h) => heard.push(h))
    first.start()
    await until(() => first.held, 'first.held', 5000)
    const second = lease(name)
    second.start()
    await new Promise((r) => setTimeout(r, 500))
    expect(second.held).toBe(false)

    await sql(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()
      AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)`,
      [`city-brain lease ${name}`],
    )
    await until(() => second.held, 'second.held', 3000)
    await until(() => !first.held, '!first.held', 3000)
    expect(heard).toEqual([true, false])
    // The old holder contends again and does not take the lease back from the new one.
    await new Promise((r) => setTimeout(r, 800))
    expect(first.held).toBe(false)
    expect(second.held).toBe(true)
  })

  it('moves when the holding process is killed with SIGKILL', async () => {
    const name = `t-${randomUUID()}`
    const script = `
      import { createPgLease } from ${JSON.stringify(new URL('../../server/cluster/lease.ts', import.meta.url).pathname)}
      const l = createPgLease({ connectionString: process.argv[1], name: process.argv[2], pollMs: 200 })
      l.onChange((h) => h && console.log('HELD'))
      l.start()
      setInterval(() => undefined, 1000)
    `
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script, url, name],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    const exited = new Promise((r) => child.on('exit', r))
    try {
      await until(() => out.includes('HELD'), "out.includes('HELD')", 15_000)
      const waiting = lease(name)
      waiting.start()
      await new Promise((r) => setTimeout(r, 600))
      expect(waiting.held).toBe(false)
      child.kill('SIGKILL')
      await exited
      await until(() => waiting.held, 'waiting.held', 5000)
    } finally {
      child.kill('SIGKILL')
    }
  })
})
