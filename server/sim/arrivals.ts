/**
 * New events: about `perDay` a day (a week's mean) over the district's grids, weighted by
 * population, each source with its own daily and weekly curve: grid workers' patrol finds only while
 * they are on duty (and only in grids whose worker is on the day's rota), the 12345 hotline busiest
 * mornings and evenings, video analytics around the clock, referrals from above in office hours on
 * working days, the public portal (Open311) by day and evening. Deterministic per minute of time.
 */
import { CATEGORIES, type Category } from '../../shared/categories.ts'
import type { EventSource, Reporter } from '../../shared/types.ts'
import type { CityIndex } from '../city/city-index.ts'
import type { ReportInput } from '../domain/event-service.ts'
import { mulberry32, seedFrom, weightedIndex, type Rng } from '../../shared/random.ts'
import { onPatrolDuty, type Duty } from './rosters.ts'

interface SourceCurve {
  source: EventSource
  /** Share of a week's reports. */
  share: number
  /** Relative volume per local hour 0–23. */
  hourly: readonly number[]
  /** A day off's volume relative to a working day's. */
  offDay: number
  /** Categories it reports (all when absent). */
  categories?: (c: Category) => boolean
  /** People who leave a name and number (and so get a callback). */
  reporter: boolean
}

/** Shift hours only: the workers come on at 08:00–08:30 and leave from 17:30 (see patrols.ts). */
const PATROL = [0, 0, 0, 0, 0, 0, 0, 0, 0, 1.6, 1.6, 0.9, 0.3, 0.4, 0.9, 1.6, 1.4, 0, 0, 0, 0, 0, 0, 0]
const HOTLINE = [
  0.25, 0.15, 0.1, 0.08, 0.08, 0.15, 0.35, 0.8, 1.3, 1.6, 1.6, 1.4, 1.0, 1.0, 1.3, 1.4, 1.4, 1.3, 1.4, 1.7,
  1.8, 1.5, 1.0, 0.5,
]
const VIDEO = [
  0.5, 0.4, 0.3, 0.3, 0.3, 0.4, 0.6, 0.9, 1.1, 1.1, 1.1, 1.1, 1.0, 1.0, 1.1, 1.1, 1.1, 1.2, 1.3, 1.4, 1.4,
  1.2, 0.9, 0.7,
]
const OFFICE = [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
const PORTAL = [
  0.1, 0.05, 0.02, 0.02, 0.02, 0.05, 0.2, 0.6, 1.0, 1.2, 1.2, 1.1, 1.0, 1.0, 1.1, 1.1, 1.1, 1.1, 1.3, 1.5,
  1.5, 1.2, 0.8, 0.4,
]

/**
 * The mix (README, "Simulated volume"): grid workers find most of what the platform logs (岳阳楼区:
 * 33万 services by grid workers against 2.6万 events for district departments); cameras see street
 * order and city appearance.
 */
const CURVES: readonly SourceCurve[] = [
  { source: 'patrol', share: 0.9, hourly: PATROL, offDay: 0.5, reporter: false },
  { source: 'hotline', share: 0.06, hourly: HOTLINE, offDay: 1, reporter: true },
  {
    source: 'video',
    share: 0.025,
    hourly: VIDEO,
    offDay: 1,
    reporter: false,
    categories: (c) => ['CG01', 'CG04', 'CG05'].includes(c.group.code),
  },
  { source: 'referral', share: 0.005, hourly: OFFICE, offDay: 0.05, reporter: false },
  { source: 'open311', share: 0.01, hourly: PORTAL, offDay: 1.2, reporter: true },
]

/**
 * Mean reports per minute of each source, per local hour, on a working day and on a day off; a week
 * (five working days, two off) brings `perDay` a day on average.
 */
function minuteMeans(perDay: number): { work: number[][]; off: number[][] } {
  const work: number[][] = []
  const off: number[][] = []
  for (const c of CURVES) {
    const sum = c.hourly.reduce((a, b) => a + b, 0)
    const perWorkday = (perDay * c.share * 7) / (5 + 2 * c.offDay)
    work.push(c.hourly.map((h) => (perWorkday * h) / sum / 60))
    off.push(c.hourly.map((h) => (perWorkday * c.offDay * h) / sum / 60))
  }
  return { work, off }
}

const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程'
const GIVEN = '伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红梅建国志文海波'

const PLACES = [
  '路口',
  '小区门口',
  '菜市场旁',
  '公交站附近',
  '学校周边',
  '背街小巷',
  '沿街商铺前',
  '广场东侧',
]

/** Poisson draw (Knuth), fine for the small means of one minute. */
function poisson(rng: Rng, mean: number): number {
  const limit = Math.exp(-mean)
  let k = 0
  let p = rng.next()
  while (p > limit) {
    k++
    p *= rng.next()
  }
  return k
}

export interface Arrival {
  at: number
  input: ReportInput
}

export function createArrivals(opts: {
  city: CityIndex
  seed: number
  perDay: number
  localHour: (ms: number) => number
  duty: Duty
}) {
  const { city, seed, perDay, duty } = opts
  const grids = city.gridsOf(city.district.code)
  const gridWeights = grids.map((g) => g.population)
  const workerOf = new Map(city.workers().map((w) => [w.gridCode, w.id]))
  const means = minuteMeans(perDay)
  const categoryWeights = CURVES.map((c) =>
    CATEGORIES.map((cat) => (!c.categories || c.categories(cat) ? cat.weight : 0)),
  )

  const reporter = (rng: Rng): Reporter => ({
    name:
      SURNAMES[rng.int(SURNAMES.length)]! +
      GIVEN[rng.int(GIVEN.length)]! +
      (rng.next() < 0.6 ? GIVEN[rng.int(GIVEN.length)]! : ''),
    phone: '1' + String(3 + rng.int(7)) + String(rng.int(1e9)).padStart(9, '0'),
  })

  /** A grid by population; for a patrol find, one whose worker is on today's rota (or none). */
  const pickGrid = (rng: Rng, patrol: boolean, dayStart: number, off: boolean): number | null => {
    for (let tries = 0; tries < 12; tries++) {
      const gi = weightedIndex(rng, gridWeights)
      const worker = workerOf.get(grids[gi]!.code)
      if (!patrol || (worker !== undefined && onPatrolDuty(seed, worker, dayStart, off))) return gi
    }
    return null
  }

  /** Arrivals within the minute starting at `minuteStart` (epoch ms, a multiple of 60 000). */
  return function arrivalsInMinute(minuteStart: number): Arrival[] {
    const rng = mulberry32(seedFrom(seed, 'arrivals', minuteStart))
    const off = duty.isOffDay(minuteStart)
    const dayStart = duty.dayStartOf(minuteStart)
    const hour = opts.localHour(minuteStart)
    const perSource = (off ? means.off : means.work).map((m) => m[hour]!)
    const n = poisson(
      rng,
      perSource.reduce((a, b) => a + b, 0),
    )
    const out: Arrival[] = []
    for (let i = 0; i < n; i++) {
      const si = weightedIndex(rng, perSource)
      const curve = CURVES[si]!
      const gi = pickGrid(rng, curve.source === 'patrol', dayStart, off)
      const cat = CATEGORIES[weightedIndex(rng, categoryWeights[si]!)]!
      const at = minuteStart + rng.int(60_000)
      if (gi === null) continue
      const grid = grids[gi]!
      const [lng, lat] = city.randomPointIn(grid.code, rng.next)
      out.push({
        at,
        input: {
          category: cat.code,
          description: `${grid.name}${PLACES[rng.int(PLACES.length)]}发现「${cat.zh}」问题，请处置`,
          lat: Math.round(lat * 1e6) / 1e6,
          lng: Math.round(lng * 1e6) / 1e6,
          source: curve.source,
          gridCode: grid.code,
          ...(curve.reporter ? { reporter: reporter(rng) } : {}),
        },
      })
    }
    return out.sort((a, b) => a.at - b.at)
  }
}
