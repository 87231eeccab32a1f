/**
 * The PostgreSQL change log under concurrent writers in separate processes (tests/server/pg-writer.ts):
 * three processes report and step events as fast as they can, some of their batches rolling back,
 * while two readers here follow the log with `listChanges(position, 100)`.
 *
 * The log must come out exactly 1..N with no gap and no duplicate, each seq being what the writer
 * that made the change was told; and every reader must have seen each seq exactly once, in order. A
 * seq that became visible before a smaller one (commit order ≠ seq order) would make a reader step
 * past the smaller one for good: it shows as a gap in what that reader saw.
 *
 * PG_TEST_URL (default postgres://postgres@127.0.0.1:5432/test) names the server. Unreachable, the
 * test is skipped locally and fails on CI (CI=true).
 */
import pg from 'pg'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPgStore, dropPgSchema } from '../../server/store/pg-store.ts'
import type { Store } from '../../server/store/store.ts'
import type { GridEvent } from '../../shared/types.ts'

const URL_ = process.env.PG_TEST_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const WRITERS = 3
const OPS_PER_WRITER = 150
const REPO = fileURLToPath(new URL('../..', import.meta.url))
const WRITER = fileURLToPath(new URL('./pg-writer.ts', import.meta.url))

async function unreachable(url: string): Promise<string | null> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
  c.on('error', () => undefined)
  try {
    await c.connect()
    await c.query('SELECT 1')
    return null
  } catch (err) {
    return (err as Error).message || String(err)
  } finally {
    await c.end().catch(() => undefined)
  }
}

const down = await unreachable(URL_)
if (down && process.env.CI !== 'true')
  console.warn(`pg-log-concurrency test skipped: PostgreSQL at ${URL_} is unreachable (${down})`)

type Entry = [seq: number, eventId: string, action: string]
interface WriterReport {
  committed: Entry[]
  rolledBack: number
  errors: string[]
}

function runWriter(schema: string, ops: number): Promise<WriterReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, URL_, schema, String(ops)], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    child.on('error', reject)
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`writer exited with ${code}: ${err}`))
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1)!) as WriterReport)
      } catch (e) {
        reject(new Error(`writer printed no report (${String(e)}): ${out} ${err}`))
      }
    })
  })
}

describe.skipIf(down !== null && process.env.CI !== 'true')(
  'the PostgreSQL log under concurrent processes',
  () => {
    const schema = `t_conc_${randomBytes(6).toString('hex')}`
    const stores: Store[] = []
    beforeAll(() => {
      if (down) throw new Error(`PostgreSQL at ${URL_} is unreachable (${down}): CI needs it`)
    })
    afterAll(async () => {
      for (const s of stores) await s.close()
      if (!down) await dropPgSchema(URL_, schema)
    })

    it(
      'is gap-free, duplicate-free and visible in seq order to every reader',
      { timeout: 60_000 },
      async () => {
        const open = (): Store => {
          const s = createPgStore({ connectionString: URL_, schema, poolSize: 2, onError: () => undefined })
          stores.push(s)
          return s
        }
        const main = open()
        await main.migrate()
        await main.upsertWorkers([
          { id: 'W1', name: '赵六', phone: '13600000000', gridCode: '430602001001001' },
        ])

        let writing = true
        /** Follow the log from 0, a page at a time, recording every seq seen and any out of order. */
        const follow = async (store: Store): Promise<{ seen: number[]; gaps: string[]; pages: number }> => {
          const seen: number[] = []
          const gaps: string[] = []
          let position = 0
          let pages = 0
          for (;;) {
            const done = !writing
            const page = await store.listChanges(position, 100)
            if (page.length) pages++
            for (const c of page) {
              if (c.seq !== position + 1) gaps.push(`after ${position} came ${c.seq}`)
              seen.push(c.seq)
              position = c.seq
            }
            // The last pass starts after every writer has exited: it reads to the end.
            if (done && page.length === 0) return { seen, gaps, pages }
            if (page.length === 0) await new Promise((r) => setTimeout(r, 1))
          }
        }
        const readers = [follow(open()), follow(open())]
        const started = Date.now()
        let writers: WriterReport[]
        let followed: Awaited<(typeof readers)[number]>[]
        try {
          writers = await Promise.all(
            Array.from({ length: WRITERS }, () => runWriter(schema, OPS_PER_WRITER)),
          )
        } finally {
          // The readers' last pass starts now: every writer has exited (or failed).
          writing = false
          followed = await Promise.all(readers)
        }
        const elapsed = Date.now() - started

        const log = await main.listChanges(0, 1_000_000)
        const n = log.length
        const oneToN = Array.from({ length: n }, (_, i) => i + 1)
        expect(n).toBeGreaterThan(WRITERS * OPS_PER_WRITER * 0.5)
        expect(log.map((c) => c.seq)).toEqual(oneToN)
        expect(await main.lastSeq()).toBe(n)

        // Each seq is the one its writer was told, and no two writers were told the same one.
        const told = writers.flatMap((w) => w.committed).sort((x, y) => x[0] - y[0])
        expect(told.map((e) => e[0])).toEqual(oneToN)
        expect(told).toEqual(log.map((c): Entry => [c.seq, c.eventId, c.action]))
        const rolledBack = writers.reduce((s, w) => s + w.rolledBack, 0)
        expect(rolledBack, 'some batches rolled back').toBeGreaterThan(0)

        for (const r of followed) {
          expect(r.gaps).toEqual([])
          expect(r.seen).toEqual(oneToN)
          // They followed the log while it grew, not only at the end.
          expect(r.pages).toBeGreaterThan(3)
        }

        // The events table is the fold of the log: each event stands at its last change.
        const lastOf = new Map<string, number>()
        for (const c of log) lastOf.set(c.eventId, c.seq)
        const events = await main.eventsByIds([...lastOf.keys()])
        expect(events.size).toBe(lastOf.size)
        expect(await main.countEvents()).toBe(lastOf.size)
        for (const [id, seq] of lastOf) expect((events.get(id) as GridEvent).seq, id).toBe(seq)

        console.info(
          `pg log: ${n} changes by ${WRITERS} processes, ${rolledBack} batches rolled back, ${elapsed} ms; ` +
            `writer errors: ${writers.reduce((s, w) => s + w.errors.length, 0)}`,
        )
      },
    )
  },
)
