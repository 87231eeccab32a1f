/**
 * Splits a region into n parts that tile it exactly: a capacity-constrained power diagram (weighted Voronoi)
 * of seed points, each convex cell clipped to the region with polygon-clipping. Seeds and weights are fitted
 * on density-weighted sample points so that each part gets roughly its target share of the "mass"
 * (population): dense areas get small parts, sparse areas big ones. Pure and deterministic for a seed.
 */
import polygonClipping from 'polygon-clipping'
import type { LngLat, MultiPolygonCoords } from '../../../shared/city.ts'
import { bboxOf, makeContains, planarArea, type Projection } from './geometry.ts'
import { type Rng, weightedSample } from '../../../shared/random.ts'

export interface PartitionOptions {
  /** Mass density at a point (people per km², any scale), > 0. */
  density: (p: LngLat) => number
  proj: Projection
  rng: Rng
  /** Target share of each part (any positive scale); length = number of parts. */
  targets: readonly number[]
  samplesPerPart?: number
  minSamples?: number
  iterations?: number
  /** false: plain (unweighted) Voronoi of the relaxed seeds, ignoring the targets' sizes. Default true. */
  weighted?: boolean
}

export interface PartitionPart {
  geometry: MultiPolygonCoords
  /** Estimated mass (∫ density dA, km² × density units). */
  mass: number
  /** Mean density over the sample points of the part (for ranking parts from dense to sparse). */
  meanDensity: number
  seed: LngLat
}

type Pt = [number, number]

/** Clips a convex polygon (open ring, km) by the half-plane a·x + b·y ≤ c (Sutherland–Hodgman). */
function clipHalfPlane(poly: Pt[], a: number, b: number, c: number): Pt[] {
  const out: Pt[] = []
  for (let i = 0; i < poly.length; i++) {
    const p = poly[i] as Pt
    const q = poly[(i + 1) % poly.length] as Pt
    const fp = a * p[0] + b * p[1] - c
    const fq = a * q[0] + b * q[1] - c
    if (fp <= 0) out.push(p)
    if ((fp < 0 && fq > 0) || (fp > 0 && fq < 0)) {
      const t = fp / (fp - fq)
      out.push([p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])])
    }
  }
  return out
}

/** Power cell of seed i (convex, km), clipped to the rectangle [x0,x1]×[y0,y1]. */
export function powerCell(
  seeds: readonly Pt[],
  weights: readonly number[],
  i: number,
  rect: [number, number, number, number],
): Pt[] {
  const [x0, y0, x1, y1] = rect
  let poly: Pt[] = [
    [x0, y0],
    [x1, y0],
    [x1, y1],
    [x0, y1],
  ]
  const si = seeds[i] as Pt
  const wi = weights[i] as number
  for (let j = 0; j < seeds.length && poly.length > 0; j++) {
    if (j === i) continue
    const sj = seeds[j] as Pt
    const wj = weights[j] as number
    // |x−si|² − wi ≤ |x−sj|² − wj  ⇔  2(sj−si)·x ≤ |sj|² − |si|² − wj + wi
    const a = 2 * (sj[0] - si[0])
    const b = 2 * (sj[1] - si[1])
    const c = sj[0] * sj[0] + sj[1] * sj[1] - si[0] * si[0] - si[1] * si[1] - wj + wi
    poly = clipHalfPlane(poly, a, b, c)
  }
  return poly
}

/** Uniform random points inside the region (rejection sampling in its bbox). */
export function samplePoints(region: MultiPolygonCoords, count: number, rng: Rng): LngLat[] {
  const b = bboxOf(region)
  const contains = makeContains(region)
  const out: LngLat[] = []
  const maxTries = count * 500
  for (let t = 0; t < maxTries && out.length < count; t++) {
    const p: LngLat = [rng.range(b.minX, b.maxX), rng.range(b.minY, b.maxY)]
    if (contains(p)) out.push(p)
  }
  return out
}

function nearestPower(x: number, y: number, seeds: readonly Pt[], weights: readonly number[]): number {
  let best = 0
  let bestD = Infinity
  for (let i = 0; i < seeds.length; i++) {
    const s = seeds[i] as Pt
    const d = (x - s[0]) ** 2 + (y - s[1]) ** 2 - (weights[i] as number)
    if (d < bestD) {
      bestD = d
      best = i
    }
  }
  return best
}

export function partitionRegion(region: MultiPolygonCoords, opts: PartitionOptions): PartitionPart[] {
  const n = opts.targets.length
  if (n === 0) return []
  const { proj, rng, density } = opts
  const nSamples = Math.max(opts.minSamples ?? 1500, n * (opts.samplesPerPart ?? 200))
  const pts = samplePoints(region, nSamples, rng)
  if (pts.length < n) throw new Error(`region too thin to place ${n} parts (got ${pts.length} sample points)`)
  const km = pts.map((p) => proj.toKm(p) as Pt)
  const mass = pts.map((p) => Math.max(1e-9, density(p)))
  const totalMass = mass.reduce((a, b) => a + b, 0)
  const regionKm2 = planarAreaKm2(region, proj)
  const massUnit = regionKm2 / pts.length

  if (n === 1) {
    return [
      {
        geometry: region,
        mass: totalMass * massUnit,
        meanDensity: totalMass / pts.length,
        seed: pts[0] as LngLat,
      },
    ]
  }

  const tSum = opts.targets.reduce((a, b) => a + b, 0)
  const target = opts.targets.map((t) => (t / tSum) * totalMass)
  // initial seeds: density-weighted draw; densest seeds go to the first targets (caller orders them dense-first)
  const initial = weightedSample(rng, mass, n).sort(
    (a, b) => (mass[b] as number) - (mass[a] as number) || a - b,
  )
  let seeds: Pt[] = initial.map((i) => [...(km[i] as Pt)] as Pt)
  let weights = new Array<number>(n).fill(0)
  const iterations = opts.iterations ?? 40
  const assign = new Int32Array(pts.length)
  for (let it = 0; it <= iterations; it++) {
    const m = new Float64Array(n)
    const cx = new Float64Array(n)
    const cy = new Float64Array(n)
    const cnt = new Int32Array(n)
    for (let s = 0; s < pts.length; s++) {
      const [x, y] = km[s] as Pt
      const i = nearestPower(x, y, seeds, weights)
      assign[s] = i
      const w = mass[s] as number
      m[i]! += w
      cx[i]! += w * x
      cy[i]! += w * y
      cnt[i]! += 1
    }
    if (it === iterations) break
    seeds = seeds.map((s, i) =>
      (m[i] as number) > 0 ? [(cx[i] as number) / (m[i] as number), (cy[i] as number) / (m[i] as number)] : s,
    )
    if (opts.weighted === false) continue
    weights = weights.map((w, i) => {
      const t = target[i] as number
      const areaKm2 = Math.max(cnt[i] as number, 1) * massUnit
      const ratio = Math.max(-1, Math.min(1, (t - (m[i] as number)) / t))
      return w + 0.6 * ratio * (areaKm2 / Math.PI)
    })
    const mean = weights.reduce((a, b) => a + b, 0) / n
    weights = weights.map((w) => w - mean)
  }

  const parts = opts.weighted === false ? [] : buildParts(region, seeds, weights, proj)
  if (opts.weighted === false || parts.some((g) => g.length === 0)) {
    // a weighted cell missed the region: fall back to the plain Voronoi of seeds snapped onto own samples
    const snapped = snapSeeds(seeds, km, assign)
    return finish(region, snapped, new Array<number>(n).fill(0), km, mass, massUnit, proj)
  }
  return finishWith(parts, seeds, weights, km, mass, massUnit, proj)
}

function planarAreaKm2(region: MultiPolygonCoords, proj: Projection): number {
  const projected = region.map((poly) => poly.map((ring) => ring.map((p) => proj.toKm(p))))
  return planarArea(projected)
}

function buildParts(
  region: MultiPolygonCoords,
  seeds: Pt[],
  weights: number[],
  proj: Projection,
): MultiPolygonCoords[] {
  const b = bboxOf(region.map((poly) => poly.map((ring) => ring.map((p) => proj.toKm(p)))))
  const pad = Math.max(b.maxX - b.minX, b.maxY - b.minY) * 0.5 + 1
  const rect: [number, number, number, number] = [b.minX - pad, b.minY - pad, b.maxX + pad, b.maxY + pad]
  return seeds.map((_, i) => {
    const cell = powerCell(seeds, weights, i, rect)
    if (cell.length < 3) return []
    const ring = cell.map((p) => proj.toLngLat(p))
    ring.push([...(ring[0] as LngLat)] as LngLat)
    return polygonClipping.intersection(region, [ring]) as MultiPolygonCoords
  })
}

function snapSeeds(seeds: Pt[], km: Pt[], assign: Int32Array): Pt[] {
  const used = new Set<number>()
  return seeds.map((s, i) => {
    let best = -1
    let bestD = Infinity
    for (let k = 0; k < km.length; k++) {
      if (used.has(k)) continue
      const own = assign[k] === i
      const p = km[k] as Pt
      const d = (p[0] - s[0]) ** 2 + (p[1] - s[1]) ** 2 + (own ? 0 : 1e12)
      if (d < bestD) {
        bestD = d
        best = k
      }
    }
    used.add(best)
    return [...(km[best] as Pt)] as Pt
  })
}

function finish(
  region: MultiPolygonCoords,
  seeds: Pt[],
  weights: number[],
  km: Pt[],
  mass: number[],
  massUnit: number,
  proj: Projection,
): PartitionPart[] {
  const parts = buildParts(region, seeds, weights, proj)
  if (parts.some((g) => g.length === 0)) throw new Error('partition produced an empty part')
  return finishWith(parts, seeds, weights, km, mass, massUnit, proj)
}

function finishWith(
  parts: MultiPolygonCoords[],
  seeds: Pt[],
  weights: number[],
  km: Pt[],
  mass: number[],
  massUnit: number,
  proj: Projection,
): PartitionPart[] {
  const m = new Float64Array(seeds.length)
  const cnt = new Int32Array(seeds.length)
  km.forEach(([x, y], s) => {
    const i = nearestPower(x, y, seeds, weights)
    m[i]! += mass[s] as number
    cnt[i]! += 1
  })
  return parts.map((geometry, i) => ({
    geometry,
    mass: (m[i] as number) * massUnit,
    meanDensity: (cnt[i] as number) > 0 ? (m[i] as number) / (cnt[i] as number) : 0,
    seed: proj.toLngLat(seeds[i] as Pt),
  }))
}
