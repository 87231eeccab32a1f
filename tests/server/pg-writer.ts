/**
 * A writer process for pg-log-concurrency.test.ts:
 *   node --import tsx tests/server/pg-writer.ts <connection string> <schema> <operations>
 *
 * Opens its own PostgreSQL store on the schema (migrating it, as every process does at start) and
 * appends to the log as fast as it can, in a seeded random mix: reports (some under idempotency
 * keys the other writers use too), lifecycle steps on events of any writer, and batches that commit
 * several changes or throw and roll back. Prints one JSON line: every change it was told committed
 * ([seq, eventId, action]), and how many batches rolled back.
 */
import { mulberry32 } from '../../shared/random.ts'
import type { ReportPayload } from '../../shared/lifecycle.ts'
import type { ChangeAction, EventStatus, GridEvent } from '../../shared/types.ts'
import { createPgStore } from '../../server/store/pg-store.ts'
import { StoreUnavailable, type Decision } from '../../server/store/store.ts'

const [connectionString, schema, ops] = process.argv.slice(2)
if (!connectionString || !schema || !ops) {
  console.error('usage: pg-writer.ts <connection string> <schema> <operations>')
  process.exit(2)
}

const T0 = Date.parse('2026-11-23T09:00:00+08:00')
const rng = mulberry32(process.pid)
const errors: unknown[] = []
const store = createPgStore({ connectionString, schema, poolSize: 4, onError: (err) => errors.push(err) })

/** The next step of an event's lifecycle, going round dispatch → handle → failed verify. */
const NEXT: Partial<Record<EventStatus, [ChangeAction, EventStatus]>> = {
  reported: ['accept', 'accepted'],
  accepted: ['file', 'filed'],
  filed: ['dispatch', 'dispatched'],
  dispatched: ['handle', 'handled'],
  handled: ['verify', 'dispatched'],
}
const step = (e: GridEvent, at: number): Decision<string> => {
  const next = NEXT[e.status]
  if (!next) return { ok: false, refusal: 'done' }
  const [action, status] = next
  const data =
    action === 'dispatch'
      ? { department: '环卫处', deadline: at + 3_600_000 }
      : action === 'verify'
        ? { passed: false, deadline: at + 3_600_000 }
        : undefined
  return { ok: true, action, status, ...(data ? { data } : {}) }
}

const payload = (n: number | 'shared'): ReportPayload => ({
  category: 'CG0101',
  description: n === 'shared' ? 'a report every writer makes' : `writer ${process.pid} report ${n}`,
  lat: 29.37,
  lng: 113.13,
  gridCode: `43060200100${n === 'shared' ? 0 : 1 + (n % 9)}001`,
  source: 'simulator',
})

type Entry = [seq: number, eventId: string, action: string]
const committed: Entry[] = []
let rolledBack = 0
let known: string[] = []

async function refreshKnown(): Promise<void> {
  const log = await store.listChanges(Math.max(0, (await store.lastSeq()) - 200), 200)
  known = [...new Set(log.map((c) => c.eventId))]
}

async function main(): Promise<void> {
  await store.migrate()
  for (let i = 0; i < Number(ops); i++) {
    const at = T0 + i * 1000
    const r = rng.next()
    if (i % 20 === 0) await refreshKnown()
    if (r < 0.3) {
      // Shared keys carry the same payload in every writer: one of them creates, the others find it.
      const shared = rng.next() < 0.3
      const key = shared ? `shared-${i % 7}` : undefined
      const res = await store.createEvent(payload(shared ? 'shared' : i), at, key)
      if (res.created) committed.push([res.change.seq, res.event.id, 'report'])
      known.push(res.event.id)
    } else if (r < 0.7 && known.length) {
      const id = known[rng.int(known.length)]!
      const res = await store.mutateEvent(id, at, step)
      if (res.ok) committed.push([res.change.seq, id, res.change.action])
    } else {
      // A batch: a step on some event first (its row, then the head), then a report and a step on
      // it. One in three throws at the end and rolls back, seqs and all.
      const fail = rng.next() < 0.35
      const mine: Entry[] = []
      try {
        await store.batch(async () => {
          if (known.length) {
            const id = known[rng.int(known.length)]!
            const m = await store.mutateEvent(id, at, step)
            if (m.ok) mine.push([m.change.seq, id, m.change.action])
          }
          const c = await store.createEvent(payload(i), at)
          mine.push([c.change.seq, c.event.id, 'report'])
          const m = await store.mutateEvent(c.event.id, at + 1, step)
          if (m.ok) mine.push([m.change.seq, c.event.id, m.change.action])
          await store.insertPositions([{ workerId: 'W1', lat: 29.37, lng: 113.13, at }], 0)
          if (fail) throw new Error('planned rollback')
        })
        committed.push(...mine)
      } catch (err) {
        if (
          !(err instanceof Error && err.message === 'planned rollback') &&
          !(err instanceof StoreUnavailable)
        )
          throw err
        rolledBack++
      }
    }
  }
}

main()
  .then(
    async () => {
      await store.close()
      process.stdout.write(JSON.stringify({ committed, rolledBack, errors: errors.map(String) }) + '\n')
    },
    async (err: unknown) => {
      console.error(err)
      await store.close()
      process.exit(1)
    },
  )
  .catch((err: unknown) => {
    console.error(err)
    process.exit(1)
  })
