/**
 * A tick's frames go out in slices of SLICE_SOCKETS sockets, one slice per turn of the event loop
 * (server/live/broadcast.ts), so that a change committed meanwhile is not held behind the burst.
 * With more sockets than three slices hold, every socket still gets every frame of every tick
 * exactly once, the same frames as every other socket of its room, and the change frames in seq
 * order with none missing; a socket's frames of one tick leave together.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChangeFrame, KpiFrame, PositionsFrame } from '../../shared/live.ts'
import { SLICE_SOCKETS } from '../../server/live/broadcast.ts'
import { ADMIN_TOKEN, call, mintToken } from './helpers.ts'
import {
  connectSynced,
  DISTRICT,
  startLiveServer,
  until,
  type LiveTestServer,
  type Recorder,
} from './live-helpers.ts'

const SOCKETS = 3 * SLICE_SOCKETS + 17

let srv: LiveTestServer
let sockets: Recorder[] = []

beforeAll(async () => {
  srv = await startLiveServer({
    env: {
      LIVE_MAX_CONNECTIONS_PER_IP: String(SOCKETS + 10),
      LIVE_MAX_CONNECTIONS_PER_TOKEN: String(SOCKETS + 10),
    },
  })
  const officer = await mintToken(srv.http, 'officer')
  for (let i = 0; i < SOCKETS; i += 50)
    sockets.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(50, SOCKETS - i) }, () => connectSynced(srv.base, { token: officer })),
      )),
    )
  for (let i = 0; i < SOCKETS; i += 50)
    await Promise.all(
      sockets.slice(i, i + 50).map(async (s) => expect((await s.subscribe(DISTRICT)).ok).toBe(true)),
    )
}, 120_000)

afterAll(async () => {
  for (const s of sockets) s.close()
  sockets = []
  await srv?.stop()
})

describe(`${SOCKETS} sockets in one room (${SLICE_SOCKETS} a slice)`, () => {
  it('each gets every frame of every tick once, the same as every other, and every change in order', async () => {
    const workers = srv.system.city.workers().slice(0, 40)
    const at = new Date().toISOString()
    const seqs: number[] = []
    // Pings and reports interleaved over a few ticks, so that commits land while slices go out.
    for (let round = 0; round < 4; round++) {
      const batch = workers.slice(round * 10, round * 10 + 10)
      const pos = await call(srv.http, '/api/v1/positions', {
        token: ADMIN_TOKEN,
        body: {
          positions: batch.map((w) => {
            const g = srv.system.city.region(w.gridCode)!
            return { workerId: w.id, lat: g.centroid[1], lng: g.centroid[0], at }
          }),
        },
      })
      expect(pos.status).toBe(202)
      for (let k = 0; k < 3; k++) {
        const g = srv.system.city.region(workers[round * 10 + k]!.gridCode)!
        const r = await call<{ seq: number }>(srv.http, '/api/v1/events', {
          token: ADMIN_TOKEN,
          body: {
            category: 'CG0101',
            description: `slice ${round}.${k}`,
            lat: g.centroid[1],
            lng: g.centroid[0],
            source: 'patrol',
          },
        })
        expect(r.status).toBe(201)
        seqs.push(r.body.seq)
      }
      await new Promise((r) => setTimeout(r, 400))
    }
    const last = seqs.at(-1)!
    const moved = new Set(workers.map((w) => srv.system.city.workers().indexOf(w)))
    const workersSeen = (s: Recorder) => {
      const seen = new Set<number>()
      for (const f of s.of<PositionsFrame>('positions'))
        for (let i = 0; i < f.workers.length; i += 3) seen.add(f.workers[i]!)
      return seen
    }
    const done = (s: Recorder) =>
      s.lastSeq() >= last &&
      s.of<KpiFrame>('kpis').some((k) => k.seq >= last) &&
      [...moved].every((w) => workersSeen(s).has(w))
    await until(() => sockets.every(done), 'every socket has every change, kpis and positions', 30_000)
    // Let the last tick's slices finish before comparing.
    await new Promise((r) => setTimeout(r, 1500))

    const ticksOf = (s: Recorder, event: string) =>
      s.frames
        .filter((f) => f.event === event)
        .map((f) => JSON.stringify(f.payload))
        // Frames received before the first socket subscribed belong to no common window.
        .filter((x) => Date.parse((JSON.parse(x) as { at: string }).at) >= Date.parse(at))
    const reference = sockets[0]!
    for (const event of ['positions', 'kpis', 'grids']) {
      const mine = ticksOf(reference, event)
      expect(mine.length, event).toBeGreaterThan(0)
      // No frame twice: each tick's frame names its own instant.
      expect(new Set(mine.map((x) => (JSON.parse(x) as { at: string }).at)).size, event).toBe(mine.length)
      for (const s of sockets) expect(ticksOf(s, event), event).toEqual(mine)
    }
    for (const s of sockets) {
      const got = s
        .changes()
        .map((c: ChangeFrame) => c.seq)
        .filter((q) => q >= seqs[0]!)
      expect(got).toEqual([...got].sort((a, b) => a - b))
      expect(new Set(got).size).toBe(got.length)
      for (const q of seqs) expect(got).toContain(q)
    }
  }, 90_000)
})
