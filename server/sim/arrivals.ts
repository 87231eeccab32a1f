/**
 * New events: about `perDay` a day over the district's grids, weighted by population, with a
 * diurnal profile and the categories' realistic mix. Deterministic per minute of time.
 */
import { CATEGORIES } from '../../shared/categories.ts'
import type { EventSource, Reporter } from '../../shared/types.ts'
import type { CityIndex } from '../city/city-index.ts'
import type { ReportInput } from '../domain/event-service.ts'
import { mulberry32, seedFrom, weightedIndex, type Rng } from '../../shared/random.ts'

/** Relative report volume per local hour 0–23 (quiet at night, peaks mid-morning and afternoon). */
const DIURNAL = [
  0.15, 0.1, 0.08, 0.08, 0.1, 0.2, 0.5, 1.0, 1.6, 2.0, 2.0, 1.7, 1.1, 1.1, 1.7, 1.9, 1.8, 1.5, 1.1, 0.9, 0.7,
  0.5, 0.35, 0.2,
]
const DIURNAL_SUM = DIURNAL.reduce((a, b) => a + b, 0)

const SOURCES: readonly EventSource[] = ['patrol', 'hotline', 'video', 'referral', 'open311']
const SOURCE_WEIGHTS = [0.55, 0.3, 0.08, 0.04, 0.03]
const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程'
const GIVEN = '伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红梅建国志文海波'
const CAT_WEIGHTS = CATEGORIES.map((c) => c.weight)

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
}) {
  const { city, seed, perDay } = opts
  const grids = city.gridsOf(city.district.code)
  const gridWeights = grids.map((g) => g.population)

  const pointIn = (rng: Rng, gridIdx: number): [number, number] =>
    city.randomPointIn(grids[gridIdx]!.code, rng.next)

  const reporter = (rng: Rng): Reporter => ({
    name:
      SURNAMES[rng.int(SURNAMES.length)]! +
      GIVEN[rng.int(GIVEN.length)]! +
      (rng.next() < 0.6 ? GIVEN[rng.int(GIVEN.length)]! : ''),
    phone: '1' + String(3 + rng.int(7)) + String(rng.int(1e9)).padStart(9, '0'),
  })

  /** Arrivals within the minute starting at `minuteStart` (epoch ms, a multiple of 60 000). */
  return function arrivalsInMinute(minuteStart: number): Arrival[] {
    const rng = mulberry32(seedFrom(seed, 'arrivals', minuteStart))
    const mean = (perDay * DIURNAL[opts.localHour(minuteStart)]!) / DIURNAL_SUM / 60
    const n = poisson(rng, mean)
    const out: Arrival[] = []
    for (let i = 0; i < n; i++) {
      const gi = weightedIndex(rng, gridWeights)
      const cat = CATEGORIES[weightedIndex(rng, CAT_WEIGHTS)]!
      const source = SOURCES[weightedIndex(rng, SOURCE_WEIGHTS)]!
      const [lng, lat] = pointIn(rng, gi)
      const grid = grids[gi]!
      out.push({
        at: minuteStart + rng.int(60_000),
        input: {
          category: cat.code,
          description: `${grid.name}${PLACES[rng.int(PLACES.length)]}发现「${cat.zh}」问题，请处置`,
          lat: Math.round(lat * 1e6) / 1e6,
          lng: Math.round(lng * 1e6) / 1e6,
          source,
          gridCode: grid.code,
          ...(source === 'hotline' || source === 'open311' ? { reporter: reporter(rng) } : {}),
        },
      })
    }
    return out.sort((a, b) => a.at - b.at)
  }
}
