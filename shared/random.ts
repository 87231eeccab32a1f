/** Seeded pseudo-random numbers (mulberry32) so the generated city is byte-identical across runs. */

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number
  /** Integer in [0, n). */
  int(n: number): number
  /** Uniform in [a, b). */
  range(a: number, b: number): number
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T
}

export function mulberry32(seed: number): Rng {
  let a = seed >>> 0
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number): number => Math.floor(next() * n)
  return {
    next,
    int,
    range: (lo, hi) => lo + (hi - lo) * next(),
    pick: <T>(items: readonly T[]): T => {
      if (items.length === 0) throw new Error('pick from an empty list')
      return items[int(items.length)] as T
    },
  }
}

/** A 32-bit seed derived from a string (FNV-1a), to give each sub-step its own stream. */
export function seedFrom(...parts: (string | number)[]): number {
  let h = 0x811c9dc5
  for (const ch of parts.join('|')) {
    h ^= ch.codePointAt(0) ?? 0
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h >>> 0
}

/** Index drawn with probability proportional to weights (all ≥ 0, not all 0). */
export function weightedIndex(rng: Rng, weights: readonly number[]): number {
  let total = 0
  for (const w of weights) total += w
  if (!(total > 0)) return rng.int(weights.length)
  let r = rng.next() * total
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i] ?? 0
    if (r < 0) return i
  }
  return weights.length - 1
}

/** k distinct indices drawn without replacement, each step proportional to the remaining weights. */
export function weightedSample(rng: Rng, weights: readonly number[], k: number): number[] {
  const w = [...weights]
  const out: number[] = []
  const count = Math.min(k, w.length)
  for (let n = 0; n < count; n++) {
    const i = weightedIndex(rng, w)
    out.push(i)
    w[i] = 0
    // if every remaining weight is 0, fall back to uniform over the untaken ones
    if (w.every((x) => x === 0)) {
      const rest = w.map((_, j) => j).filter((j) => !out.includes(j))
      while (out.length < count && rest.length > 0)
        out.push(rest.splice(rng.int(rest.length), 1)[0] as number)
      break
    }
  }
  return out
}
