/**
 * Grid workers' days: on duty about 08:00–18:00, pinging as they go; two patrol rounds a day
 * ("一日双巡"), each 20–45 minutes walking between points inside the worker's own grid. Between
 * rounds a worker is at a post just outside the own grid (so those pings never make a round).
 * A few rounds are skipped. The duty roster: every worker on a working day, about half of them (a
 * rota) on weekends and official holidays.
 */
import type { Position } from '../../shared/types.ts'
import type { CityIndex } from '../city/city-index.ts'
import { mulberry32, seedFrom } from '../../shared/random.ts'
import { onPatrolDuty, type Duty } from './rosters.ts'

interface Round {
  workerId: string
  gridCode: string
  start: number
  end: number
  key: number
}

const MIN = 60_000
const LEG_MS = 4 * MIN
const SKIP = 0.04

export function createPatrols(opts: {
  city: CityIndex
  seed: number
  dayStartOf: (ms: number) => number
  duty: Duty
}) {
  const { city, seed } = opts
  const onDuty = (workerId: string, dayStart: number): boolean =>
    onPatrolDuty(seed, workerId, dayStart, opts.duty.isOffDay(dayStart))
  const workers = city.workers()
  const centroids = new Map(city.gridsOf(city.district.code).map((g) => [g.code, g.centroid]))
  const dayCache = new Map<number, Round[]>()
  const byWorkerCache = new Map<number, Map<string, Round[]>>()
  const posts = new Map<string, [number, number]>()
  /** Where a worker waits between rounds: toward the nearest other grid, outside the own one. */
  const postOf = (workerId: string, gridCode: string): [number, number] => {
    let p = posts.get(workerId)
    if (p) return p
    const own = centroids.get(gridCode)!
    let best: [number, number] = [own[0] + 0.004, own[1]]
    let bestD = Infinity
    for (const [code, c] of centroids) {
      if (code === gridCode) continue
      const d = (c[0] - own[0]) ** 2 + (c[1] - own[1]) ** 2
      if (d < bestD) {
        bestD = d
        best = c
      }
    }
    p = city.inGrid(gridCode, best[0], best[1]) ? [own[0] + 0.004, own[1]] : best
    posts.set(workerId, p)
    return p
  }

  const roundsOfDay = (dayStart: number): Round[] => {
    let rounds = dayCache.get(dayStart)
    if (rounds) return rounds
    rounds = []
    for (const w of workers) {
      if (!onDuty(w.id, dayStart)) continue
      const rng = mulberry32(seedFrom(seed, 'patrol', w.id, dayStart))
      for (const base of [8.5, 14.5]) {
        if (rng.next() < SKIP) continue
        const start = dayStart + Math.round((base + rng.next() * 2) * 60) * MIN
        rounds.push({
          workerId: w.id,
          gridCode: w.gridCode,
          start,
          end: start + Math.round(rng.range(20, 45)) * MIN,
          key: rng.int(2 ** 31),
        })
      }
    }
    if (dayCache.size > 4) {
      const oldest = dayCache.keys().next().value!
      dayCache.delete(oldest)
      byWorkerCache.delete(oldest)
    }
    dayCache.set(dayStart, rounds)
    return rounds
  }
  const roundsByWorker = (dayStart: number): Map<string, Round[]> => {
    let m = byWorkerCache.get(dayStart)
    if (m) return m
    m = new Map()
    for (const r of roundsOfDay(dayStart)) m.set(r.workerId, [...(m.get(r.workerId) ?? []), r])
    byWorkerCache.set(dayStart, m)
    return m
  }

  /** Pings on duty outside rounds, every `intervalMs`, in [from, to). */
  const dutyPings = (day: number, from: number, to: number, intervalMs: number, out: Position[]): void => {
    const rounds = roundsByWorker(day)
    for (const w of workers) {
      if (!onDuty(w.id, day)) continue
      const rng = mulberry32(seedFrom(seed, 'duty', w.id, day))
      const start = day + (8 * 60 + rng.int(30)) * MIN
      const end = day + (17 * 60 + 30 + rng.int(60)) * MIN
      const phase = rng.int(intervalMs)
      const mine = rounds.get(w.id) ?? []
      const post = postOf(w.id, w.gridCode)
      const first = Math.max(start, from)
      let t = start + phase + Math.ceil((first - start - phase) / intervalMs) * intervalMs
      for (; t < Math.min(end, to); t += intervalMs) {
        if (t < from || mine.some((r) => t >= r.start - intervalMs && t <= r.end + intervalMs)) continue
        const j = mulberry32(seedFrom(w.id, t))
        const lng = post[0] + j.range(-0.0006, 0.0006)
        const lat = post[1] + j.range(-0.0006, 0.0006)
        const [x, y] = city.inGrid(w.gridCode, lng, lat) ? post : [lng, lat]
        out.push({ workerId: w.id, at: t, lng: Math.round(x * 1e6) / 1e6, lat: Math.round(y * 1e6) / 1e6 })
      }
    }
  }

  const waypoint = (r: Round, j: number): [number, number] =>
    city.randomPointIn(r.gridCode, mulberry32(seedFrom(r.key, j)).next)

  const positionAt = (r: Round, t: number): [number, number] => {
    const j = Math.floor((t - r.start) / LEG_MS)
    const f = (t - r.start - j * LEG_MS) / LEG_MS
    const a = waypoint(r, j)
    const b = waypoint(r, j + 1)
    const p: [number, number] = [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f]
    return city.inGrid(r.gridCode, p[0], p[1]) ? p : f < 0.5 ? a : b
  }

  /**
   * Pings with from ≤ at < to, ordered by time: rounds every `intervalMs`, and on-duty pings every
   * `dutyIntervalMs` (none when null: history is backfilled with the rounds alone).
   */
  return function pingsBetween(
    from: number,
    to: number,
    intervalMs: number,
    dutyIntervalMs: number | null,
  ): Position[] {
    const days = new Set([opts.dayStartOf(from), opts.dayStartOf(to - 1)])
    const out: Position[] = []
    for (const day of days) {
      if (dutyIntervalMs !== null) dutyPings(day, from, to, dutyIntervalMs, out)
      for (const r of roundsOfDay(day)) {
        if (r.end < from || r.start >= to) continue
        const k0 = Math.max(0, Math.ceil((from - r.start) / intervalMs))
        for (let t = r.start + k0 * intervalMs; t < to && t <= r.end; t += intervalMs) {
          const [lng, lat] = positionAt(r, t)
          out.push({
            workerId: r.workerId,
            at: t,
            lng: Math.round(lng * 1e6) / 1e6,
            lat: Math.round(lat * 1e6) / 1e6,
          })
        }
      }
    }
    return out.sort((a, b) => a.at - b.at)
  }
}
