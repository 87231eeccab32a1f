/**
 * Durability of the real server process (`server/main.ts`): kill -9 during the simulation, then start
 * again on the same DATA_DIR: the store opens, nothing acknowledged is lost, seq continues without a
 * gap and the simulator resumes. And a graceful SIGTERM exits 0 with a store that reopens.
 */
import Database from 'better-sqlite3'
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { createSqliteStore } from '../../server/store/sqlite-store.ts'
import {
  allChanges,
  allEvents,
  call,
  createTestSystem,
  httpRequester,
  mintToken,
  tempDir,
  testEnv,
  type ApiChange,
  type ApiEvent,
  type Requester,
} from './helpers.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

interface Server {
  child: ChildProcess
  api: Requester
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  output: () => string
}

const running = new Set<ChildProcess>()
const dirs: { remove: () => void }[] = []

afterAll(() => {
  for (const child of running) child.kill('SIGKILL')
  for (const d of dirs) d.remove()
})

/** Start `server/main.ts` as a child process on a free port; resolves once it has logged `listening`. */
function startServer(dataDir: string, extra: Record<string, string> = {}): Promise<Server> {
  const env = {
    ...process.env,
    ...testEnv(dataDir, {
      PORT: '0',
      HOST: '127.0.0.1',
      SIM_SPEED: '600',
      BACKFILL_DAYS: '1',
      LOG_LEVEL: 'info',
      ...extra,
    }),
  }
  // node --import tsx runs main.ts in this very process, so a signal reaches the server itself.
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  running.add(child)
  let out = ''
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child)
      resolve({ code, signal })
    }),
  )
  child.stderr!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-4000)))
  return new Promise((resolve, reject) => {
    let buffered = ''
    child.stdout!.on('data', (b: Buffer) => {
      out = (out + b.toString()).slice(-4000)
      buffered += b.toString()
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        if (!line.startsWith('{')) continue
        const log = JSON.parse(line) as { msg?: string; port?: number }
        if (log.msg === 'listening' && log.port)
          resolve({ child, api: httpRequester(`http://127.0.0.1:${log.port}`), exited, output: () => out })
      }
    })
    void exited.then(({ code, signal }) =>
      reject(new Error(`server exited (${code ?? signal}) before listening:\n${out}`)),
    )
  })
}

/** Poll until `check` holds (real time: a child process cannot be given a fake clock). */
async function until<T>(what: string, probe: () => Promise<T>, check: (v: T) => boolean, timeoutMs = 45_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await probe().catch(() => undefined)
    if (v !== undefined && check(v)) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

const readyz = (api: Requester) => call<{ status: string; seq: number }>(api, '/readyz')
const whenReady = (s: Server) =>
  until(
    'readiness',
    () => readyz(s.api),
    (r) => r.status === 200,
  ).then((r) => r.body.seq)

function expectGapFree(changes: ApiChange[]): void {
  changes.forEach((c, i) => expect(c.seq, `change #${i}`).toBe(i + 1))
}

describe('the real server process', () => {
  it('loses nothing acknowledged to kill -9, continues seq without a gap and resumes the simulator', async () => {
    const dir = tempDir('crash')
    dirs.push(dir)
    const first = await startServer(dir.path)
    await whenReady(first)
    const officer = await mintToken(first.api, 'officer', { ttl: '1h' })

    const acknowledged: { id: string; key: string; description: string }[] = []
    for (let i = 0; i < 5; i++) {
      const key = `crash-test-${i}`
      const description = `崩溃测试事件 ${i}`
      const r = await call<ApiEvent>(first.api, '/api/v1/events', {
        token: officer,
        headers: { 'idempotency-key': key },
        body: {
          category: 'CG0101',
          description,
          lng: 113.13,
          lat: 29.37,
          source: 'hotline',
          gridCode: '430602001001001',
        },
      })
      if (r.status === 201) acknowledged.push({ id: r.body.id, key, description })
    }
    expect(acknowledged).toHaveLength(5)
    const seqAfterPosts = (await readyz(first.api)).body.seq
    // The live simulator commits more work after our reports: kill it in the middle of that.
    await until(
      'the simulator to move',
      () => readyz(first.api),
      (r) => r.body.seq > seqAfterPosts + 5,
    )
    const before = await allChanges(first.api, officer)
    first.child.kill('SIGKILL')
    expect((await first.exited).signal).toBe('SIGKILL')

    const second = await startServer(dir.path)
    const seqAtReady = await whenReady(second)
    expect(seqAtReady).toBeGreaterThanOrEqual(before.length)
    for (const a of acknowledged) {
      const r = await call<ApiEvent>(second.api, `/api/v1/events/${a.id}`, { token: officer })
      expect(r.status, a.id).toBe(200)
      expect(r.body.description).toBe(a.description)
      // The idempotency key survived too: a retry of the acknowledged report is not a second event.
      const retry = await call<ApiEvent>(second.api, '/api/v1/events', {
        token: officer,
        headers: { 'idempotency-key': a.key },
        body: {
          category: 'CG0101',
          description: a.description,
          lng: 113.13,
          lat: 29.37,
          source: 'hotline',
          gridCode: '430602001001001',
        },
      })
      expect(retry.body.id).toBe(a.id)
    }

    const after = await allChanges(second.api, officer)
    expectGapFree(after)
    // What clients saw before the crash is exactly the log's prefix afterwards.
    expect(after.slice(0, before.length)).toEqual(before)

    const resumed = await until(
      'the simulator to resume',
      () => readyz(second.api),
      (r) => r.body.seq > seqAtReady + 5,
    )
    expect(resumed.status).toBe(200)
    expectGapFree(await allChanges(second.api, officer))

    second.child.kill('SIGTERM')
    expect((await second.exited).code).toBe(0)
  })

  it('survives kill -9 in the middle of the backfill: the restart completes it without gaps or replays', async () => {
    const dir = tempDir('backfill')
    dirs.push(dir)
    const first = await startServer(dir.path, { BACKFILL_DAYS: '3' })
    // Minting needs no store, so it answers during the backfill.
    const officer = await mintToken(first.api, 'officer', { ttl: '1h' })
    // During the backfill slices commit back to back, so the kill lands inside a write transaction.
    const progress = () =>
      call<{ changes: ApiChange[] }>(first.api, '/api/v1/changes?after=1000&limit=1', { token: officer })
    await until('the backfill to be under way', progress, (r) => r.body.changes.length > 0)
    expect((await readyz(first.api)).status, 'still backfilling when killed').toBe(503)
    first.child.kill('SIGKILL')
    await first.exited

    const second = await startServer(dir.path, { BACKFILL_DAYS: '3' })
    await whenReady(second)
    expectGapFree(await allChanges(second.api, officer))
    const events = await allEvents(second.api, officer, '')
    const arrivals = events.map((e) => `${e.reportedAt}|${e.gridCode}|${e.description}`)
    expect(new Set(arrivals).size, 'an arrival replayed twice').toBe(arrivals.length)
    second.child.kill('SIGTERM')
    expect((await second.exited).code).toBe(0)
  })

  it('refuses a second process on the same data directory, naming it and the holder, and lets one in once the holder is killed', async () => {
    const dir = tempDir('second')
    dirs.push(dir)
    const first = await startServer(dir.path, { BACKFILL_DAYS: '0' })
    const refusal = await startServer(dir.path, { BACKFILL_DAYS: '0' }).then(
      () => 'the second process started',
      (err: Error) => err.message,
    )
    expect(refusal).toMatch(/server exited \(1\) before listening/)
    expect(refusal).toContain(`数据目录 ${dir.path}`)
    expect(refusal).toContain(
      `the data directory ${dir.path} is in use by another City Brain process (pid ${first.child.pid})`,
    )
    // The kernel drops the lock with its holder, kill -9 included: the next start is let in at once.
    first.child.kill('SIGKILL')
    await first.exited
    const next = await startServer(dir.path, { BACKFILL_DAYS: '0' })
    await whenReady(next)
    next.child.kill('SIGTERM')
    expect((await next.exited).code).toBe(0)
  })

  it('stops cleanly on SIGTERM within a few seconds and leaves a store that reopens', async () => {
    const dir = tempDir('term')
    dirs.push(dir)
    const server = await startServer(dir.path)
    const readySeq = await whenReady(server)
    // Stop it while the live simulator is committing.
    const seen = await until(
      'the simulator to move',
      () => readyz(server.api),
      (r) => r.body.seq > readySeq,
    )
    const t0 = Date.now()
    server.child.kill('SIGTERM')
    const exit = await server.exited
    expect(exit, server.output()).toEqual({ code: 0, signal: null })
    expect(Date.now() - t0).toBeLessThan(5_000)
    expect(server.output()).toMatch(/stopped cleanly/)

    const store = createSqliteStore(join(dir.path, 'city-brain.sqlite'))
    try {
      await store.migrate()
      const last = await store.lastSeq()
      expect(last).toBeGreaterThanOrEqual(seen.body.seq)
      const changes = await store.listChanges(0, last + 1)
      expect(changes.map((c) => c.seq)).toEqual(Array.from({ length: last }, (_, i) => i + 1))
      expect(await store.getMeta('sim.until')).not.toBeNull()
    } finally {
      await store.close()
    }
  })
})

describe('change announcements', () => {
  it('announces each change only once it is durable, in seq order without gaps', async () => {
    // A live client that saw seq N before a crash resumes with since=N; a change announced before its
    // commit could be rolled back by the crash, its seq reused by another change the client then skips.
    const t = await createTestSystem({ env: { BACKFILL_DAYS: '1' } })
    const committed = new Database(join(t.dataDir, 'city-brain.sqlite'), { readonly: true })
    const maxSeq = committed.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM changes')
    const early: number[] = []
    const announced: number[] = []
    t.system.feed.subscribe((items) => {
      for (const { change } of items) {
        announced.push(change.seq)
        if ((maxSeq.get() as { s: number }).s < change.seq) early.push(change.seq)
      }
    })
    t.system.feed.start(0)
    try {
      await t.system.startSimulation()
      await t.system.feed.caughtUp()
      expect(announced.length).toBeGreaterThan(1000)
      expect(early.slice(0, 5), `${early.length} changes announced before their commit`).toEqual([])
      for (let i = 1; i < announced.length; i++) expect(announced[i]).toBeGreaterThan(announced[i - 1]!)
      const heard = new Set(announced)
      const log = await t.system.store.listChanges(0, 1_000_000)
      const unheard = log.filter((c) => !heard.has(c.seq))
      const counts = new Map<string, number>()
      for (const c of unheard) counts.set(c.action, (counts.get(c.action) ?? 0) + 1)
      const byAction = [...counts].map(([a, n]) => `${a}: ${n}`)
      expect(byAction, `${unheard.length} of ${log.length} committed changes were never announced`).toEqual(
        [],
      )
    } finally {
      committed.close()
      await t.cleanup()
    }
  })
})
