/**
 * The SQLite store on a temporary file: migrations, the change log written with every event change,
 * the events table as a fold of the log, batches, idempotency keys and position retention.
 */
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  applyChange,
  initialState,
  LIFECYCLE,
  transition,
  type ReportPayload,
  type StoredChangeData,
} from '../../shared/lifecycle.ts'
import { calendarSet } from '../../shared/calendars.ts'
import { mulberry32 } from '../../shared/random.ts'
import type { ActionData, Actor, EventAction, GridEvent } from '../../shared/types.ts'
import { DEFAULT_CALENDAR } from '../../shared/working-time.ts'
import { EVENT_ACTIONS } from '../../shared/types.ts'
import { SQLITE_MIGRATIONS } from '../../server/store/sqlite-migrations.ts'
import { createSqliteStore } from '../../server/store/sqlite-store.ts'
import { IDEMPOTENCY_TTL_MS, IdempotencyConflict, type Store } from '../../server/store/store.ts'
import { tempDir } from './helpers.ts'

const HOUR = 3_600_000
const T0 = Date.parse('2026-11-23T09:00:00+08:00')
const GRID = '430602001001001'

const dir = tempDir('store')
afterAll(() => dir.remove())
let fileNo = 0
let file: string
let store: Store

beforeEach(async () => {
  file = join(dir.path, `store-${++fileNo}.sqlite`)
  store = createSqliteStore(file)
  await store.migrate()
})
afterEach(async () => {
  await store.close()
})

const payload = (n: number, extra: Partial<ReportPayload> = {}): ReportPayload => ({
  category: 'CG0101',
  description: `事件 ${n}`,
  lat: 29.37,
  lng: 113.13,
  gridCode: GRID,
  source: 'patrol',
  ...extra,
})

/** Natural time: the return window is plain arithmetic (2 hours after the latest dispatch). */
const NATURAL = calendarSet(DEFAULT_CALENDAR).natural

/** Act like the event service does: the lifecycle decides, dispatches and rework set a deadline. */
function act(s: Store, id: string, at: number, action: EventAction, data: ActionData = {}, actor?: Actor) {
  return s.mutateEvent(
    id,
    at,
    (current, at) => {
      const t = transition(current, action, data, { at, returnWindowHours: 2, calendar: NATURAL })
      if (!t.ok) return { ok: false, refusal: t }
      const stored: StoredChangeData = { ...data }
      if (action === 'dispatch' || (action === 'verify' && !data.passed)) stored.deadline = at + 4 * HOUR
      if (action === 'extend') stored.deadline = data.until ?? (current.deadline ?? at) + 4 * HOUR
      return { ok: true, action, status: t.status, data: stored }
    },
    actor,
  )
}

/** Fields each action needs to be valid. */
const DATA: Record<EventAction, ActionData> = {
  accept: {},
  file: {},
  cancel: { note: '重复' },
  dispatch: { department: '环卫处' },
  return: {},
  extend: {},
  handle: {},
  verify: { passed: true },
  evaluate: { satisfaction: 'satisfied' },
  self_handle: {},
}

/** Open the same file read-only beside the store, to look at tables it has no method for. */
function peek<T>(sql: string, ...args: unknown[]): T {
  const db = new Database(file, { readonly: true })
  try {
    return db.prepare(sql).get(...args) as T
  } finally {
    db.close()
  }
}

describe('migrations', () => {
  it('migrates a fresh file to the latest version and is idempotent when run again or reopened', async () => {
    expect(SQLITE_MIGRATIONS.length).toBeGreaterThan(0)
    expect(await store.migrate()).toBe(SQLITE_MIGRATIONS.length)
    await store.createEvent(payload(1), T0)
    expect(await store.migrate()).toBe(SQLITE_MIGRATIONS.length)
    await store.close()

    store = createSqliteStore(file)
    expect(await store.migrate()).toBe(SQLITE_MIGRATIONS.length)
    expect(await store.countEvents()).toBe(1)
    expect(await store.lastSeq()).toBe(1)
    expect(
      peek<{ n: number; v: number }>('SELECT COUNT(*) AS n, MAX(version) AS v FROM schema_version'),
    ).toEqual({
      n: 1,
      v: SQLITE_MIGRATIONS.length,
    })
  })

  it('migrates a file left at version 1 forward, keeping its data', async () => {
    await store.close()
    file = join(dir.path, `store-${++fileNo}.sqlite`)
    const old = new Database(file)
    old.exec(SQLITE_MIGRATIONS[0]!)
    old.exec('CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1)')
    old.prepare("INSERT INTO meta (key, value) VALUES ('kept', 'yes')").run()
    old.close()
    store = createSqliteStore(file)
    expect(await store.migrate()).toBe(SQLITE_MIGRATIONS.length)
    expect(await store.getMeta('kept')).toBe('yes')
    expect((await store.createEvent(payload(1), T0)).change.seq).toBe(1)
    expect(peek<{ v: number }>('SELECT version AS v FROM schema_version').v).toBe(SQLITE_MIGRATIONS.length)
  })

  it('refuses a store whose schema is newer than this build, changing nothing', async () => {
    await store.close()
    const newer = SQLITE_MIGRATIONS.length + 1
    const db = new Database(file)
    db.prepare('UPDATE schema_version SET version = ?').run(newer)
    db.close()
    store = createSqliteStore(file)
    await expect(store.migrate()).rejects.toThrow(
      new RegExp(`${newer}.*${SQLITE_MIGRATIONS.length}.*${newer}.*${SQLITE_MIGRATIONS.length}`, 's'),
    )
    expect(peek<{ v: number }>('SELECT version AS v FROM schema_version').v).toBe(newer)
  })

  it('keeps the idempotency keys of a file left at version 5, each matching for 24 h from the upgrade', async () => {
    await store.close()
    file = join(dir.path, `store-${++fileNo}.sqlite`)
    const old = new Database(file)
    for (const step of SQLITE_MIGRATIONS.slice(0, 5)) old.exec(step)
    old.exec('CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (5)')
    const fingerprint = JSON.stringify(payload(1))
    old
      .prepare(
        `INSERT INTO events (id, seq, status, category, description, lat, lng, grid_code, source, reported_at, updated_at)
         VALUES ('E00000001', 1, 'reported', 'CG0101', '事件 1', 29.37, 113.13, ?, 'patrol', ?, ?)`,
      )
      .run(GRID, T0, T0)
    old
      .prepare(
        `INSERT INTO changes (seq, at, event_id, grid_code, action, status, payload)
         VALUES (1, ?, 'E00000001', ?, 'report', 'reported', ?)`,
      )
      .run(T0, GRID, fingerprint)
    old
      .prepare(`INSERT INTO idempotency (key, event_id, fingerprint) VALUES ('old-key', 'E00000001', ?)`)
      .run(fingerprint)
    old.close()
    const upgradedAt = Date.now()
    let now = upgradedAt
    store = createSqliteStore(file, { now: () => now })
    await store.migrate()
    expect(await store.createEvent(payload(1), T0, 'old-key')).toMatchObject({
      created: false,
      event: { id: 'E00000001' },
    })
    now = upgradedAt + IDEMPOTENCY_TTL_MS - 60_000
    expect(await store.pruneIdempotencyKeys()).toBe(0)
    now = upgradedAt + IDEMPOTENCY_TTL_MS + 60_000
    expect(await store.pruneIdempotencyKeys()).toBe(1)
  })
})

describe('the change log', () => {
  it('appends a report change with the next seq when an event is created', async () => {
    const a = await store.createEvent(payload(1), T0)
    const b = await store.createEvent(
      payload(2, { reporter: { name: '李四', phone: '13900000000' } }),
      T0 + 1,
    )
    expect(a.created).toBe(true)
    expect(a.change).toEqual({
      seq: 1,
      at: T0,
      eventId: a.event.id,
      gridCode: GRID,
      action: 'report',
      status: 'reported',
      actor: null,
    })
    expect(b.change.seq).toBe(2)
    expect(a.event).toMatchObject({ seq: 1, status: 'reported', reportedAt: T0, updatedAt: T0 })
    expect(await store.getEvent(b.event.id)).toEqual(b.event)
    expect(await store.listChanges(0, 10)).toEqual([a.change, b.change])
    expect(await store.lastSeq()).toBe(2)
  })

  it('appends a change with the next seq for every accepted decision, stamping the event with it', async () => {
    const { event } = await store.createEvent(payload(1), T0)
    await store.createEvent(payload(2), T0)
    const r = await act(store, event.id, T0 + HOUR, 'accept')
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(r.change).toMatchObject({
      seq: 3,
      eventId: event.id,
      action: 'accept',
      status: 'accepted',
      at: T0 + HOUR,
    })
    expect(r.event).toMatchObject({ seq: 3, status: 'accepted', updatedAt: T0 + HOUR })
    await act(store, event.id, T0 + 2 * HOUR, 'file')
    const d = await act(store, event.id, T0 + 3 * HOUR, 'dispatch', { department: '环卫处' })
    expect(d.ok && d.change.data).toEqual({ department: '环卫处', deadline: T0 + 7 * HOUR })
    expect(await store.getEvent(event.id)).toMatchObject({
      seq: 5,
      status: 'dispatched',
      department: '环卫处',
      firstDispatchedAt: T0 + 3 * HOUR,
      deadline: T0 + 7 * HOUR,
    })
    expect((await store.timeline(event.id)).map((c) => c.seq)).toEqual([1, 3, 4, 5])
    expect(await store.lastSeq()).toBe(5)
  })

  it('appends nothing and changes nothing when the decision refuses, the event is unknown or decide throws', async () => {
    const { event } = await store.createEvent(payload(1), T0)
    const refused = await act(store, event.id, T0 + HOUR, 'handle')
    expect(refused).toMatchObject({ ok: false, refusal: { code: 'invalid_transition' } })
    expect(
      await store.mutateEvent('E99999999', T0, () => ({ ok: true, action: 'accept', status: 'accepted' })),
    ).toEqual({ ok: false, notFound: true })
    await expect(
      store.mutateEvent(event.id, T0 + HOUR, () => {
        throw new Error('decide failed')
      }),
    ).rejects.toThrow('decide failed')
    expect(await store.lastSeq()).toBe(1)
    expect(await store.getEvent(event.id)).toEqual(event)
    expect(await store.timeline(event.id)).toHaveLength(1)
    // The store is still usable, and the next seq follows without a gap.
    const ok = await act(store, event.id, T0 + HOUR, 'accept')
    expect(ok.ok && ok.change.seq).toBe(2)
  })

  it('keeps the events table equal to a fold of the change log', async () => {
    const rng = mulberry32(7)
    const ids: string[] = []
    for (let i = 0; i < 40; i++) {
      const r = await store.createEvent(
        payload(
          i,
          i % 3 === 0 ? { reporter: { name: '王五', phone: '13700000000' }, source: 'hotline' } : {},
        ),
        T0 + i * 60_000,
      )
      ids.push(r.event.id)
    }
    let at = T0 + HOUR
    for (let step = 0; step < 600; step++) {
      const id = ids[rng.int(ids.length)]!
      const current = (await store.getEvent(id))!
      const possible = EVENT_ACTIONS.filter((a) => LIFECYCLE[a][current.status] !== undefined)
      if (possible.length === 0) continue
      const action = rng.pick(possible)
      const data = action === 'verify' ? { passed: rng.next() < 0.7 } : DATA[action]
      at += rng.int(4) * 60_000 + 1
      const r = await act(store, id, at, action, data)
      // evaluate is refused a second time, extend past the deadline, return past its window or the
      // deadline; anything else the table allows goes through
      if (!r.ok) {
        const late =
          (current.deadline !== null && at > current.deadline) ||
          (action === 'return' && at > current.dispatchedAt! + 2 * HOUR)
        expect(action === 'evaluate' || ((action === 'extend' || action === 'return') && late), action).toBe(
          true,
        )
      }
    }

    const log = await store.listChanges(0, 100_000)
    expect(log.map((c) => c.seq)).toEqual(Array.from({ length: log.length }, (_, i) => i + 1))
    const seen = new Set(log.map((c) => c.action))
    for (const a of [
      'report',
      'accept',
      'file',
      'cancel',
      'dispatch',
      'return',
      'extend',
      'handle',
      'verify',
      'evaluate',
      'self_handle',
    ])
      expect(seen.has(a as never), a).toBe(true)

    for (const id of ids) {
      const stored = (await store.getEvent(id))!
      const [first, ...rest] = await store.timeline(id)
      expect(first).toMatchObject({ action: 'report', eventId: id })
      // The report change carries no payload (see the report): take the immutable fields from the row.
      const { category, description, lat, lng, gridCode, source, reporter } = stored
      const p: ReportPayload = {
        category,
        description,
        lat,
        lng,
        gridCode,
        source,
        ...(reporter ? { reporter } : {}),
      }
      const folded = rest.reduce<GridEvent>((e, ch) => applyChange(e, ch), initialState(first!, p, id))
      expect(folded, id).toEqual(stored)
    }
  })
})

describe('actors and lateness (issue 10)', () => {
  const officer: Actor = { kind: 'token', id: 'jti-officer-1', role: 'officer' }
  const sim: Actor = { kind: 'system', id: 'simulator', source: 'hotline' }

  it('records the actor of a report and of each action in the log and the timeline; none is null', async () => {
    const a = await store.createEvent(payload(1), T0, undefined, sim)
    expect(a.change.actor).toEqual(sim)
    const r = await act(store, a.event.id, T0 + HOUR, 'accept', {}, officer)
    expect(r.ok && r.change.actor).toEqual(officer)
    const none = await act(store, a.event.id, T0 + 2 * HOUR, 'file')
    expect(none.ok && none.change.actor).toBeNull()
    expect((await store.listChanges(0, 10)).map((c) => c.actor)).toEqual([sim, officer, null])
    expect((await store.timeline(a.event.id)).map((c) => c.actor)).toEqual([sim, officer, null])
    expect(peek<{ actor: string }>('SELECT actor FROM changes WHERE seq = 2').actor).toBe(
      JSON.stringify(officer),
    )
  })

  it('a repeated Idempotency-Key returns the first report change with its actor', async () => {
    await store.createEvent(payload(1), T0, 'k', officer)
    const again = await store.createEvent(payload(1), T0, 'k', sim)
    expect(again.created).toBe(false)
    expect(again.change.actor).toEqual(officer)
  })

  it('keeps a late handling late across a rework, in the events table', async () => {
    const { event } = await store.createEvent(payload(1), T0)
    await act(store, event.id, T0 + 1, 'accept')
    await act(store, event.id, T0 + 2, 'file')
    await act(store, event.id, T0 + 3, 'dispatch', { department: '环卫处' })
    await act(store, event.id, T0 + 5 * HOUR, 'handle')
    await act(store, event.id, T0 + 5 * HOUR + 1, 'verify', { passed: false })
    await act(store, event.id, T0 + 6 * HOUR, 'handle')
    expect(await store.getEvent(event.id)).toMatchObject({ status: 'handled', lateHandled: true })
    expect(peek<{ l: number }>('SELECT late_handled AS l FROM events WHERE id = ?', event.id).l).toBe(1)
  })

  it('migration 8 backfills late_handled from the log of a file left at version 7; old changes have no actor', async () => {
    await store.close()
    file = join(dir.path, `store-${++fileNo}.sqlite`)
    const old = new Database(file)
    for (const step of SQLITE_MIGRATIONS.slice(0, 7)) old.exec(step)
    old.exec('CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (7)')
    // E1: handled late, reworked, handled on time since. E2: extended, then handled before the new
    // deadline (late against the first). E3: handled on time, reworked with no new deadline, handled late.
    const ev = old.prepare(
      `INSERT INTO events (id, seq, status, category, description, lat, lng, grid_code, source, reported_at, updated_at)
       VALUES (?, 0, 'handled', 'CG0101', '', 29.37, 113.13, ?, 'patrol', ?, ?)`,
    )
    const ch = old.prepare(
      'INSERT INTO changes (seq, at, event_id, grid_code, action, status, data) VALUES (?, ?, ?, ?, ?, ?, ?)',
    )
    let seq = 0
    const log = (id: string, at: number, action: string, status: string, data?: object) =>
      ch.run(++seq, at, id, GRID, action, status, data ? JSON.stringify(data) : null)
    for (const id of ['E1', 'E2', 'E3']) {
      ev.run(id, GRID, T0, T0)
      log(id, T0, 'report', 'reported')
      log(id, T0 + 1, 'dispatch', 'dispatched', { department: '环卫处', deadline: T0 + HOUR })
    }
    log('E1', T0 + 2 * HOUR, 'handle', 'handled')
    log('E1', T0 + 3 * HOUR, 'verify', 'dispatched', { passed: false, deadline: T0 + 10 * HOUR })
    log('E1', T0 + 4 * HOUR, 'handle', 'handled')
    log('E2', T0 + HOUR - 1, 'extend', 'dispatched', { deadline: T0 + 5 * HOUR })
    log('E2', T0 + 4 * HOUR, 'handle', 'handled')
    log('E3', T0 + HOUR / 2, 'handle', 'handled')
    log('E3', T0 + HOUR / 2 + 1, 'verify', 'dispatched', { passed: false })
    log('E3', T0 + 2 * HOUR, 'handle', 'handled')
    old.close()
    store = createSqliteStore(file)
    expect(await store.migrate()).toBe(SQLITE_MIGRATIONS.length)
    const got = await store.eventsByIds(['E1', 'E2', 'E3'])
    expect(['E1', 'E2', 'E3'].map((id) => got.get(id)!.lateHandled)).toEqual([true, false, true])
    expect((await store.listChanges(0, 100)).every((c) => c.actor === null)).toBe(true)
  })
})

describe('batches', () => {
  it('rolls back every write of a batch that throws, and the store stays usable', async () => {
    await store.upsertWorkers([{ id: 'W1', name: '赵六', phone: '13600000000', gridCode: GRID }])
    await store.createEvent(payload(0), T0)
    await expect(
      store.batch(async () => {
        const a = await store.createEvent(payload(1), T0, 'key-in-failed-batch')
        await act(store, a.event.id, T0 + 1, 'accept')
        await store.setMeta('sim.until', String(T0))
        await store.insertPositions([{ workerId: 'W1', lat: 29.37, lng: 113.13, at: T0 }], 0)
        expect(await store.lastSeq()).toBe(3) // visible inside the batch
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    expect(await store.lastSeq()).toBe(1)
    expect(await store.countEvents()).toBe(1)
    expect(await store.getMeta('sim.until')).toBeNull()
    expect(
      peek<{ at: number | null }>('SELECT last_ping_at AS at FROM workers WHERE id = ?', 'W1').at,
    ).toBeNull()
    // The idempotency key of the rolled-back report is free again.
    const again = await store.createEvent(payload(1), T0, 'key-in-failed-batch')
    expect(again.created).toBe(true)
    expect(again.change.seq).toBe(2)
  })

  it('runs afterRollback callbacks only when their batch rolls back, last registered first', async () => {
    const heard: string[] = []
    store.afterRollback(() => heard.push('outside a batch'))
    await store.batch(async () => {
      store.afterRollback(() => heard.push('committed'))
      await store.createEvent(payload(0), T0)
    })
    await expect(
      store.batch(async () => {
        store.afterRollback(() => heard.push('first'))
        await store.batch(async () => store.afterRollback(() => heard.push('joined')))
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    expect(heard).toEqual(['joined', 'first'])
  })

  it('commits a batch as a whole, and a write from outside waits for it and takes the next seq', async () => {
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const batch = store.batch(async () => {
      await store.createEvent(payload(1), T0)
      await gate
      await store.createEvent(payload(2), T0)
      return 'done'
    })
    await new Promise((r) => setImmediate(r))
    const outside = store.createEvent(payload(3), T0)
    release()
    expect(await batch).toBe('done')
    expect((await outside).change.seq).toBe(3)
    expect((await store.listChanges(0, 10)).map((c) => [c.seq, c.eventId])).toEqual([
      [1, 'E00000001'],
      [2, 'E00000002'],
      [3, 'E00000003'],
    ])
  })

  it('does not let a timer armed inside a finished batch write into the next batch', async () => {
    // AsyncLocalStorage hands the batch scope on to every callback created inside the batch. A write
    // from such a callback, made while a later batch is open, must still wait for that batch instead
    // of joining it: otherwise it is acknowledged and then rolled back with a batch it never was part of.
    let fired!: () => void
    const timerFired = new Promise<void>((r) => (fired = r))
    let acknowledged!: Promise<{ event: GridEvent; created: boolean }>
    await store.batch(async () => {
      setTimeout(() => {
        acknowledged = store.createEvent(payload(1), T0)
        fired()
      }, 0)
    })
    const failing = store.batch(async () => {
      await timerFired
      throw new Error('the later batch fails')
    })
    await expect(failing).rejects.toThrow('the later batch fails')
    const { event, created } = await acknowledged
    expect(created).toBe(true)
    expect(await store.getEvent(event.id), 'an acknowledged write was rolled back').toEqual(event)
    expect(await store.lastSeq()).toBe(1)
  })
})

describe('idempotency keys', () => {
  it('returns the first event and its report change for a repeated key, appending nothing', async () => {
    const created = await store.createEvent(payload(1), T0, 'k-1')
    const repeated = await store.createEvent(payload(1), T0 + HOUR, 'k-1')
    expect(repeated.created).toBe(false)
    expect(repeated.event).toEqual(created.event)
    expect(repeated.change).toEqual(created.change)
    expect(await store.lastSeq()).toBe(1)
    await expect(store.createEvent(payload(99), T0 + HOUR, 'k-1')).rejects.toBeInstanceOf(IdempotencyConflict)
    expect(await store.lastSeq()).toBe(1)
    await act(store, created.event.id, T0 + HOUR, 'accept')
    const afterAct = await store.createEvent(payload(1), T0, 'k-1')
    expect(afterAct.event.status).toBe('accepted')
    expect(afterAct.change.seq).toBe(1)
    expect((await store.createEvent(payload(1), T0, 'k-2')).created).toBe(true)
    expect((await store.createEvent(payload(1), T0)).created).toBe(true)
    expect((await store.createEvent(payload(1), T0)).created).toBe(true)
    expect(await store.countEvents()).toBe(4)
  })
})

describe('idempotency keys expire', () => {
  it('forgets a key 24 h after its first use: a reuse then creates a new event, and pruning deletes the key', async () => {
    await store.close()
    let now = T0
    store = createSqliteStore(file, { now: () => now })
    await store.migrate()
    const first = await store.createEvent(payload(1), T0, 'k-exp')
    now = T0 + IDEMPOTENCY_TTL_MS - 1
    expect((await store.createEvent(payload(1), now, 'k-exp')).created).toBe(false)
    expect(await store.pruneIdempotencyKeys()).toBe(0)
    now = T0 + IDEMPOTENCY_TTL_MS
    // Expired: a new event, even with another payload (no conflict with a forgotten use).
    const second = await store.createEvent(payload(2), now, 'k-exp')
    expect(second.created).toBe(true)
    expect(second.event.id).not.toBe(first.event.id)
    // The key now stands for the second event, for 24 h from its own use.
    now += IDEMPOTENCY_TTL_MS - 1
    expect((await store.createEvent(payload(2), now, 'k-exp')).event.id).toBe(second.event.id)
    await store.createEvent(payload(3), now, 'k-other')
    now += 1
    expect(await store.pruneIdempotencyKeys()).toBe(1)
    expect(peek<{ n: number }>('SELECT COUNT(*) AS n FROM idempotency').n).toBe(1)
    expect((await store.createEvent(payload(3), now, 'k-other')).created).toBe(false)
    expect(await store.countEvents()).toBe(3)
  })
})

describe('positions', () => {
  const rawCount = () => peek<{ n: number }>('SELECT COUNT(*) AS n FROM positions').n
  const lastPing = (id: string) =>
    peek<{ lat: number; lng: number; at: number }>(
      'SELECT last_lat AS lat, last_lng AS lng, last_ping_at AS at FROM workers WHERE id = ?',
      id,
    )

  it('keeps raw pings only from keepRawAfter on but moves the worker’s last ping either way, never backwards', async () => {
    await store.upsertWorkers([
      { id: 'W1', name: '赵六', phone: '13600000000', gridCode: GRID },
      { id: 'W2', name: '钱七', phone: '13600000001', gridCode: '430602002001001' },
    ])
    await store.insertPositions(
      [
        { workerId: 'W1', lat: 29.1, lng: 113.1, at: T0 - 2 * HOUR },
        { workerId: 'W1', lat: 29.2, lng: 113.2, at: T0 },
        { workerId: 'W2', lat: 29.3, lng: 113.3, at: T0 - 3 * HOUR },
      ],
      T0 - HOUR,
    )
    expect(rawCount()).toBe(1)
    expect(lastPing('W1')).toEqual({ lat: 29.2, lng: 113.2, at: T0 })
    expect(lastPing('W2')).toEqual({ lat: 29.3, lng: 113.3, at: T0 - 3 * HOUR })
    // A late, older ping is kept raw but does not move the last position back.
    await store.insertPositions([{ workerId: 'W1', lat: 29.9, lng: 113.9, at: T0 - 30 * 60_000 }], T0 - HOUR)
    expect(rawCount()).toBe(2)
    expect(lastPing('W1')).toEqual({ lat: 29.2, lng: 113.2, at: T0 })
  })

  it('prunes raw pings older than the cut-off and reports how many', async () => {
    await store.upsertWorkers([{ id: 'W1', name: '赵六', phone: '13600000000', gridCode: GRID }])
    await store.insertPositions(
      Array.from({ length: 10 }, (_, i) => ({
        workerId: 'W1',
        lat: 29.37,
        lng: 113.13,
        at: T0 + i * 60_000,
      })),
      0,
    )
    expect(await store.prunePositions(T0 + 4 * 60_000)).toBe(4)
    expect(rawCount()).toBe(6)
    expect(await store.prunePositions(T0 + 4 * 60_000)).toBe(0)
    expect(peek<{ at: number }>('SELECT MIN(at) AS at FROM positions').at).toBe(T0 + 4 * 60_000)
    expect(lastPing('W1').at).toBe(T0 + 9 * 60_000)
  })
})

describe('listing events', () => {
  it('pages newest first by (reportedAt, id), ties included, with a keyset cursor', async () => {
    for (let i = 0; i < 7; i++) await store.createEvent(payload(i), T0 + (i < 5 ? 0 : HOUR))
    const seen: string[] = []
    let before: { reportedAt: number; id: string } | undefined
    for (;;) {
      const page = await store.listEvents({ region: '430602001', limit: 2, ...(before ? { before } : {}) })
      if (page.length === 0) break
      seen.push(...page.map((e) => e.id))
      const last = page.at(-1)!
      before = { reportedAt: last.reportedAt, id: last.id }
    }
    expect(seen).toEqual([
      'E00000007',
      'E00000006',
      'E00000005',
      'E00000004',
      'E00000003',
      'E00000002',
      'E00000001',
    ])
    expect(await store.listEvents({ region: '430602002', limit: 10 })).toEqual([])
  })
})
