/**
 * The system when its store fails for real (no mocks): another connection holding the write lock
 * past the busy timeout, a full disk (a tmpfs filled with a ballast file; these tests run as root),
 * a listener that throws after COMMIT, a second process on the same data directory. The process stays
 * up, answers writes 503 meanwhile, loses nothing it acknowledged, and continues by itself.
 */
import Database from 'better-sqlite3'
import { execFileSync } from 'node:child_process'
import { chmodSync, closeSync, mkdirSync, openSync, rmSync, statSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createSystem, type System } from '../../server/system.ts'
import {
  ADMIN_TOKEN,
  FIXED_NOW,
  allChanges,
  allEvents,
  call,
  createTestSystem,
  httpRequester,
  manualClock,
  tempDir,
  testConfig,
  type ApiEvent,
  type ErrorBody,
  type Requester,
} from './helpers.ts'
import { freePort, spawnServer, until, waitReady, type ChildServer } from './live-helpers.ts'

const MIN = 60_000
const DB = 'city-brain.sqlite'
const cleanups: (() => void | Promise<void>)[] = []
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

const report = (description: string) => ({
  category: 'CG0101',
  description,
  lng: 113.13,
  lat: 29.37,
  source: 'hotline',
  gridCode: '430602001001001',
})

/**
 * Another connection takes the write lock of `file` and holds it until `release()`. It waits for the
 * lock between turns of the event loop (a system in this process may hold it across awaits).
 */
async function holdWriteLock(file: string): Promise<{ release: () => void }> {
  const other = new Database(file)
  other.pragma('busy_timeout = 0')
  for (;;) {
    try {
      other.exec('BEGIN IMMEDIATE')
      break
    } catch {
      await new Promise((r) => setTimeout(r, 5))
    }
  }
  return {
    release: () => {
      other.exec('ROLLBACK')
      other.close()
    },
  }
}

/** A tmpfs of `sizeMb` (a real disk that can be filled), unmounted after the tests. */
function tmpfs(sizeMb: number): { path: string; fill: () => void; free: () => void } {
  const dir = tempDir('tmpfs')
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir.path])
  cleanups.push(() => {
    execFileSync('umount', ['-l', dir.path])
    dir.remove()
  })
  const ballast = join(dir.path, 'ballast')
  return {
    path: dir.path,
    fill() {
      const fd = openSync(ballast, 'w')
      try {
        for (const size of [1 << 16, 4096, 1]) {
          const chunk = Buffer.alloc(size, 1)
          try {
            for (;;) writeSync(fd, chunk)
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
          }
        }
      } finally {
        closeSync(fd)
      }
    },
    free: () => rmSync(ballast, { force: true }),
  }
}

/**
 * Checkpoint the WAL into the database and truncate it to nothing (what a backup tool may do), so
 * that the next commit has to grow the WAL file: on a full disk it fails at once.
 */
function truncateWal(file: string): void {
  const db = new Database(file)
  try {
    db.pragma('busy_timeout = 5000')
    while ((db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[])[0]!.busy !== 0);
  } finally {
    db.close()
  }
}

/** The value of a counter or gauge sample in Prometheus text, 0 when absent. */
async function metric(api: Requester, sample: RegExp): Promise<number> {
  const text = await (await api.request('/metrics')).text()
  const line = text.split('\n').find((l) => sample.test(l))
  return line ? Number(line.split(' ').pop()) : 0
}

/** The simulator's committed progress (0 before its first slice), read beside the server. */
const simUntil = (file: string): number => {
  const db = new Database(file, { readonly: true })
  try {
    const row = db.prepare(`SELECT value FROM meta WHERE key = 'sim.until'`).get() as
      { value: string } | undefined
    return row ? Number(row.value) : 0
  } finally {
    db.close()
  }
}

describe('the data directory', () => {
  it('is held by one system at a time: a second is refused, naming the directory and the holder, until the first stops', async () => {
    const dir = tempDir('dir-lock')
    cleanups.push(dir.remove)
    mkdirSync(dir.path, { recursive: true })
    chmodSync(dir.path, 0o755)
    const first = await createSystem(testConfig(dir.path, { BACKFILL_DAYS: '0' }), { clock: manualClock() })
    await first.start()
    expect(statSync(dir.path).mode & 0o777, 'the data directory is the owner’s only').toBe(0o700)
    for (const f of [DB, 'lock']) expect(statSync(join(dir.path, f)).mode & 0o777, f).toBe(0o600)
    let second: System | null = null
    try {
      const refusal = await createSystem(testConfig(dir.path), { clock: manualClock() }).then(
        (s) => ((second = s), null),
        (err: unknown) => err as Error,
      )
      expect(refusal?.message).toContain(dir.path)
      expect(refusal?.message).toContain(`PID ${process.pid}`)
      expect(refusal?.message).toMatch(/数据目录.*the data directory/s)
      // The refused attempt must not have dropped the holder's kernel lock (closing any descriptor
      // of a file drops all of a process's POSIX locks on it): another process is refused too.
      const probe = `import('./server/store/data-dir.ts').then((m) => m.lockDataDir(${JSON.stringify(dir.path)}))`
      expect(() =>
        execFileSync(process.execPath, ['--import', 'tsx', '-e', probe], { stdio: 'pipe' }),
      ).toThrow(/in use by another City Brain process/)
    } finally {
      await (second as System | null)?.stop()
      await first.stop()
    }
    const third = await createSystem(testConfig(dir.path), { clock: manualClock() })
    await third.start()
    await third.stop()
  })
})

describe('writes while another connection holds the write lock', () => {
  it('answer 503 store_unavailable with Retry-After and write nothing; reads go on; the next write succeeds', async () => {
    const t = await createTestSystem({ env: { BACKFILL_DAYS: '0' } })
    cleanups.push(t.cleanup)
    const { app, store } = t.system
    const before = await store.lastSeq()
    const lock = await holdWriteLock(join(t.dataDir, DB))
    try {
      const [zh, en] = await Promise.all([
        call<ErrorBody>(app, '/api/v1/events', { token: ADMIN_TOKEN, body: report('锁期间 1') }),
        call<ErrorBody>(app, '/api/v1/events?lang=en', { token: ADMIN_TOKEN, body: report('锁期间 2') }),
      ])
      for (const r of [zh, en]) {
        expect(r.status).toBe(503)
        expect(r.body.error.code).toBe('store_unavailable')
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
      }
      expect(zh.body.error.message).toMatch(/存储暂时不可用/)
      expect(en.body.error.message).toMatch(/store is temporarily unavailable/)
      expect((await call(app, '/api/v1/changes?after=0&limit=1', { token: ADMIN_TOKEN })).status).toBe(200)
      expect(store.health()).toMatchObject({ ok: false, code: 'SQLITE_BUSY' })
      const ready = await call<ErrorBody>(app, '/readyz')
      expect(ready.status, 'a load balancer must take a failing process out').toBe(503)
      expect(ready.body.error.code).toBe('store_unavailable')
      expect(Number(ready.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    } finally {
      lock.release()
    }
    expect(await store.lastSeq(), 'a refused write left something behind').toBe(before)
    // Nothing else writes here: housekeeping's probe finds the store writable again (/readyz's cue).
    await until(() => store.health().ok, 'housekeeping to find the store writable', 10_000, 20)
    const ok = await call<ApiEvent>(app, '/api/v1/events', { token: ADMIN_TOKEN, body: report('锁之后') })
    expect(ok.status).toBe(201)
    expect(await store.lastSeq()).toBe(before + 1)
    expect(store.health()).toEqual({ ok: true })
    // (This system never started its simulation, so it still reads "starting", no longer the store.)
    expect((await call<ErrorBody>(app, '/readyz')).body.error.code).toBe('not_ready')
    expect(await metric(app, /^city_brain_store_errors_total\{op="createEvent",code="SQLITE_BUSY"\}/)).toBe(2)
  })

  it('a feed listener that throws leaves the write its 201, and is counted', async () => {
    const t = await createTestSystem({ env: { BACKFILL_DAYS: '0' } })
    cleanups.push(t.cleanup)
    t.system.feed.subscribe(() => {
      throw new Error('a listener bug')
    })
    t.system.feed.start(await t.system.store.lastSeq())
    const r = await call<ApiEvent>(t.system.app, '/api/v1/events', {
      token: ADMIN_TOKEN,
      body: report('监听'),
    })
    expect(r.status).toBe(201)
    const got = await call<ApiEvent>(t.system.app, `/api/v1/events/${r.body.id}`, { token: ADMIN_TOKEN })
    expect(got.body.description).toBe('监听')
    await t.system.feed.caughtUp()
    expect(await metric(t.system.app, /^city_brain_store_errors_total\{op="feed",code="Error"\}/)).toBe(1)
  })
})

describe('the simulator under store failures', () => {
  it('keeps its live loop through a held lock, reporting the failure, and catches up once it is released', async () => {
    const t = await createTestSystem({ env: { BACKFILL_DAYS: '0' } })
    cleanups.push(t.cleanup)
    await t.system.startSimulation()
    const lock = await holdWriteLock(join(t.dataDir, DB))
    t.clock.set(FIXED_NOW + 10 * MIN)
    try {
      await until(
        async () =>
          (await metric(t.system.app, /^city_brain_store_errors_total\{op="batch",code="SQLITE_BUSY"\}/)) > 0,
        'the failed slice to be counted',
        15_000,
        50,
      )
      expect(t.system.simulator!.until).toBeLessThan(FIXED_NOW + 10 * MIN)
    } finally {
      lock.release()
    }
    await until(
      () => t.system.simulator!.until === FIXED_NOW + 10 * MIN,
      'the simulator to catch up',
      15_000,
      50,
    )
    const changes = await allChanges(t.system.app, ADMIN_TOKEN)
    expect(changes.length).toBeGreaterThan(0)
    changes.forEach((c, i) => expect(c.seq).toBe(i + 1))
  })

  it('replays a slice that a full disk rolled back exactly as if it had never failed', async () => {
    const disk = tmpfs(160)
    const ref = tempDir('sim-ref')
    cleanups.push(ref.remove)
    const env = { BACKFILL_DAYS: '0', SIM_EVENTS_PER_DAY: '20000' }
    const clocks = [manualClock(), manualClock()]
    const faulty = await createSystem(testConfig(disk.path, env), { clock: clocks[0]! })
    const plain = await createSystem(testConfig(ref.path, env), { clock: clocks[1]! })
    cleanups.push(
      () => faulty.stop(),
      () => plain.stop(),
    )
    for (const s of [faulty, plain]) await s.start()
    const advance = (i: number, t: number) => (clocks[i]!.set(t), [faulty, plain][i]!.simulator!.advanceTo(t))
    const steps = [20, 40, 60, 80, 100, 120].map((m) => FIXED_NOW + m * MIN)
    for (const s of [faulty, plain]) await s.simulator!.start()
    for (const t of steps) await advance(1, t)
    await advance(0, steps[0]!)
    await advance(0, steps[1]!)
    const seqBefore = await faulty.store.lastSeq()

    truncateWal(join(disk.path, DB))
    disk.fill()
    // Twice: the second attempt starts from the heap rebuilt after the first rolled back.
    for (let i = 0; i < 2; i++)
      await expect(advance(0, steps[2]!)).rejects.toMatchObject({ name: 'StoreUnavailable', reason: 'full' })
    expect(await faulty.store.lastSeq()).toBe(seqBefore)
    disk.free()
    for (const t of steps.slice(2)) await advance(0, t)

    const [got, want] = await Promise.all([faulty, plain].map((s) => s.store.listChanges(0, 1_000_000)))
    expect(want!.length).toBeGreaterThan(seqBefore + 100)
    expect(got).toEqual(want)
    const all = { limit: 1_000_000 }
    expect(await faulty.store.listEvents(all)).toEqual(await plain.store.listEvents(all))
    // The patrol rounds too: the pings of the rolled-back slice count when it is replayed.
    const rounds = (dir: string) => {
      const db = new Database(join(dir, DB), { readonly: true })
      try {
        return db.prepare('SELECT * FROM patrol_rounds ORDER BY worker_id, started_at').all()
      } finally {
        db.close()
      }
    }
    expect(rounds(ref.path).length).toBeGreaterThan(0)
    expect(rounds(disk.path)).toEqual(rounds(ref.path))
  })
})

// ---------------------------------------------------------------------------------------------
// Acceptance: a real server process with the accelerated simulator

const SPEED = 30

interface Writer {
  acked: { id: string; description: string }[]
  refused: number
  unexpected: string[]
  stop(): Promise<void>
}

/** POST reports one after another until stopped, recording what each answer was. */
function startWriter(api: Requester, tag: string): Writer {
  const w: Writer = { acked: [], refused: 0, unexpected: [], stop: async () => undefined }
  let running = true
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const description = `故障测试 ${tag} ${i}`
      try {
        const r = await call<ApiEvent & ErrorBody>(api, '/api/v1/events', {
          token: ADMIN_TOKEN,
          headers: { 'idempotency-key': `${tag}-${i}` },
          body: report(description),
        })
        if (r.status === 201) w.acked.push({ id: r.body.id, description })
        else if (
          r.status === 503 &&
          r.body.error.code === 'store_unavailable' &&
          r.headers.get('retry-after')
        )
          w.refused++
        else w.unexpected.push(`${r.status} ${JSON.stringify(r.body)}`)
      } catch (err) {
        w.unexpected.push(String(err))
      }
      await new Promise((r) => setTimeout(r, 50))
    }
  })()
  w.stop = async () => {
    running = false
    await loop
  }
  return w
}

async function startServer(dataDir: string): Promise<{ child: ChildServer; api: Requester; file: string }> {
  const port = await freePort()
  const child = spawnServer({
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    SIMULATE: '1',
    SIM_SPEED: String(SPEED),
    SIM_EVENTS_PER_DAY: '20000',
    BACKFILL_DAYS: '0',
    LOG_LEVEL: 'warn',
    ADMIN_TOKEN,
  })
  cleanups.push(() => child.kill())
  const base = `http://127.0.0.1:${port}`
  await waitReady(base, child)
  return { child, api: httpRequester(base), file: join(dataDir, DB) }
}

/**
 * Run `fault` on a real server while a writer keeps posting; `end` ends it. The server must stay
 * up, refuse writes with 503 meanwhile, then take writes and catch the simulator up by itself.
 */
async function survives(
  dataDir: string,
  tag: string,
  fault: (file: string) => Promise<() => void>,
  failureCode: string,
): Promise<void> {
  const { child, api, file } = await startServer(dataDir)
  const writer = startWriter(api, tag)
  await until(
    () => writer.acked.length >= 3 && simUntil(file) > 0,
    'writes and a slice before the fault',
    10_000,
    20,
  ).catch((err: Error) => {
    const seen = { acked: writer.acked.length, unexpected: writer.unexpected.slice(0, 3) }
    throw new Error(`${err.message}: ${JSON.stringify(seen)} sim.until=${simUntil(file)}\n${child.output()}`)
  })
  const end = await fault(file)
  const faultStart = Date.now()
  const simBefore = simUntil(file)
  const counted = new RegExp(`^city_brain_store_errors_total\\{op="[^"]+",code="${failureCode}"\\}`)
  try {
    await until(() => writer.refused > 0, 'a write to be refused with 503', 20_000, 20)
    await until(async () => (await metric(api, counted)) > 0, 'the failure to be counted', 20_000, 100)
    expect((await api.request('/healthz')).status).toBe(200)
  } finally {
    end()
  }
  const faultMs = Date.now() - faultStart
  const ackedAtEnd = writer.acked.length
  await until(() => writer.acked.length >= ackedAtEnd + 3, 'writes after the fault', 20_000, 20)
  // Caught up: the simulator covered all the simulated time that passed during the fault.
  await until(() => simUntil(file) >= simBefore + faultMs * SPEED, 'the simulator to catch up', 20_000, 100)
  await writer.stop()

  expect(writer.unexpected).toEqual([])
  expect(child.child.exitCode).toBeNull()
  const log = await allChanges(api, ADMIN_TOKEN)
  log.forEach((c, i) => expect(c.seq, 'the change log has a gap').toBe(i + 1))
  for (const a of writer.acked) {
    const r = await call<ApiEvent>(api, `/api/v1/events/${a.id}`, { token: ADMIN_TOKEN })
    expect(r.status, a.id).toBe(200)
    expect(r.body.description).toBe(a.description)
  }
  // No refused write was half-done: the reports in the log are exactly the acknowledged ones.
  const tagged = (await allEvents(api, ADMIN_TOKEN, '')).filter((e) =>
    e.description.startsWith(`故障测试 ${tag} `),
  )
  expect(new Set(tagged.map((e) => e.id))).toEqual(new Set(writer.acked.map((a) => a.id)))
  expect(log.filter((c) => c.action === 'report').length).toBe((await allEvents(api, ADMIN_TOKEN, '')).length)
  await child.kill('SIGTERM')
}

describe('a real server process whose store fails during the simulation', () => {
  it('rides out another connection holding the write lock past the busy timeout', async () => {
    const dir = tempDir('fault-lock')
    cleanups.push(dir.remove)
    await survives(
      dir.path,
      'lock',
      async (file) => {
        const lock = await holdWriteLock(file)
        return lock.release
      },
      'SQLITE_BUSY',
    )
  })

  it('rides out a full disk', async () => {
    const disk = tmpfs(64)
    await survives(
      disk.path,
      'full',
      async (file) => {
        truncateWal(file)
        disk.fill()
        return disk.free
      },
      'SQLITE_(FULL|IOERR\\w*)',
    )
  })
})
