/**
 * The contract of the store port (`server/store/store.ts`), engine-agnostic: the same suite runs on
 * every implementation (`store-contract.test.ts` registers it per engine).
 *
 * Rules of this suite, so that it holds for any engine:
 * - only the `Store` interface is used: no engine specifics, no `onCommitted`, no files, no `kind`;
 * - ids are opaque: only unique, non-empty strings (never a format such as `E00000001`); where the
 *   order of ids matters (ties of `listEvents`), it is the order of the strings (code units);
 * - times are epoch ms numbers and must come back as numbers;
 * - hints (`onAppended`) may be asynchronous: they are awaited with a poll.
 *
 * The factory's `make()` opens a fresh, empty store; the suite calls `store.migrate()` itself in
 * `beforeEach` (a factory may migrate too: migrate is idempotent) and, after each test, `close()`
 * then the factory's `cleanup()`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { calendarSet } from '../../shared/calendars.ts'
import {
  applyChange,
  initialState,
  LIFECYCLE,
  transition,
  type ReportPayload,
  type StoredChangeData,
} from '../../shared/lifecycle.ts'
import { mulberry32 } from '../../shared/random.ts'
import {
  EVENT_ACTIONS,
  type ActionData,
  type Actor,
  type Change,
  type EventAction,
  type GridEvent,
  type PatrolRound,
  type Position,
  type Worker,
} from '../../shared/types.ts'
import { DEFAULT_CALENDAR } from '../../shared/working-time.ts'
import {
  IdempotencyConflict,
  type IssuedToken,
  type KpiSnapshot,
  type Store,
  type StoredRun,
} from '../../server/store/store.ts'

export interface StoreFactory {
  name: string
  /** A fresh, empty store (migrated or not: the suite migrates it); `cleanup` removes what it made. */
  make(): Promise<{ store: Store; cleanup(): Promise<void> }>
}

const MIN = 60_000
const HOUR = 3_600_000
const DAY_MS = 24 * HOUR
/** Local midnight (Asia/Shanghai) of a Monday, and 09:00 on it. */
const DAY0 = Date.parse('2026-11-23T00:00:00+08:00')
const T0 = DAY0 + 9 * HOUR
const DAY = { start: DAY0, end: DAY0 + DAY_MS }

/** Two grids of one community, and one of another street. */
const GRID = '430602001001001'
const GRID_B = '430602001002001'
const GRID_OUT = '430602002001001'
/** The street of GRID and GRID_B. */
const REGION = '430602001'

/** The report of event `n`: a patrol report in GRID (also what the engine-specific suites report). */
export const payload = (n: number, extra: Partial<ReportPayload> = {}): ReportPayload => ({
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

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Wait until `cond()` holds, polling, for up to `ms`; returns whether it held. */
async function until(cond: () => boolean, ms = 2000): Promise<boolean> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() >= deadline) return false
    await sleep(10)
  }
  return true
}

const seqs = (n: number, from = 1) => Array.from({ length: n }, (_, i) => i + from)
const sortNum = (xs: number[]) => [...xs].sort((a, b) => a - b)
const ids = (events: GridEvent[]) => events.map((e) => e.id).sort()

/** Newest first by (reportedAt, id), ids compared as strings. */
const newestFirst = (a: GridEvent, b: GridEvent) =>
  b.reportedAt - a.reportedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)

const worker = (id: string, gridCode: string): Worker => ({
  id,
  name: `网格员 ${id}`,
  phone: '13600000000',
  gridCode,
})

const spans = (snap: KpiSnapshot, grid: string) =>
  (snap.roundsByGrid.get(grid) ?? [])
    .map((r) => ({ workerId: r.workerId, startedAt: r.startedAt, endedAt: r.endedAt }))
    .sort((a, b) => (a.workerId < b.workerId ? -1 : a.workerId > b.workerId ? 1 : a.startedAt - b.startedAt))

const byWorker = (ps: Position[]) =>
  [...ps].sort((a, b) => (a.workerId < b.workerId ? -1 : a.workerId > b.workerId ? 1 : 0))

/**
 * 15-digit grid codes sharing prefixes and differing in the digits right after them (and a code of
 * the next street, district or city whose prefix is one digit off): a region filter that compares
 * strings under a collation that ignores punctuation or orders digits oddly (`BETWEEN p AND p||':'`)
 * gets some of these wrong.
 */
const PREFIX_CODES = [
  '430602001001001',
  '430602001001002',
  '430602001001010',
  '430602001001100',
  '430602001001999',
  '430602001002001',
  '430602001010001',
  '430602001100001',
  '430602001900009',
  '430602001000999',
  '430602002001001',
  '430602010001001',
  '430602100001001',
  '430602000999999',
  '430601999999999',
  '430603001001001',
  '430612001001001',
  '431602001001001',
  '430602901001001',
]
/** District (6), street (9), community (12) and grid (15) regions, an unaligned prefix, and none. */
const PREFIX_REGIONS = [
  '430602',
  '430603',
  '430601',
  '43060',
  '430602001',
  '430602002',
  '430602010',
  '430602100',
  '430602000',
  '4306020010',
  '430602001001',
  '430602001010',
  '430602001100',
  '430602001000',
  '430602001001001',
  '430602001001010',
  '999999',
]
const inRegion = (codes: string[], region: string) => codes.filter((c) => c.startsWith(region)).sort()

export function describeStore(f: StoreFactory): void {
  describe(`Store contract: ${f.name}`, () => {
    let store: Store
    let cleanup: () => Promise<void>
    let version: number

    beforeEach(async () => {
      const made = await f.make()
      store = made.store
      cleanup = made.cleanup
      version = await store.migrate()
    })
    afterEach(async () => {
      await store.close()
      await cleanup()
    })

    /** Move an event through `actions`, one minute apart from `at`; the last result's event. */
    async function drive(id: string, at: number, actions: EventAction[], data: Partial<typeof DATA> = {}) {
      let event: GridEvent | null = null
      for (const [i, action] of actions.entries()) {
        const r = await act(store, id, at + i * MIN, action, data[action] ?? DATA[action])
        if (!r.ok) throw new Error(`${action} refused: ${JSON.stringify(r)}`)
        event = r.event
      }
      return event!
    }

    /** Each worker's last ping as the store tells it (positions of a snapshot since the epoch). */
    async function lastPings(region = '430602') {
      const snap = await store.kpiSnapshot(region, T0, T0 + 1, DAY, 0)
      return new Map(snap.positions.map((p) => [p.workerId, { lat: p.lat, lng: p.lng, at: p.at }]))
    }

    describe('migrate and an empty store', () => {
      it('returns a positive schema version, the same again on a second call, keeping the data', async () => {
        expect(Number.isInteger(version)).toBe(true)
        expect(version).toBeGreaterThan(0)
        const { event } = await store.createEvent(payload(1), T0)
        await store.setMeta('kept', 'yes')
        expect(await store.migrate()).toBe(version)
        expect(await store.migrate()).toBe(version)
        expect(await store.countEvents()).toBe(1)
        expect(await store.lastSeq()).toBe(1)
        expect(await store.getEvent(event.id)).toEqual(event)
        expect(await store.getMeta('kept')).toBe('yes')
        // Still writable after the second migrate, gap-free.
        expect((await store.createEvent(payload(2), T0)).change.seq).toBe(2)
      })

      it('starts empty and healthy', async () => {
        expect(store.health()).toEqual({ ok: true })
        expect(await store.lastSeq()).toBe(0)
        expect(await store.countEvents()).toBe(0)
        expect(await store.listChanges(0, 10)).toEqual([])
        expect(await store.listEvents({ limit: 10 })).toEqual([])
        expect(await store.openEvents(0)).toEqual([])
        expect(await store.getEvent('no-such-event')).toBeNull()
        expect(await store.reportPayload('no-such-event')).toBeNull()
        expect(await store.timeline('no-such-event')).toEqual([])
        expect((await store.eventsByIds(['no-such-event'])).size).toBe(0)
        expect(await store.reportCountsSince(0)).toEqual(new Map())
        expect(await store.revokedTokens(0)).toEqual([])
        expect(await store.issuedTokens(0)).toEqual([])
        expect(await store.getMeta('anything')).toBeNull()
        expect((await store.openRuns(['W1'])).size).toBe(0)
        const snap = await store.kpiSnapshot('430602', T0, T0 + HOUR, DAY, 0)
        expect(snap).toEqual({
          seq: 0,
          events: [],
          roundsByGrid: new Map(),
          onlineByGrid: new Map(),
          positions: [],
        })
        const act0 = await store.activitySnapshot('430602', DAY, { start: T0, end: T0 + HOUR })
        expect(act0).toEqual({ seq: 0, reportedToday: [], reportedAt: [], handledAt: [], closedAt: [] })
      })
    })

    describe('createEvent', () => {
      it('appends a report change with the next seq when an event is created', async () => {
        const a = await store.createEvent(payload(1), T0)
        const b = await store.createEvent(
          payload(2, { reporter: { name: '李四', phone: '13900000000' } }),
          T0 + 1,
        )
        expect(a.created).toBe(true)
        expect(typeof a.event.id).toBe('string')
        expect(a.event.id.length).toBeGreaterThan(0)
        expect(b.event.id).not.toBe(a.event.id)
        expect(a.change).toEqual({
          seq: 1,
          at: T0,
          eventId: a.event.id,
          gridCode: GRID,
          action: 'report',
          status: 'reported',
          actor: null,
        })
        expect(b.change).toMatchObject({ seq: 2, at: T0 + 1, eventId: b.event.id, action: 'report' })
        expect(a.event).toMatchObject({ seq: 1, status: 'reported', reportedAt: T0, updatedAt: T0 })
        expect(await store.getEvent(b.event.id)).toEqual(b.event)
        expect(await store.listChanges(0, 10)).toEqual([a.change, b.change])
        expect(await store.timeline(a.event.id)).toEqual([a.change])
        expect(await store.lastSeq()).toBe(2)
        expect(await store.countEvents()).toBe(2)
      })

      it('round-trips every field of a report through getEvent, eventsByIds and reportPayload', async () => {
        const full: ReportPayload = {
          category: 'SG0301',
          description: '楼道堆放杂物，消防通道堵塞 — “紧急” ✓',
          lat: 29.371234567891,
          lng: 113.129876543219,
          gridCode: GRID_B,
          source: 'hotline',
          reporter: { name: '李四', phone: '13900000000' },
        }
        const bare: ReportPayload = payload(2, { source: 'video', lat: -0.5, lng: 0 })
        const named: ReportPayload = payload(3, { reporter: { name: '匿名' }, source: 'open311' })
        const made = []
        for (const [i, p] of [full, bare, named].entries()) {
          const r = await store.createEvent(p, T0 + i * MIN)
          expect(r.event).toEqual(initialState(r.change, p, r.event.id))
          made.push({ p, ...r })
        }
        for (const { p, event } of made) {
          expect(await store.getEvent(event.id)).toEqual(event)
          expect(await store.reportPayload(event.id)).toEqual(p)
        }
        const [a, b, c] = made.map((m) => m.event)
        const got = await store.eventsByIds([c!.id, a!.id, a!.id, 'no-such-event'])
        expect([...got.keys()].sort()).toEqual([a!.id, c!.id].sort())
        expect(got.get(a!.id)).toEqual(a)
        expect(got.get(c!.id)).toEqual(c)
        expect(got.has(b!.id)).toBe(false)
        expect((await store.eventsByIds([])).size).toBe(0)
        // The report's payload stays what was reported, whatever happens to the event since.
        await drive(a!.id, T0 + HOUR, ['accept', 'file', 'dispatch'])
        expect(await store.reportPayload(a!.id)).toEqual(full)
        expect((await store.getEvent(a!.id))!.department).toBe('环卫处')
      })

      it('gives every event a unique non-empty id and gap-free seqs, even when reports race', async () => {
        const n = 25
        const results = await Promise.all(seqs(n).map((i) => store.createEvent(payload(i), T0 + i)))
        const idSet = new Set(results.map((r) => r.event.id))
        expect(idSet.size).toBe(n)
        for (const id of idSet) expect(typeof id === 'string' && id.length > 0).toBe(true)
        expect(sortNum(results.map((r) => r.change.seq))).toEqual(seqs(n))
        for (const r of results) expect(r.event.seq).toBe(r.change.seq)
        const log = await store.listChanges(0, 1000)
        expect(log.map((c) => c.seq)).toEqual(seqs(n))
        for (const r of results) expect(log[r.change.seq - 1]).toEqual(r.change)
        expect(await store.countEvents()).toBe(n)
        expect(await store.lastSeq()).toBe(n)
      })

      it('records the actor of a report and of each action in the log and the timeline; none is null', async () => {
        const officer: Actor = { kind: 'token', id: 'jti-officer-1', role: 'officer' }
        const sim: Actor = { kind: 'system', id: 'simulator', source: 'hotline' }
        const plain: Actor = { kind: 'system', id: 'importer' }
        const a = await store.createEvent(payload(1), T0, undefined, sim)
        expect(a.change.actor).toEqual(sim)
        const r = await act(store, a.event.id, T0 + HOUR, 'accept', {}, officer)
        expect(r.ok && r.change.actor).toEqual(officer)
        const none = await act(store, a.event.id, T0 + 2 * HOUR, 'file')
        expect(none.ok && none.change.actor).toBeNull()
        const b = await store.createEvent(payload(2), T0, 'key', plain)
        expect(b.change.actor).toEqual(plain)
        expect((await store.listChanges(0, 10)).map((c) => c.actor)).toEqual([sim, officer, null, plain])
        expect((await store.timeline(a.event.id)).map((c) => c.actor)).toEqual([sim, officer, null])
      })
    })

    describe('mutateEvent', () => {
      it('appends a change with the next seq for every accepted decision, stamping the event with it', async () => {
        const { event } = await store.createEvent(payload(1), T0)
        await store.createEvent(payload(2), T0)
        const r = await act(store, event.id, T0 + HOUR, 'accept')
        expect(r.ok).toBe(true)
        if (!r.ok) return
        expect(r.change).toMatchObject({
          seq: 3,
          eventId: event.id,
          gridCode: GRID,
          action: 'accept',
          status: 'accepted',
          at: T0 + HOUR,
        })
        expect(r.previous).toEqual(event)
        expect(r.event).toMatchObject({ seq: 3, status: 'accepted', updatedAt: T0 + HOUR })
        expect(r.event).toEqual(applyChange(event, r.change))
        expect(await store.getEvent(event.id)).toEqual(r.event)
        await act(store, event.id, T0 + 2 * HOUR, 'file')
        const d = await act(store, event.id, T0 + 3 * HOUR, 'dispatch', { department: '环卫处' })
        expect(d.ok && d.change.data).toEqual({ department: '环卫处', deadline: T0 + 7 * HOUR })
        expect(await store.getEvent(event.id)).toMatchObject({
          seq: 5,
          status: 'dispatched',
          department: '环卫处',
          firstDispatchedAt: T0 + 3 * HOUR,
          dispatchedAt: T0 + 3 * HOUR,
          deadline: T0 + 7 * HOUR,
        })
        expect((await store.timeline(event.id)).map((c) => c.seq)).toEqual([1, 3, 4, 5])
        expect((await store.listChanges(0, 10)).map((c) => c.seq)).toEqual([1, 2, 3, 4, 5])
        expect(await store.lastSeq()).toBe(5)
        expect(await store.countEvents()).toBe(2)
      })

      it('appends nothing and changes nothing when the decision refuses, the event is unknown or decide throws', async () => {
        const { event } = await store.createEvent(payload(1), T0)
        const refused = await act(store, event.id, T0 + HOUR, 'handle')
        expect(refused).toMatchObject({ ok: false, refusal: { code: 'invalid_transition' } })
        let decided = false
        expect(
          await store.mutateEvent('no-such-event', T0, () => {
            decided = true
            return { ok: true, action: 'accept', status: 'accepted' }
          }),
        ).toEqual({ ok: false, notFound: true })
        expect(decided, 'decide was called for an unknown event').toBe(false)
        await expect(
          store.mutateEvent(event.id, T0 + HOUR, () => {
            throw new Error('decide failed')
          }),
        ).rejects.toThrow('decide failed')
        expect(await store.lastSeq()).toBe(1)
        expect(await store.listChanges(0, 10)).toHaveLength(1)
        expect(await store.getEvent(event.id)).toEqual(event)
        expect(await store.timeline(event.id)).toHaveLength(1)
        // The store is still usable, and the next seq follows without a gap.
        const ok = await act(store, event.id, T0 + HOUR, 'accept')
        expect(ok.ok && ok.change.seq).toBe(2)
        expect(store.health()).toEqual({ ok: true })
      })

      it('gives decide the current state and the requested time, or the last change’s if later, and dates the change with it', async () => {
        const { event } = await store.createEvent(payload(1), T0)
        const seen: Array<{ at: number; current: GridEvent }> = []
        const step = (at: number, action: 'accept' | 'file' | 'cancel', status: GridEvent['status']) =>
          store.mutateEvent(event.id, at, (current, at) => {
            seen.push({ current, at })
            return { ok: true, action, status }
          })
        // Before the report: dated at the report.
        const a = await step(T0 - HOUR, 'accept', 'accepted')
        expect(seen[0]).toEqual({ current: event, at: T0 })
        expect(a.ok && a.change.at).toBe(T0)
        expect(a.ok && a.event.updatedAt).toBe(T0)
        // Later than the last change: its own time.
        const b = await step(T0 + 2 * HOUR, 'file', 'filed')
        expect(seen[1]!.at).toBe(T0 + 2 * HOUR)
        expect(seen[1]!.current).toEqual(a.ok && a.event)
        expect(b.ok && b.change.at).toBe(T0 + 2 * HOUR)
        // Earlier than the last change: the last change's time.
        const c = await step(T0 + HOUR, 'cancel', 'cancelled')
        expect(seen[2]!.at).toBe(T0 + 2 * HOUR)
        expect(c.ok && c.change.at).toBe(T0 + 2 * HOUR)
        expect(c.ok && c.event.cancelledAt).toBe(T0 + 2 * HOUR)
        // A refusal is given the same time.
        await store.mutateEvent(event.id, T0, (current, at) => {
          seen.push({ current, at })
          return { ok: false, refusal: 'no' }
        })
        expect(seen[3]!.at).toBe(T0 + 2 * HOUR)
        expect(seen[3]!.current.status).toBe('cancelled')
        expect((await store.timeline(event.id)).map((ch) => ch.at)).toEqual([
          T0,
          T0,
          T0 + 2 * HOUR,
          T0 + 2 * HOUR,
        ])
      })

      it('stores the decision’s data on the change, and none when it is empty', async () => {
        const { event } = await store.createEvent(payload(1), T0)
        const a = await act(store, event.id, T0 + 1, 'accept', {})
        expect(a.ok && a.change.data).toBeUndefined()
        await act(store, event.id, T0 + 2, 'file')
        const d = await act(store, event.id, T0 + 3, 'dispatch', { department: '城管执法', note: '加急' })
        expect(d.ok && d.change.data).toEqual({
          department: '城管执法',
          note: '加急',
          deadline: T0 + 3 + 4 * HOUR,
        })
        const tl = await store.timeline(event.id)
        expect(tl[1]!.data).toBeUndefined()
        expect(tl[3]!.data).toEqual({ department: '城管执法', note: '加急', deadline: T0 + 3 + 4 * HOUR })
        expect((await store.listChanges(3, 1))[0]).toEqual(tl[3])
      })

      it('keeps a late handling late across a rework', async () => {
        const { event } = await store.createEvent(payload(1), T0)
        await act(store, event.id, T0 + 1, 'accept')
        await act(store, event.id, T0 + 2, 'file')
        await act(store, event.id, T0 + 3, 'dispatch', { department: '环卫处' })
        await act(store, event.id, T0 + 5 * HOUR, 'handle')
        await act(store, event.id, T0 + 5 * HOUR + 1, 'verify', { passed: false })
        const r = await act(store, event.id, T0 + 6 * HOUR, 'handle')
        expect(r.ok && r.event).toMatchObject({ status: 'handled', lateHandled: true, reworkCount: 1 })
        expect(await store.getEvent(event.id)).toMatchObject({ status: 'handled', lateHandled: true })
        expect((await store.eventsByIds([event.id])).get(event.id)).toMatchObject({ lateHandled: true })
        // And an on-time handling is not late.
        const other = await store.createEvent(payload(2), T0)
        const h = await drive(other.event.id, T0 + 1, ['accept', 'file', 'dispatch', 'handle'])
        expect(h.lateHandled).toBe(false)
        expect((await store.getEvent(other.event.id))!.lateHandled).toBe(false)
      })

      it('serialises concurrent mutations of one event: each decide sees the committed state', async () => {
        const { event } = await store.createEvent(payload(1), T0)
        const results = await Promise.all(seqs(8).map((i) => act(store, event.id, T0 + i, 'accept')))
        expect(results.filter((r) => r.ok)).toHaveLength(1)
        for (const r of results.filter((r) => !r.ok))
          expect(r).toMatchObject({ ok: false, refusal: { code: 'invalid_transition' } })
        expect(await store.lastSeq()).toBe(2)
        expect(await store.timeline(event.id)).toHaveLength(2)
        // Concurrent mutations of different events all go through, gap-free.
        const more = await Promise.all(seqs(6).map((i) => store.createEvent(payload(i), T0)))
        const acts = await Promise.all(more.map((m, i) => act(store, m.event.id, T0 + i, 'accept')))
        expect(acts.every((r) => r.ok)).toBe(true)
        expect((await store.listChanges(0, 100)).map((c) => c.seq)).toEqual(seqs(14))
      })

      it('keeps the events table equal to a fold of the change log', async () => {
        const rng = mulberry32(7)
        const eventIds: string[] = []
        for (let i = 0; i < 40; i++) {
          const r = await store.createEvent(
            payload(
              i,
              i % 3 === 0 ? { reporter: { name: '王五', phone: '13700000000' }, source: 'hotline' } : {},
            ),
            T0 + i * MIN,
          )
          eventIds.push(r.event.id)
        }
        let at = T0 + HOUR
        for (let step = 0; step < 600; step++) {
          const id = eventIds[rng.int(eventIds.length)]!
          const current = (await store.getEvent(id))!
          const possible = EVENT_ACTIONS.filter((a) => LIFECYCLE[a][current.status] !== undefined)
          if (possible.length === 0) continue
          const action = rng.pick(possible)
          const data = action === 'verify' ? { passed: rng.next() < 0.7 } : DATA[action]
          at += rng.int(4) * MIN + 1
          const r = await act(store, id, at, action, data)
          // evaluate is refused a second time, extend past the deadline, return past its window or
          // the deadline; anything else the table allows goes through
          if (!r.ok) {
            const late =
              (current.deadline !== null && at > current.deadline) ||
              (action === 'return' && at > current.dispatchedAt! + 2 * HOUR)
            expect(
              action === 'evaluate' || ((action === 'extend' || action === 'return') && late),
              action,
            ).toBe(true)
          }
        }

        const log = await store.listChanges(0, 100_000)
        expect(log.map((c) => c.seq)).toEqual(seqs(log.length))
        expect(await store.lastSeq()).toBe(log.length)
        const seen = new Set(log.map((c) => c.action))
        for (const a of ['report', ...EVENT_ACTIONS]) expect(seen.has(a as never), a).toBe(true)

        const all = await store.eventsByIds(eventIds)
        for (const id of eventIds) {
          const stored = (await store.getEvent(id))!
          expect(all.get(id)).toEqual(stored)
          const [first, ...rest] = await store.timeline(id)
          expect(first).toMatchObject({ action: 'report', eventId: id })
          // The log alone rebuilds the event: the report's payload and the changes after it.
          const p = (await store.reportPayload(id))!
          const folded = rest.reduce<GridEvent>((e, ch) => applyChange(e, ch), initialState(first!, p, id))
          expect(folded, id).toEqual(stored)
          expect(log.filter((c) => c.eventId === id)).toEqual([first, ...rest])
        }
      })
    })

    describe('idempotency keys', () => {
      it('returns the first event and its report change for a repeated key, appending nothing', async () => {
        const created = await store.createEvent(payload(1), T0, 'k-1')
        expect(created.created).toBe(true)
        const repeated = await store.createEvent(payload(1), T0 + HOUR, 'k-1')
        expect(repeated.created).toBe(false)
        expect(repeated.event).toEqual(created.event)
        expect(repeated.change).toEqual(created.change)
        expect(await store.lastSeq()).toBe(1)
        await expect(store.createEvent(payload(99), T0 + HOUR, 'k-1')).rejects.toBeInstanceOf(
          IdempotencyConflict,
        )
        expect(await store.lastSeq()).toBe(1)
        await act(store, created.event.id, T0 + HOUR, 'accept')
        // The event as it is now, with its report change.
        const afterAct = await store.createEvent(payload(1), T0, 'k-1')
        expect(afterAct.created).toBe(false)
        expect(afterAct.event.status).toBe('accepted')
        expect(afterAct.event).toEqual(await store.getEvent(created.event.id))
        expect(afterAct.change).toEqual(created.change)
        expect((await store.createEvent(payload(1), T0, 'k-2')).created).toBe(true)
        expect((await store.createEvent(payload(1), T0)).created).toBe(true)
        expect((await store.createEvent(payload(1), T0)).created).toBe(true)
        expect(await store.countEvents()).toBe(4)
        expect(await store.lastSeq()).toBe(5)
      })

      it('a repeated key returns the first report change with its actor', async () => {
        const officer: Actor = { kind: 'token', id: 'jti-officer-1', role: 'officer' }
        const sim: Actor = { kind: 'system', id: 'simulator', source: 'hotline' }
        await store.createEvent(payload(1), T0, 'k', officer)
        const again = await store.createEvent(payload(1), T0, 'k', sim)
        expect(again.created).toBe(false)
        expect(again.change.actor).toEqual(officer)
        expect((await store.listChanges(0, 10)).map((c) => c.actor)).toEqual([officer])
      })

      it('throws IdempotencyConflict naming the key for another payload, writing nothing', async () => {
        const first = await store.createEvent(payload(1), T0, 'key-A')
        for (const other of [
          payload(2),
          payload(1, { gridCode: GRID_B }),
          payload(1, { reporter: { name: '李四' } }),
          payload(1, { lat: 29.3700001 }),
        ]) {
          const err = await store.createEvent(other, T0, 'key-A').then(
            () => null,
            (e: unknown) => e,
          )
          expect(err).toBeInstanceOf(IdempotencyConflict)
          expect((err as IdempotencyConflict).key).toBe('key-A')
        }
        expect(await store.lastSeq()).toBe(1)
        expect(await store.countEvents()).toBe(1)
        expect(await store.getEvent(first.event.id)).toEqual(first.event)
        // The key still stands for the first event.
        expect((await store.createEvent(payload(1), T0, 'key-A')).event.id).toBe(first.event.id)
      })

      it('a key repeated concurrently creates one event', async () => {
        const results = await Promise.all(seqs(6).map(() => store.createEvent(payload(1), T0, 'race')))
        expect(results.filter((r) => r.created)).toHaveLength(1)
        expect(new Set(results.map((r) => r.event.id)).size).toBe(1)
        expect(await store.countEvents()).toBe(1)
        expect(await store.lastSeq()).toBe(1)
      })

      it('pruneIdempotencyKeys keeps the keys still within their TTL', async () => {
        const a = await store.createEvent(payload(1), T0, 'fresh-1')
        await store.createEvent(payload(2), T0, 'fresh-2')
        expect(await store.pruneIdempotencyKeys()).toBe(0)
        const again = await store.createEvent(payload(1), T0, 'fresh-1')
        expect(again.created).toBe(false)
        expect(again.event.id).toBe(a.event.id)
        expect(await store.countEvents()).toBe(2)
      })
    })

    describe('batches', () => {
      it('rolls back every write of a batch that throws, and the store stays usable', async () => {
        await store.upsertWorkers([worker('W1', GRID)])
        const zero = await store.createEvent(payload(0), T0)
        await store.setMeta('kept', 'before')
        await expect(
          store.batch(async () => {
            const a = await store.createEvent(payload(1), T0, 'key-in-failed-batch')
            await act(store, a.event.id, T0 + 1, 'accept')
            await act(store, zero.event.id, T0 + 1, 'accept')
            await store.setMeta('sim.until', String(T0))
            await store.setMeta('kept', 'overwritten')
            await store.insertPositions([{ workerId: 'W1', lat: 29.37, lng: 113.13, at: T0 }], 0)
            await store.insertRounds([
              { workerId: 'W1', gridCode: GRID, startedAt: T0, endedAt: T0 + 20 * MIN, pings: 21 },
            ])
            await store.saveRuns(
              [{ workerId: 'W1', gridCode: GRID, startedAt: T0, lastAt: T0, pings: 1 }],
              [],
            )
            await store.revokeToken('jti-in-failed-batch', T0 + DAY_MS)
            await store.recordIssuedToken({
              jti: 'jti-in-failed-batch',
              role: 'officer',
              region: null,
              aud: 'api',
              actions: null,
              issuedAt: T0,
              expiresAt: T0 + DAY_MS,
            })
            expect(await store.lastSeq()).toBe(4) // visible inside the batch
            expect(await store.countEvents()).toBe(2)
            throw new Error('boom')
          }),
        ).rejects.toThrow('boom')
        expect(await store.lastSeq()).toBe(1)
        expect(await store.listChanges(0, 10)).toEqual([zero.change])
        expect(await store.countEvents()).toBe(1)
        expect(await store.getEvent(zero.event.id)).toEqual(zero.event)
        expect(await store.getMeta('sim.until')).toBeNull()
        expect(await store.getMeta('kept')).toBe('before')
        expect((await lastPings()).has('W1')).toBe(false)
        expect(await store.prunePositions(Number.MAX_SAFE_INTEGER)).toBe(0)
        const snap = await store.kpiSnapshot(REGION, T0, T0 + HOUR, DAY, 0)
        expect(snap.roundsByGrid.size).toBe(0)
        expect((await store.openRuns(['W1'])).size).toBe(0)
        expect(await store.revokedTokens(T0)).toEqual([])
        expect(await store.issuedToken('jti-in-failed-batch')).toBeNull()
        // The idempotency key of the rolled-back report is free again.
        const again = await store.createEvent(payload(1), T0, 'key-in-failed-batch')
        expect(again.created).toBe(true)
        expect(again.change.seq).toBe(2)
        // And a later batch commits.
        await store.batch(async () => {
          await act(store, again.event.id, T0 + 1, 'accept')
        })
        expect(await store.lastSeq()).toBe(3)
        expect(store.health()).toEqual({ ok: true })
      })

      it('commits a batch as a whole and returns its result', async () => {
        await store.upsertWorkers([worker('W1', GRID)])
        const result = await store.batch(async () => {
          const a = await store.createEvent(payload(1), T0)
          const b = await store.createEvent(payload(2), T0 + 1)
          await act(store, a.event.id, T0 + 2, 'accept')
          await store.setMeta('m', 'v')
          await store.insertPositions([{ workerId: 'W1', lat: 29.5, lng: 113.5, at: T0 }], 0)
          // Reads inside the batch see its own writes.
          expect(await store.getEvent(a.event.id)).toMatchObject({ status: 'accepted' })
          expect(await store.getMeta('m')).toBe('v')
          return [a.event.id, b.event.id]
        })
        expect(result).toHaveLength(2)
        expect(await store.lastSeq()).toBe(3)
        expect((await store.listChanges(0, 10)).map((c) => c.seq)).toEqual([1, 2, 3])
        expect(await store.getEvent(result[0]!)).toMatchObject({ status: 'accepted', seq: 3 })
        expect(await store.getMeta('m')).toBe('v')
        expect((await lastPings()).get('W1')).toEqual({ lat: 29.5, lng: 113.5, at: T0 })
      })

      it('runs afterCommit at once outside a batch, and inside one only after it commits; never on rollback', async () => {
        const heard: string[] = []
        store.afterCommit(() => heard.push('outside'))
        expect(heard).toEqual(['outside'])
        const done = store.batch(async () => {
          store.afterCommit(() => heard.push('a'))
          await store.createEvent(payload(1), T0)
          store.afterCommit(() => heard.push('b'))
          await store.createEvent(payload(2), T0)
          expect(heard).toEqual(['outside'])
          return 'ok'
        })
        expect(heard).toEqual(['outside'])
        expect(await done).toBe('ok')
        expect([...heard].sort()).toEqual(['a', 'b', 'outside'])
        await expect(
          store.batch(async () => {
            store.afterCommit(() => heard.push('rolled back'))
            await store.createEvent(payload(3), T0)
            throw new Error('boom')
          }),
        ).rejects.toThrow('boom')
        await sleep(20)
        expect(heard).not.toContain('rolled back')
        // A callback of a rolled-back batch does not leak into the next one.
        await store.batch(async () => {
          await store.createEvent(payload(4), T0)
        })
        expect(heard).not.toContain('rolled back')
        expect(heard).toHaveLength(3)
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
        await sleep(20)
        expect(heard).toEqual(['joined', 'first'])
        // Nothing of them is heard again by a later batch, committed or rolled back.
        await store.batch(async () => {
          await store.createEvent(payload(1), T0)
        })
        await expect(
          store.batch(async () => {
            throw new Error('again')
          }),
        ).rejects.toThrow('again')
        expect(heard).toEqual(['joined', 'first'])
      })

      it('a nested batch joins the outer one: it commits or rolls back with it, its afterCommit waits for the outer commit', async () => {
        const heard: string[] = []
        await store.batch(async () => {
          const inner = await store.batch(async () => {
            await store.createEvent(payload(1), T0)
            store.afterCommit(() => heard.push('inner'))
            return 'inner result'
          })
          expect(inner).toBe('inner result')
          expect(heard).toEqual([])
          await store.createEvent(payload(2), T0)
        })
        expect(heard).toEqual(['inner'])
        expect(await store.lastSeq()).toBe(2)
        await expect(
          store.batch(async () => {
            await store.batch(async () => {
              await store.createEvent(payload(3), T0)
              store.afterCommit(() => heard.push('inner of rolled back'))
            })
            expect(await store.lastSeq()).toBe(3)
            throw new Error('outer fails')
          }),
        ).rejects.toThrow('outer fails')
        await sleep(20)
        expect(heard).toEqual(['inner'])
        expect(await store.lastSeq()).toBe(2)
        expect(await store.countEvents()).toBe(2)
      })

      it('runs sequential batches one after the other, gap-free', async () => {
        const made: string[][] = []
        for (let b = 0; b < 3; b++)
          made.push(
            await store.batch(async () => {
              const x = await store.createEvent(payload(b * 2), T0)
              const y = await store.createEvent(payload(b * 2 + 1), T0)
              return [x.event.id, y.event.id]
            }),
          )
        const log = await store.listChanges(0, 100)
        expect(log.map((c) => c.seq)).toEqual(seqs(6))
        expect(log.map((c) => c.eventId)).toEqual(made.flat())
        expect(new Set(made.flat()).size).toBe(6)
      })

      it('runs concurrent batches one at a time: the log holds each batch’s changes together', async () => {
        const one = (tag: number) =>
          store.batch(async () => {
            const out: string[] = []
            for (let i = 0; i < 3; i++) {
              out.push((await store.createEvent(payload(tag * 10 + i), T0)).event.id)
              await sleep(1)
            }
            return out
          })
        const [a, b] = await Promise.all([one(1), one(2)])
        const log = (await store.listChanges(0, 100)).map((c) => c.eventId)
        expect((await store.listChanges(0, 100)).map((c) => c.seq)).toEqual(seqs(6))
        const firstA = log.indexOf(a![0]!)
        const firstB = log.indexOf(b![0]!)
        expect(firstA === 0 || firstB === 0).toBe(true)
        expect(log).toEqual(firstA === 0 ? [...a!, ...b!] : [...b!, ...a!])
      })

      it('commits a batch as a whole, and a write from outside waits for it and takes the next seq', async () => {
        let release!: () => void
        const gate = new Promise<void>((r) => (release = r))
        const inBatch: string[] = []
        const batch = store.batch(async () => {
          inBatch.push((await store.createEvent(payload(1), T0)).event.id)
          await gate
          inBatch.push((await store.createEvent(payload(2), T0)).event.id)
          return 'done'
        })
        await new Promise((r) => setImmediate(r))
        const outside = store.createEvent(payload(3), T0)
        release()
        expect(await batch).toBe('done')
        const o = await outside
        expect(o.change.seq).toBe(3)
        expect((await store.listChanges(0, 10)).map((c) => [c.seq, c.eventId])).toEqual([
          [1, inBatch[0]],
          [2, inBatch[1]],
          [3, o.event.id],
        ])
      })

      it('a write from outside a batch that rolls back is not rolled back with it', async () => {
        let release!: () => void
        const gate = new Promise<void>((r) => (release = r))
        const batch = store.batch(async () => {
          await store.createEvent(payload(1), T0)
          await gate
          throw new Error('batch fails')
        })
        await new Promise((r) => setImmediate(r))
        const outside = store.createEvent(payload(2), T0)
        release()
        await expect(batch).rejects.toThrow('batch fails')
        const o = await outside
        expect(o.change.seq).toBe(1)
        expect(await store.getEvent(o.event.id)).toEqual(o.event)
        expect(await store.listChanges(0, 10)).toEqual([o.change])
      })

      it('does not let a timer armed inside a finished batch write into the next batch', async () => {
        // A write from a callback created inside a batch, made while a later batch is open, must
        // still wait for that batch instead of joining it: otherwise it is acknowledged and then
        // rolled back with a batch it never was part of.
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

    describe('the change log', () => {
      it('pages gap-free with listChanges(after, limit), up to lastSeq', async () => {
        const made: Change[] = []
        for (let i = 0; i < 6; i++) {
          const r = await store.createEvent(payload(i), T0 + i)
          made.push(r.change)
          if (i % 2 === 0) {
            const a = await act(store, r.event.id, T0 + i + 1, 'accept')
            if (a.ok) made.push(a.change)
          }
        }
        const n = made.length
        expect(n).toBe(9)
        expect(await store.lastSeq()).toBe(n)
        expect(await store.listChanges(0, 1000)).toEqual(made)
        const paged: Change[] = []
        let after = 0
        for (;;) {
          const page = await store.listChanges(after, 4)
          expect(page.length).toBeLessThanOrEqual(4)
          if (page.length === 0) break
          expect(page[0]!.seq).toBe(after + 1)
          paged.push(...page)
          after = page.at(-1)!.seq
        }
        expect(paged).toEqual(made)
        expect((await store.listChanges(3, 2)).map((c) => c.seq)).toEqual([4, 5])
        expect(await store.listChanges(n, 10)).toEqual([])
        expect(await store.listChanges(n + 5, 10)).toEqual([])
        expect((await store.listChanges(n - 1, 10)).map((c) => c.seq)).toEqual([n])
        expect(await store.countEvents()).toBe(6)
      })

      it('timeline lists one event’s changes in seq order', async () => {
        const a = await store.createEvent(payload(1), T0)
        const b = await store.createEvent(payload(2), T0)
        await act(store, b.event.id, T0 + 1, 'accept')
        await act(store, a.event.id, T0 + 2, 'self_handle')
        await act(store, b.event.id, T0 + 3, 'cancel', DATA.cancel)
        const tl = await store.timeline(b.event.id)
        expect(tl.map((c) => [c.seq, c.action, c.status])).toEqual([
          [2, 'report', 'reported'],
          [3, 'accept', 'accepted'],
          [5, 'cancel', 'cancelled'],
        ])
        expect(tl.every((c) => c.eventId === b.event.id && c.gridCode === GRID)).toBe(true)
        expect(tl[2]!.data).toEqual({ note: '重复' })
        expect((await store.timeline(a.event.id)).map((c) => c.action)).toEqual(['report', 'self_handle'])
      })
    })

    describe('listEvents', () => {
      it('pages newest first by (reportedAt, id), ties included, with a keyset cursor', async () => {
        const made: GridEvent[] = []
        for (let i = 0; i < 7; i++)
          made.push((await store.createEvent(payload(i), T0 + (i < 5 ? 0 : HOUR))).event)
        const expected = [...made].sort(newestFirst).map((e) => e.id)
        expect(expected).toHaveLength(7)
        expect((await store.listEvents({ limit: 100 })).map((e) => e.id)).toEqual(expected)
        expect((await store.listEvents({ region: REGION, limit: 100 })).map((e) => e.id)).toEqual(expected)
        const seen: string[] = []
        let before: { reportedAt: number; id: string } | undefined
        for (;;) {
          const page = await store.listEvents({
            region: '430602001',
            limit: 2,
            ...(before ? { before } : {}),
          })
          expect(page.length).toBeLessThanOrEqual(2)
          if (page.length === 0) break
          seen.push(...page.map((e) => e.id))
          const last = page.at(-1)!
          before = { reportedAt: last.reportedAt, id: last.id }
        }
        expect(seen).toEqual(expected)
        // A cursor inside the tie: strictly older (same time, smaller id, or earlier).
        const mid = made.find((e) => e.id === expected[3])!
        expect(
          (await store.listEvents({ limit: 100, before: { reportedAt: mid.reportedAt, id: mid.id } })).map(
            (e) => e.id,
          ),
        ).toEqual(expected.slice(4))
        // A cursor at a later time than all: everything; at the earliest time and id: nothing.
        expect(
          (await store.listEvents({ limit: 100, before: { reportedAt: T0 + 2 * HOUR, id: '' } })).map(
            (e) => e.id,
          ),
        ).toEqual(expected)
        const oldest = made.find((e) => e.id === expected[6])!
        expect(
          await store.listEvents({ limit: 100, before: { reportedAt: oldest.reportedAt, id: oldest.id } }),
        ).toEqual([])
        expect(await store.listEvents({ region: '430602002', limit: 10 })).toEqual([])
        // Events come back whole.
        const listed = await store.listEvents({ limit: 100 })
        for (const e of listed) expect(e).toEqual(made.find((m) => m.id === e.id))
      })

      it('filters by sources and by overdue at an instant (dispatched, past its deadline), with the region', async () => {
        const patrol = (await store.createEvent(payload(0), T0)).event
        const hotline = (await store.createEvent(payload(1, { source: 'hotline' }), T0 + MIN)).event
        // Dispatched at T0 + 2 min with a deadline 4 h later (act above).
        await drive(hotline.id, T0 + 2 * MIN, ['accept', 'file', 'dispatch'])
        const handled = (await store.createEvent(payload(2, { source: 'hotline', gridCode: GRID_B }), T0))
          .event
        await drive(handled.id, T0 + MIN, ['accept', 'file', 'dispatch', 'handle'])
        const q = async (query: Partial<Parameters<Store['listEvents']>[0]>) =>
          (await store.listEvents({ limit: 100, ...query })).map((e) => e.id).sort()
        expect(await q({ sources: ['hotline'] })).toEqual([hotline.id, handled.id].sort())
        expect(await q({ sources: ['patrol', 'video'] })).toEqual([patrol.id])
        expect(await q({ sources: ['video'] })).toEqual([])
        // Before the deadline nothing is overdue; after it, the dispatched one only (not the handled).
        expect(await q({ overdueAt: T0 + 4 * HOUR })).toEqual([])
        expect(await q({ overdueAt: T0 + 5 * HOUR })).toEqual([hotline.id])
        expect(await q({ overdueAt: T0 + 5 * HOUR, region: '430602002' })).toEqual([])
        expect(await q({ overdueAt: T0 + 5 * HOUR, sources: ['patrol'] })).toEqual([])
      })

      it('firstReportedAt tells where the data reaches: the earliest report, null for none', async () => {
        expect(await store.firstReportedAt()).toBeNull()
        await store.createEvent(payload(0), T0 + HOUR)
        await store.createEvent(payload(1), T0 - DAY_MS)
        await store.createEvent(payload(2), T0)
        expect(await store.firstReportedAt()).toBe(T0 - DAY_MS)
      })

      it('filters by statuses, categories and [from, to), combined with the region and the cursor', async () => {
        const mk = async (at: number, extra: Partial<ReportPayload>, actions: EventAction[] = []) => {
          const { event } = await store.createEvent(payload(0, extra), at)
          return actions.length ? drive(event.id, at + 1, actions) : event
        }
        const e1 = await mk(T0 - 1, { category: 'CG0101' })
        const e2 = await mk(T0, { category: 'CG0101' }, ['accept'])
        const e3 = await mk(T0 + HOUR, { category: 'CG0202' }, ['self_handle'])
        const e4 = await mk(T0 + 2 * HOUR, { category: 'CG0202', gridCode: GRID_B }, ['cancel'])
        const e5 = await mk(T0 + 3 * HOUR, { category: 'CG0303', gridCode: GRID_OUT })
        const e6 = await mk(T0 + 3 * HOUR - 1, { category: 'CG0101' }, ['accept', 'file'])
        const q = async (query: Partial<Parameters<Store['listEvents']>[0]>) =>
          (await store.listEvents({ limit: 100, ...query })).map((e) => e.id)
        const order = (...es: GridEvent[]) => [...es].sort(newestFirst).map((e) => e.id)

        expect(await q({})).toEqual(order(e1, e2, e3, e4, e5, e6))
        expect(await q({ statuses: ['reported'] })).toEqual(order(e1, e5))
        expect(await q({ statuses: ['accepted', 'closed'] })).toEqual(order(e2, e3))
        expect(await q({ statuses: ['dispatched'] })).toEqual([])
        expect(await q({ categories: ['CG0202'] })).toEqual(order(e3, e4))
        expect(await q({ categories: ['CG0101', 'CG0303'] })).toEqual(order(e1, e2, e5, e6))
        expect(await q({ categories: ['NONE'] })).toEqual([])
        // from is inclusive, to exclusive.
        expect(await q({ from: T0 })).toEqual(order(e2, e3, e4, e5, e6))
        expect(await q({ to: T0 })).toEqual(order(e1))
        expect(await q({ from: T0, to: T0 + 3 * HOUR })).toEqual(order(e2, e3, e4, e6))
        expect(await q({ from: T0 + HOUR, to: T0 + HOUR + 1 })).toEqual(order(e3))
        expect(await q({ from: T0 + HOUR, to: T0 + HOUR })).toEqual([])
        // Combined.
        expect(await q({ region: REGION, from: T0, categories: ['CG0101', 'CG0202'] })).toEqual(
          order(e2, e3, e4, e6),
        )
        expect(await q({ region: '430602001001', statuses: ['reported', 'cancelled'] })).toEqual(order(e1))
        expect(await q({ region: REGION, statuses: ['reported', 'cancelled'] })).toEqual(order(e1, e4))
        expect(
          await q({ region: REGION, from: T0, before: { reportedAt: e6.reportedAt, id: e6.id }, limit: 2 }),
        ).toEqual(order(e4, e3))
        expect(await q({ limit: 1 })).toEqual(order(e5))
        expect(await q({ categories: [], statuses: [] })).toEqual(order(e1, e2, e3, e4, e5, e6))
      })

      it('filters by region prefix on 15-digit grid codes, for district, street, community and grid regions', async () => {
        const byCode = new Map<string, string>()
        for (const [i, code] of PREFIX_CODES.entries()) {
          const { event } = await store.createEvent(payload(i, { gridCode: code }), T0 + i * MIN)
          byCode.set(code, event.id)
        }
        for (const region of PREFIX_REGIONS) {
          const want = inRegion(PREFIX_CODES, region)
          const got = await store.listEvents({ region, limit: 1000 })
          expect(got.map((e) => e.gridCode).sort(), region).toEqual(want)
          expect(ids(got), region).toEqual(want.map((c) => byCode.get(c)!).sort())
          expect(
            got.map((e) => e.id),
            region,
          ).toEqual([...got].sort(newestFirst).map((e) => e.id))
        }
        // A region that is a strict prefix sees the sub-regions' events, paging through them.
        const street = inRegion(PREFIX_CODES, '430602001')
        expect(street.length).toBeGreaterThan(5)
        const paged: GridEvent[] = []
        let before: { reportedAt: number; id: string } | undefined
        for (;;) {
          const page = await store.listEvents({
            region: '430602001',
            limit: 3,
            ...(before ? { before } : {}),
          })
          if (page.length === 0) break
          paged.push(...page)
          before = { reportedAt: page.at(-1)!.reportedAt, id: page.at(-1)!.id }
        }
        expect(paged.map((e) => e.gridCode).sort()).toEqual(street)
      })
    })

    describe('region prefixes in the other reads', () => {
      it('kpiSnapshot, activitySnapshot and the online workers keep exactly the grids under the prefix', async () => {
        const codeOf = new Map<string, string>()
        await store.upsertWorkers(PREFIX_CODES.map((c, i) => worker(`W${i}`, c)))
        for (const [i, code] of PREFIX_CODES.entries()) {
          const { event } = await store.createEvent(payload(i, { gridCode: code }), T0 + i * MIN)
          codeOf.set(event.id, code)
          await store.insertRounds([
            { workerId: `W${i}`, gridCode: code, startedAt: T0 + i * MIN, endedAt: T0 + HOUR, pings: 60 },
          ])
        }
        await store.insertPositions(
          PREFIX_CODES.map((_, i) => ({ workerId: `W${i}`, lat: 29, lng: 113, at: T0 + HOUR })),
          0,
        )
        const window = { start: T0, end: T0 + DAY_MS / 2 }
        for (const region of PREFIX_REGIONS) {
          const want = inRegion(PREFIX_CODES, region)
          const now = await store.kpiSnapshot(region, T0, T0 + HOUR, DAY, T0)
          expect(now.events.map((e) => e.gridCode).sort(), `kpiSnapshot ${region}`).toEqual(want)
          expect([...now.roundsByGrid.keys()].sort(), `rounds ${region}`).toEqual(want)
          expect([...now.onlineByGrid.keys()].sort(), `online ${region}`).toEqual(want)
          expect(now.positions.map((p) => PREFIX_CODES[Number(p.workerId.slice(1))]).sort()).toEqual(want)
          const asOf = await store.kpiSnapshot(region, T0, T0 + HOUR, DAY, T0, T0 + 2 * HOUR)
          expect(asOf.events.map((e) => e.gridCode).sort(), `kpiSnapshot at ${region}`).toEqual(want)
          expect([...asOf.roundsByGrid.keys()].sort(), `rounds at ${region}`).toEqual(want)
          expect([...asOf.onlineByGrid.keys()].sort(), `online at ${region}`).toEqual(want)
          const activity = await store.activitySnapshot(region, DAY, window)
          expect(activity.reportedAt.length, `activity ${region}`).toBe(want.length)
          expect(activity.reportedToday.reduce((n, r) => n + r.count, 0)).toBe(want.length)
        }
        // As of a time with some events changed since: still only the region's.
        for (const [id, code] of codeOf)
          if (code.startsWith('430602001')) await act(store, id, T0 + 3 * HOUR, 'accept')
        const asOf = await store.kpiSnapshot('430602001', T0, T0 + HOUR, DAY, T0, T0 + 2 * HOUR)
        expect(asOf.events.map((e) => e.gridCode).sort()).toEqual(inRegion(PREFIX_CODES, '430602001'))
        expect(asOf.events.every((e) => e.status === 'reported')).toBe(true)
      })
    })

    describe('openEvents', () => {
      it('lists events not closed or cancelled, and those closed since closedSince and not yet evaluated', async () => {
        const mk = async (actions: EventAction[], at = T0 - DAY_MS) => {
          const { event } = await store.createEvent(payload(0), at)
          return actions.length ? drive(event.id, at + 1, actions) : event
        }
        const reported = await mk([])
        const accepted = await mk(['accept'])
        const filed = await mk(['accept', 'file'])
        const dispatched = await mk(['accept', 'file', 'dispatch'])
        const handled = await mk(['accept', 'file', 'dispatch', 'handle'])
        const closedLongAgo = await mk(['accept', 'file', 'dispatch', 'handle', 'verify'], T0 - 2 * DAY_MS)
        expect(closedLongAgo).toMatchObject({ status: 'closed', evaluatedAt: null })
        const cancelled = await mk(['cancel'])
        // closed at T0 + 1 min, T0 exactly, T0 − 1 ms (before closedSince); one evaluated
        const closedLater = (await store.createEvent(payload(1), T0)).event
        await act(store, closedLater.id, T0 + MIN, 'self_handle')
        const closedAtEdge = (await store.createEvent(payload(2), T0 - MIN)).event
        await act(store, closedAtEdge.id, T0, 'self_handle')
        const closedBefore = (await store.createEvent(payload(3), T0 - MIN)).event
        await act(store, closedBefore.id, T0 - 1, 'self_handle')
        const evaluated = (await store.createEvent(payload(4), T0)).event
        await drive(evaluated.id, T0 + MIN, ['self_handle', 'evaluate'])

        const open = await store.openEvents(T0)
        const want = [reported, accepted, filed, dispatched, handled, closedLater, closedAtEdge].map(
          (e) => e.id,
        )
        const got = open.map((e) => e.id)
        for (const id of want) expect(got).toContain(id)
        for (const id of [cancelled.id, closedBefore.id, closedLongAgo.id, evaluated.id])
          expect(got).not.toContain(id)
        expect(new Set(got).size).toBe(got.length)
        expect(got).toHaveLength(want.length)
        for (const e of open) expect(e).toEqual(await store.getEvent(e.id))
        // An earlier closedSince takes in the one closed before T0.
        expect((await store.openEvents(T0 - 1)).map((e) => e.id)).toContain(closedBefore.id)
        expect((await store.openEvents(T0 + 2 * MIN)).map((e) => e.id).sort()).toEqual(
          [reported, accepted, filed, dispatched, handled].map((e) => e.id).sort(),
        )
      })
    })

    describe('kpiSnapshot', () => {
      it('now: the region’s events a KPI of [from, to) can count and every open event, at lastSeq', async () => {
        const from = T0
        const to = T0 + 4 * HOUR
        const report = async (at: number, extra: Partial<ReportPayload> = {}) =>
          (await store.createEvent(payload(0, extra), at)).event.id
        const oldOpen = await report(T0 - 30 * DAY_MS)
        const oldDispatched = await report(T0 - 30 * DAY_MS)
        await drive(oldDispatched, T0 - 30 * DAY_MS + 1, ['accept', 'file', 'dispatch'])
        const reportedInPeriod = await report(T0 + HOUR)
        await drive(reportedInPeriod, T0 + HOUR + 1, ['self_handle'])
        const cancelledInPeriod = await report(T0 + HOUR, { gridCode: GRID_B })
        await drive(cancelledInPeriod, T0 + HOUR + 1, ['cancel'])
        const dispatchedInPeriod = await report(T0 - 10 * DAY_MS)
        await drive(dispatchedInPeriod, T0 - 10 * DAY_MS + 1, ['accept', 'file'])
        await drive(dispatchedInPeriod, T0 + 30 * MIN, ['dispatch', 'handle', 'verify'])
        const evaluatedInPeriod = await report(T0 - 10 * DAY_MS)
        await drive(evaluatedInPeriod, T0 - 10 * DAY_MS + 1, ['self_handle'])
        await drive(evaluatedInPeriod, T0 + 3 * HOUR, ['evaluate'])
        const outside = await report(T0 + HOUR, { gridCode: GRID_OUT })
        const outsideOld = await report(T0 - 30 * DAY_MS, { gridCode: GRID_OUT })

        const snap = await store.kpiSnapshot(REGION, from, to, DAY, 0)
        expect(snap.seq).toBe(await store.lastSeq())
        const got = snap.events.map((e) => e.id)
        expect(new Set(got).size).toBe(got.length)
        for (const id of [
          oldOpen,
          oldDispatched,
          reportedInPeriod,
          cancelledInPeriod,
          dispatchedInPeriod,
          evaluatedInPeriod,
        ])
          expect(got, id).toContain(id)
        expect(got).not.toContain(outside)
        expect(got).not.toContain(outsideOld)
        for (const e of snap.events) expect(e).toEqual(await store.getEvent(e.id))
        // A narrower region, and one without events.
        const community = await store.kpiSnapshot('430602001002', from, to, DAY, 0)
        expect(community.events.map((e) => e.id)).toEqual([cancelledInPeriod])
        expect((await store.kpiSnapshot('430603', from, to, DAY, 0)).events).toEqual([])
      })

      it('as of `at`: each event is the fold of its changes at or before `at`; later reports are absent', async () => {
        const at = T0 + 2 * HOUR
        const from = T0
        const to = T0 + 4 * HOUR
        // In time order, so that the log's seq and time agree.
        const d = (await store.createEvent(payload(1), T0 - 30 * DAY_MS)).event.id
        const dClosed = await drive(d, T0 - 30 * DAY_MS + 1, ['self_handle'])
        const a = (await store.createEvent(payload(2), T0 + 30 * MIN)).event.id
        const aAccepted = await drive(a, T0 + HOUR, ['accept'])
        const c = await store.createEvent(payload(3), T0 + HOUR + MIN)
        const outside = (await store.createEvent(payload(4, { gridCode: GRID_OUT }), T0 + HOUR + 2 * MIN))
          .event.id
        const g = (await store.createEvent(payload(5), T0 + HOUR + 3 * MIN)).event.id
        const gAccepted = await drive(g, at, ['accept']) // exactly at `at`: counted
        const seqAtAt = await store.lastSeq()
        const b = (await store.createEvent(payload(6), at + 1)).event.id
        await drive(a, T0 + 3 * HOUR, ['file', 'dispatch'])
        await drive(d, T0 + 3 * HOUR, ['evaluate'])
        await drive(g, T0 + 3 * HOUR, ['file'])
        const cancelledAfter = await drive(c.event.id, T0 + 3 * HOUR, ['cancel'])
        expect(cancelledAfter.status).toBe('cancelled')

        const snap = await store.kpiSnapshot(REGION, from, to, DAY, 0, at)
        expect(snap.seq).toBe(seqAtAt)
        const byId = new Map(snap.events.map((e) => [e.id, e]))
        expect(byId.size).toBe(snap.events.length)
        expect(byId.get(a)).toEqual(aAccepted)
        expect(byId.get(c.event.id)).toEqual(c.event)
        expect(byId.get(g)).toEqual(gAccepted)
        // Changed since `at` (evaluated later), closed long before the period: still listed.
        expect(byId.get(d)).toEqual(dClosed)
        expect(byId.has(b)).toBe(false)
        expect(byId.has(outside)).toBe(false)
        expect([...byId.keys()].sort()).toEqual([a, c.event.id, d, g].sort())
        // Now, the same region has every event as it is now.
        const now = await store.kpiSnapshot(REGION, from, to, DAY, 0)
        expect(now.seq).toBe(await store.lastSeq())
        expect(new Map(now.events.map((e) => [e.id, e])).get(a)).toMatchObject({ status: 'dispatched' })
        // As of before anything: nothing (and seq 0).
        const before = await store.kpiSnapshot(REGION, from, to, DAY, 0, T0 - 31 * DAY_MS)
        expect(before.events).toEqual([])
        expect(before.seq).toBe(0)
      })

      it('online workers and positions: each worker’s last ping since onlineSince, now and (raw pings) as of `at`', async () => {
        await store.upsertWorkers([
          worker('W1', GRID),
          worker('W2', GRID),
          worker('W3', GRID_B),
          worker('W4', GRID_OUT),
          worker('W5', GRID),
          worker('W6', GRID_B),
          worker('W7', GRID),
        ])
        const p = (workerId: string, at: number, lat = 29.1, lng = 113.1): Position => ({
          workerId,
          lat,
          lng,
          at,
        })
        await store.insertPositions(
          [
            p('W1', T0 + 115 * MIN, 29.11, 113.11),
            p('W1', T0 + 118 * MIN, 29.12, 113.12),
            p('W2', T0 + 116 * MIN, 29.2, 113.2),
            p('W3', T0 + 115 * MIN, 29.3, 113.3),
            p('W4', T0 + 119 * MIN),
            p('W5', T0 + 60 * MIN),
            p('W6', T0 + 118 * MIN, 29.6, 113.6),
          ],
          0,
        )
        // W7's ping is not kept raw: it moves the last ping only.
        await store.insertPositions([p('W7', T0 + 116 * MIN, 29.7, 113.7)], T0 + 3 * HOUR)

        const now = await store.kpiSnapshot(REGION, T0, T0 + 4 * HOUR, DAY, T0 + 115 * MIN)
        expect(now.onlineByGrid).toEqual(
          new Map([
            [GRID, 3],
            [GRID_B, 2],
          ]),
        )
        expect(byWorker(now.positions)).toEqual([
          p('W1', T0 + 118 * MIN, 29.12, 113.12),
          p('W2', T0 + 116 * MIN, 29.2, 113.2),
          p('W3', T0 + 115 * MIN, 29.3, 113.3),
          p('W6', T0 + 118 * MIN, 29.6, 113.6),
          p('W7', T0 + 116 * MIN, 29.7, 113.7),
        ])

        const at = T0 + 117 * MIN
        const asOf = await store.kpiSnapshot(REGION, T0, T0 + 4 * HOUR, DAY, T0 + 112 * MIN, at)
        expect(asOf.onlineByGrid).toEqual(
          new Map([
            [GRID, 2],
            [GRID_B, 1],
          ]),
        )
        expect(byWorker(asOf.positions)).toEqual([
          p('W1', T0 + 115 * MIN, 29.11, 113.11),
          p('W2', T0 + 116 * MIN, 29.2, 113.2),
          p('W3', T0 + 115 * MIN, 29.3, 113.3),
        ])
        // At `at` exactly, and onlineSince exactly at a ping: both ends are inclusive.
        const edge = await store.kpiSnapshot(REGION, T0, T0 + 4 * HOUR, DAY, T0 + 116 * MIN, T0 + 118 * MIN)
        expect(byWorker(edge.positions).map((x) => [x.workerId, x.at])).toEqual([
          ['W1', T0 + 118 * MIN],
          ['W2', T0 + 116 * MIN],
          ['W6', T0 + 118 * MIN],
        ])
        // The district sees the worker outside the street too.
        const district = await store.kpiSnapshot('430602', T0, T0 + 4 * HOUR, DAY, T0 + 115 * MIN)
        expect(district.onlineByGrid.get(GRID_OUT)).toBe(1)
      })

      it('rounds: those started on the day, with their extent; as of `at` those that had lasted 15 minutes, up to `at`', async () => {
        await store.upsertWorkers([
          worker('W1', GRID),
          worker('W2', GRID),
          worker('W3', GRID_B),
          worker('W4', GRID_OUT),
          worker('W6', GRID_B),
          worker('W7', GRID),
        ])
        const round = (
          workerId: string,
          gridCode: string,
          startedAt: number,
          endedAt: number,
        ): PatrolRound => ({
          workerId,
          gridCode,
          startedAt,
          endedAt,
          pings: Math.round((endedAt - startedAt) / MIN) + 1,
        })
        const pings = (workerId: string, from: number, to: number): Position[] =>
          seqs(Math.floor((to - from) / (5 * MIN)) + 1, 0).map((i) => ({
            workerId,
            lat: 29.37,
            lng: 113.13,
            at: from + i * 5 * MIN,
          }))
        await store.insertRounds([
          round('W1', GRID, T0, T0 + 20 * MIN),
          round('W2', GRID, DAY0 - 30 * MIN, DAY0 + 10 * MIN), // started the day before
          round('W3', GRID_B, T0 + HOUR, T0 + 90 * MIN),
          round('W4', GRID_OUT, T0, T0 + 30 * MIN), // outside the region
          round('W1', GRID, DAY0 + DAY_MS + HOUR, DAY0 + DAY_MS + 2 * HOUR), // the next day
          round('W6', GRID_B, T0 + 70 * MIN, T0 + 100 * MIN),
          round('W7', GRID, T0 + 90 * MIN, T0 + 120 * MIN),
        ])
        await store.insertPositions(
          [
            ...pings('W1', T0, T0 + 20 * MIN),
            ...pings('W3', T0 + HOUR, T0 + 90 * MIN),
            ...pings('W6', T0 + 70 * MIN, T0 + 100 * MIN),
            ...pings('W7', T0 + 90 * MIN, T0 + 120 * MIN),
          ],
          0,
        )
        const now = await store.kpiSnapshot(REGION, T0, T0 + 4 * HOUR, DAY, 0)
        expect([...now.roundsByGrid.keys()].sort()).toEqual([GRID, GRID_B])
        expect(spans(now, GRID)).toEqual([
          { workerId: 'W1', startedAt: T0, endedAt: T0 + 20 * MIN },
          { workerId: 'W7', startedAt: T0 + 90 * MIN, endedAt: T0 + 120 * MIN },
        ])
        expect(spans(now, GRID_B)).toEqual([
          { workerId: 'W3', startedAt: T0 + HOUR, endedAt: T0 + 90 * MIN },
          { workerId: 'W6', startedAt: T0 + 70 * MIN, endedAt: T0 + 100 * MIN },
        ])

        // At T0 + 80 min: W1's round is over; W3's has lasted 15 minutes (a ping at T0 + 75 min),
        // up to `at`; W6's started 10 minutes before (its ping at T0 + 85 min is later); W7's later.
        const at = T0 + 80 * MIN
        const asOf = await store.kpiSnapshot(REGION, T0, T0 + 4 * HOUR, DAY, 0, at)
        expect([...asOf.roundsByGrid.keys()].sort()).toEqual([GRID, GRID_B])
        expect(spans(asOf, GRID)).toEqual([{ workerId: 'W1', startedAt: T0, endedAt: T0 + 20 * MIN }])
        expect(spans(asOf, GRID_B)).toEqual([{ workerId: 'W3', startedAt: T0 + HOUR, endedAt: at }])
        // Before any round had lasted 15 minutes: none.
        const early = await store.kpiSnapshot(REGION, T0, T0 + 4 * HOUR, DAY, 0, T0 + 10 * MIN)
        expect(early.roundsByGrid.size).toBe(0)
        // The next day's round belongs to that day.
        const next = { start: DAY.end, end: DAY.end + DAY_MS }
        const tomorrow = await store.kpiSnapshot(REGION, next.start, next.end, next, 0)
        expect(spans(tomorrow, GRID)).toEqual([
          { workerId: 'W1', startedAt: DAY0 + DAY_MS + HOUR, endedAt: DAY0 + DAY_MS + 2 * HOUR },
        ])
      })

      it('insertRounds upserts by (workerId, startedAt): a round is written as it grows', async () => {
        await store.upsertWorkers([worker('W1', GRID), worker('W2', GRID)])
        const r = { workerId: 'W1', gridCode: GRID, startedAt: T0, endedAt: T0 + 15 * MIN, pings: 16 }
        await store.insertRounds([r])
        await store.insertRounds([{ ...r, endedAt: T0 + 25 * MIN, pings: 26 }])
        await store.insertRounds([{ ...r, endedAt: T0 + 40 * MIN, pings: 41 }])
        const one = await store.kpiSnapshot(REGION, T0, T0 + HOUR, DAY, 0)
        expect(spans(one, GRID)).toEqual([{ workerId: 'W1', startedAt: T0, endedAt: T0 + 40 * MIN }])
        // Another start, or another worker at the same start, is another round; one call may hold several.
        await store.insertRounds([
          { ...r, startedAt: T0 + 5 * HOUR, endedAt: T0 + 5 * HOUR + 20 * MIN },
          { ...r, workerId: 'W2', endedAt: T0 + 30 * MIN },
        ])
        await store.insertRounds([])
        const three = await store.kpiSnapshot(REGION, T0, T0 + HOUR, DAY, 0)
        expect(spans(three, GRID)).toEqual([
          { workerId: 'W1', startedAt: T0, endedAt: T0 + 40 * MIN },
          { workerId: 'W1', startedAt: T0 + 5 * HOUR, endedAt: T0 + 5 * HOUR + 20 * MIN },
          { workerId: 'W2', startedAt: T0, endedAt: T0 + 30 * MIN },
        ])
      })
    })

    describe('activitySnapshot and reportCountsSince', () => {
      it('counts the day’s reports per category and lists the window’s reported, handled and closed instants', async () => {
        const window = { start: T0, end: T0 + 3 * HOUR }
        const report = async (at: number, extra: Partial<ReportPayload> = {}) =>
          (await store.createEvent(payload(0, extra), at)).event.id
        await report(T0 - HOUR) // in the day, before the window
        const b = await report(T0 + HOUR)
        await act(store, b, T0 + HOUR + 5 * MIN, 'self_handle')
        const c = await report(T0 + 2 * HOUR, { category: 'CG0202', gridCode: GRID_B })
        await drive(c, T0 + 2 * HOUR + MIN, ['accept', 'file', 'dispatch'])
        await act(store, c, T0 + 150 * MIN, 'handle')
        await act(store, c, T0 + 160 * MIN, 'verify', { passed: false }) // rework: handledAt cleared
        const d = await report(DAY0 - HOUR) // the day before
        await act(store, d, T0 + 2 * HOUR, 'self_handle')
        await report(T0 + HOUR, { gridCode: GRID_OUT, category: 'CG0909' })
        await report(T0 + 3 * HOUR) // the window's end is exclusive
        await report(T0, { category: 'CG0303' }) // its start inclusive
        const e = await report(T0 + 30 * MIN)
        await drive(e, T0 + 31 * MIN, ['accept', 'file', 'dispatch', 'handle']) // handled, not closed
        await report(DAY.end, { category: 'CG0404' }) // the next day

        const snap = await store.activitySnapshot(REGION, DAY, window)
        expect(snap.seq).toBe(await store.lastSeq())
        expect([...snap.reportedToday].sort((x, y) => (x.category < y.category ? -1 : 1))).toEqual([
          { category: 'CG0101', count: 4 },
          { category: 'CG0202', count: 1 },
          { category: 'CG0303', count: 1 },
        ])
        expect(sortNum(snap.reportedAt)).toEqual([T0, T0 + 30 * MIN, T0 + HOUR, T0 + 2 * HOUR])
        expect(sortNum(snap.handledAt)).toEqual([T0 + 34 * MIN, T0 + HOUR + 5 * MIN, T0 + 2 * HOUR])
        expect(sortNum(snap.closedAt)).toEqual([T0 + HOUR + 5 * MIN, T0 + 2 * HOUR])
        const community = await store.activitySnapshot('430602001002', DAY, window)
        expect(community.reportedToday).toEqual([{ category: 'CG0202', count: 1 }])
        expect(community.reportedAt).toEqual([T0 + 2 * HOUR])
        expect(community.handledAt).toEqual([])
        expect(community.closedAt).toEqual([])
      })

      it('reportCountsSince counts the events reported per grid since `since` (inclusive)', async () => {
        await store.createEvent(payload(1), T0 - 1)
        await store.createEvent(payload(2), T0)
        const x = await store.createEvent(payload(3), T0 + HOUR)
        await act(store, x.event.id, T0 + 2 * HOUR, 'cancel', DATA.cancel)
        await store.createEvent(payload(4, { gridCode: GRID_B }), T0 + 2 * HOUR)
        await store.createEvent(payload(5, { gridCode: GRID_OUT }), T0 - HOUR)
        expect(await store.reportCountsSince(T0)).toEqual(
          new Map([
            [GRID, 2],
            [GRID_B, 1],
          ]),
        )
        expect(await store.reportCountsSince(0)).toEqual(
          new Map([
            [GRID, 3],
            [GRID_B, 1],
            [GRID_OUT, 1],
          ]),
        )
        expect(await store.reportCountsSince(T0 + 3 * HOUR)).toEqual(new Map())
      })
    })

    describe('workers and positions', () => {
      it('keeps raw pings only from keepRawAfter on but moves the worker’s last ping either way, never backwards', async () => {
        await store.upsertWorkers([worker('W1', GRID), worker('W2', '430602002001001')])
        await store.insertPositions(
          [
            { workerId: 'W1', lat: 29.1, lng: 113.1, at: T0 - 2 * HOUR },
            { workerId: 'W1', lat: 29.2, lng: 113.2, at: T0 },
            { workerId: 'W2', lat: 29.3, lng: 113.3, at: T0 - 3 * HOUR },
          ],
          T0 - HOUR,
        )
        let last = await lastPings()
        expect(last.get('W1')).toEqual({ lat: 29.2, lng: 113.2, at: T0 })
        expect(last.get('W2')).toEqual({ lat: 29.3, lng: 113.3, at: T0 - 3 * HOUR })
        // Only W1's ping at T0 was kept raw: as of T0 − 90 min, nobody had a raw ping since T0 − 4 h.
        const then = await store.kpiSnapshot('430602', T0, T0 + 1, DAY, T0 - 4 * HOUR, T0 - 90 * MIN)
        expect(then.positions).toEqual([])
        const atT0 = await store.kpiSnapshot('430602', T0, T0 + 1, DAY, T0 - 4 * HOUR, T0)
        expect(atT0.positions).toEqual([{ workerId: 'W1', lat: 29.2, lng: 113.2, at: T0 }])
        // A late, older ping is kept raw but does not move the last position back.
        await store.insertPositions([{ workerId: 'W1', lat: 29.9, lng: 113.9, at: T0 - 30 * MIN }], T0 - HOUR)
        last = await lastPings()
        expect(last.get('W1')).toEqual({ lat: 29.2, lng: 113.2, at: T0 })
        const asOf = await store.kpiSnapshot('430602', T0, T0 + 1, DAY, T0 - HOUR, T0 - 20 * MIN)
        expect(asOf.positions).toEqual([{ workerId: 'W1', lat: 29.9, lng: 113.9, at: T0 - 30 * MIN }])
        // A ping at keepRawAfter exactly is kept.
        await store.insertPositions([{ workerId: 'W2', lat: 29.4, lng: 113.4, at: T0 - HOUR }], T0 - HOUR)
        expect((await lastPings()).get('W2')).toEqual({ lat: 29.4, lng: 113.4, at: T0 - HOUR })
        expect(await store.prunePositions(Number.MAX_SAFE_INTEGER)).toBe(3)
      })

      it('takes the latest ping of a call as the last ping, whatever their order', async () => {
        await store.upsertWorkers([worker('W1', GRID)])
        await store.insertPositions(
          [
            { workerId: 'W1', lat: 29.2, lng: 113.2, at: T0 + 2 * MIN },
            { workerId: 'W1', lat: 29.3, lng: 113.3, at: T0 + 3 * MIN },
            { workerId: 'W1', lat: 29.1, lng: 113.1, at: T0 + 1 * MIN },
          ],
          0,
        )
        expect((await lastPings()).get('W1')).toEqual({ lat: 29.3, lng: 113.3, at: T0 + 3 * MIN })
        await store.insertPositions([], 0)
        expect((await lastPings()).get('W1')).toEqual({ lat: 29.3, lng: 113.3, at: T0 + 3 * MIN })
        await store.insertPositions([{ workerId: 'W1', lat: 29.4, lng: 113.4, at: T0 + 4 * MIN }], 0)
        expect((await lastPings()).get('W1')).toEqual({ lat: 29.4, lng: 113.4, at: T0 + 4 * MIN })
      })

      it('prunes raw pings older than the cut-off and reports how many', async () => {
        await store.upsertWorkers([worker('W1', GRID)])
        await store.insertPositions(
          Array.from({ length: 10 }, (_, i) => ({
            workerId: 'W1',
            lat: 29.37,
            lng: 113.13,
            at: T0 + i * MIN,
          })),
          0,
        )
        expect(await store.prunePositions(T0 + 4 * MIN)).toBe(4)
        expect(await store.prunePositions(T0 + 4 * MIN)).toBe(0)
        // The raw ping at the cut-off is kept; the last ping is untouched.
        const asOf = await store.kpiSnapshot(REGION, T0, T0 + 1, DAY, 0, T0 + 4 * MIN)
        expect(asOf.positions.map((p) => p.at)).toEqual([T0 + 4 * MIN])
        const gone = await store.kpiSnapshot(REGION, T0, T0 + 1, DAY, 0, T0 + 3 * MIN)
        expect(gone.positions).toEqual([])
        expect((await lastPings()).get('W1')!.at).toBe(T0 + 9 * MIN)
        expect(await store.prunePositions(Number.MAX_SAFE_INTEGER)).toBe(6)
        expect((await lastPings()).get('W1')!.at).toBe(T0 + 9 * MIN)
      })

      it('upsertWorkers updates a worker in place: its grid decides where it is counted', async () => {
        await store.upsertWorkers([worker('W1', GRID), worker('W2', GRID)])
        await store.insertPositions(
          [
            { workerId: 'W1', lat: 29.1, lng: 113.1, at: T0 },
            { workerId: 'W2', lat: 29.2, lng: 113.2, at: T0 },
          ],
          0,
        )
        const snap = () => store.kpiSnapshot(REGION, T0, T0 + 1, DAY, T0 - MIN)
        expect((await snap()).onlineByGrid).toEqual(new Map([[GRID, 2]]))
        await store.upsertWorkers([{ ...worker('W2', GRID_B), name: '改名', phone: '13800000000' }])
        expect((await snap()).onlineByGrid).toEqual(
          new Map([
            [GRID, 1],
            [GRID_B, 1],
          ]),
        )
        // The last ping survives the update.
        expect((await lastPings()).get('W2')).toEqual({ lat: 29.2, lng: 113.2, at: T0 })
        await store.upsertWorkers([worker('W1', GRID_OUT)])
        expect((await snap()).onlineByGrid).toEqual(new Map([[GRID_B, 1]]))
        await store.upsertWorkers([])
        expect((await snap()).positions.map((p) => p.workerId)).toEqual(['W2'])
      })
    })

    describe('patrol runs', () => {
      const run = (
        workerId: string,
        startedAt: number,
        lastAt: number,
        pings: number,
        gridCode = GRID,
      ): StoredRun => ({
        workerId,
        gridCode,
        startedAt,
        lastAt,
        pings,
      })

      it('saveRuns upserts and deletes; openRuns returns those asked for that exist', async () => {
        await store.upsertWorkers([worker('W1', GRID), worker('W2', GRID_B), worker('W3', GRID)])
        await store.saveRuns([run('W1', T0, T0 + MIN, 2), run('W2', T0, T0 + 2 * MIN, 3, GRID_B)], [])
        let got = await store.openRuns(['W1', 'W2', 'W3'])
        expect(got).toEqual(
          new Map([
            ['W1', run('W1', T0, T0 + MIN, 2)],
            ['W2', run('W2', T0, T0 + 2 * MIN, 3, GRID_B)],
          ]),
        )
        expect(await store.openRuns(['W2'])).toEqual(
          new Map([['W2', run('W2', T0, T0 + 2 * MIN, 3, GRID_B)]]),
        )
        expect((await store.openRuns([])).size).toBe(0)
        // Move W1's run on, start a new one for W3, delete W2's (and a run that does not exist).
        await store.saveRuns([run('W1', T0, T0 + 3 * MIN, 4), run('W3', T0 + MIN, T0 + MIN, 1)], ['W2', 'W9'])
        got = await store.openRuns(['W1', 'W2', 'W3'])
        expect(got).toEqual(
          new Map([
            ['W1', run('W1', T0, T0 + 3 * MIN, 4)],
            ['W3', run('W3', T0 + MIN, T0 + MIN, 1)],
          ]),
        )
        // A new run replaces the old one of the worker.
        await store.saveRuns([run('W1', T0 + HOUR, T0 + HOUR, 1)], [])
        expect((await store.openRuns(['W1'])).get('W1')).toEqual(run('W1', T0 + HOUR, T0 + HOUR, 1))
        await store.saveRuns([], [])
        await store.saveRuns([], ['W1', 'W3'])
        expect((await store.openRuns(['W1', 'W2', 'W3'])).size).toBe(0)
      })

      it('pruneRuns deletes the runs whose last ping is before the cut-off and says how many', async () => {
        await store.saveRuns(
          [run('W1', T0, T0 + 3 * MIN, 4), run('W3', T0, T0 + 10 * MIN, 11), run('W4', T0, T0 + 5 * MIN, 6)],
          [],
        )
        expect(await store.pruneRuns(T0 + 5 * MIN)).toBe(1)
        expect([...(await store.openRuns(['W1', 'W3', 'W4'])).keys()].sort()).toEqual(['W3', 'W4'])
        expect(await store.pruneRuns(T0 + 5 * MIN)).toBe(0)
        expect(await store.pruneRuns(T0 + HOUR)).toBe(2)
        expect((await store.openRuns(['W1', 'W3', 'W4'])).size).toBe(0)
      })
    })

    describe('tokens', () => {
      it('lists revoked tokens not yet expired at `now`', async () => {
        await store.revokeToken('a', T0 + HOUR)
        await store.revokeToken('b', T0 + 2 * HOUR)
        await store.revokeToken('c', T0 - 1)
        await store.revokeToken('a', T0 + HOUR) // twice: listed once
        expect([...(await store.revokedTokens(T0))].sort()).toEqual(['a', 'b'])
        expect(await store.revokedTokens(T0 + HOUR)).toEqual(['b']) // expiring at `now`: expired
        expect(await store.revokedTokens(T0 + HOUR - 1)).toHaveLength(2)
        expect(await store.revokedTokens(T0 + 2 * HOUR)).toEqual([])
        expect([...(await store.revokedTokens(0))].sort()).toEqual(['a', 'b', 'c'])
      })

      it('records issued tokens: listed newest first while not expired, each with whether it is revoked', async () => {
        const t1: IssuedToken = {
          jti: 'jti-1',
          role: 'officer',
          region: '430602001',
          aud: 'api',
          actions: ['accept', 'file'],
          issuedAt: T0,
          expiresAt: T0 + HOUR,
        }
        const t2: IssuedToken = {
          jti: 'jti-2',
          role: 'leader',
          region: null,
          aud: 'live',
          actions: null,
          issuedAt: T0 + 10 * MIN,
          expiresAt: T0 + 2 * HOUR,
        }
        const t3: IssuedToken = {
          jti: 'jti-3',
          role: 'ingest',
          region: '430602',
          aud: 'api',
          actions: [],
          issuedAt: T0 - 2 * HOUR,
          expiresAt: T0 - HOUR,
        }
        for (const t of [t1, t2, t3]) await store.recordIssuedToken(t)
        await store.revokeToken('jti-1', t1.expiresAt)
        expect(await store.issuedTokens(T0 + 30 * MIN)).toEqual([
          { ...t2, revoked: false },
          { ...t1, revoked: true },
        ])
        expect(await store.issuedTokens(T0 + HOUR)).toEqual([{ ...t2, revoked: false }])
        expect(await store.issuedTokens(0)).toEqual([
          { ...t2, revoked: false },
          { ...t1, revoked: true },
          { ...t3, revoked: false },
        ])
        expect(await store.issuedToken('jti-1')).toEqual({ ...t1, revoked: true })
        expect(await store.issuedToken('jti-2')).toEqual({ ...t2, revoked: false })
        expect(await store.issuedToken('jti-3')).toEqual({ ...t3, revoked: false })
        expect(await store.issuedToken('no-such-jti')).toBeNull()
        await store.revokeToken('jti-2', t2.expiresAt)
        expect(await store.issuedToken('jti-2')).toMatchObject({ revoked: true })
        expect((await store.issuedTokens(T0)).map((t) => [t.jti, t.revoked])).toEqual([
          ['jti-2', true],
          ['jti-1', true],
        ])
      })
    })

    describe('meta', () => {
      it('gets what was set, overwritten by the last set, null when never set', async () => {
        expect(await store.getMeta('k')).toBeNull()
        await store.setMeta('k', 'v1')
        expect(await store.getMeta('k')).toBe('v1')
        await store.setMeta('k', 'v2')
        expect(await store.getMeta('k')).toBe('v2')
        await store.setMeta('other', '')
        expect(await store.getMeta('other')).toBe('')
        const json = JSON.stringify({ until: T0, 名: '值', nested: [1, 2, { a: null }] })
        await store.setMeta('sim.state', json)
        expect(await store.getMeta('sim.state')).toBe(json)
        expect(await store.getMeta('k')).toBe('v2')
        expect(await store.getMeta('K')).toBeNull()
      })

      it('initMeta keeps the first value written, also when many race for it', async () => {
        const answers = await Promise.all(
          Array.from({ length: 12 }, (_, i) => store.initMeta('secret', `s${i}`)),
        )
        const first = answers[0]!
        expect(answers.every((a) => a === first)).toBe(true)
        expect(await store.getMeta('secret')).toBe(first)
        expect(await store.initMeta('secret', 'later')).toBe(first)
        await store.setMeta('secret', 'reset')
        expect(await store.initMeta('secret', 'later')).toBe('reset')
      })
    })

    describe('health and hints', () => {
      it('is healthy initially and after writes', async () => {
        expect(store.health()).toEqual({ ok: true })
        await store.createEvent(payload(1), T0)
        await store.setMeta('a', 'b')
        expect(store.health()).toEqual({ ok: true })
      })

      it('onAppended: a listener hears a hint after a committed change; after unsubscribing it hears none', async () => {
        let heard = 0
        let other = 0
        const off = store.onAppended(() => heard++)
        const offOther = store.onAppended(() => other++)
        await store.createEvent(payload(1), T0)
        expect(await until(() => heard > 0), 'no hint within 2 s of a commit').toBe(true)
        expect(await until(() => other > 0)).toBe(true)
        // The hint is a hint: the listener reads the log itself.
        expect(await store.lastSeq()).toBe(1)
        off()
        const before = heard
        const otherBefore = other
        const { event } = await store.createEvent(payload(2), T0)
        await act(store, event.id, T0 + 1, 'accept')
        expect(await until(() => other > otherBefore), 'the other listener heard nothing').toBe(true)
        await sleep(300)
        expect(heard, 'an unsubscribed listener was called').toBe(before)
        offOther()
      })

      it('onAppended: the changes of a committed batch are hinted, and readable when heard', async () => {
        let heard = 0
        const off = store.onAppended(() => heard++)
        await store.batch(async () => {
          await store.createEvent(payload(1), T0)
          await store.createEvent(payload(2), T0)
        })
        expect(await until(() => heard > 0), 'no hint within 2 s of a batch commit').toBe(true)
        expect((await store.listChanges(0, 10)).map((c) => c.seq)).toEqual([1, 2])
        off()
      })
    })
  })
}
