/** Integer apportionment helpers: totals are always met exactly. Pure. */

/**
 * Largest-remainder apportionment of `total` over `weights` (≥ 0). Ties go to the lower index so the result
 * is deterministic. If every weight is 0 the total is spread evenly.
 */
export function largestRemainder(weights: readonly number[], total: number): number[] {
  const n = weights.length
  if (n === 0) {
    if (total !== 0) throw new Error(`cannot apportion ${total} over nothing`)
    return []
  }
  if (!Number.isInteger(total) || total < 0)
    throw new Error(`total must be a non-negative integer, got ${total}`)
  let sum = 0
  for (const w of weights) {
    if (!(w >= 0) || !Number.isFinite(w)) throw new Error(`invalid weight ${w}`)
    sum += w
  }
  const ws = sum > 0 ? weights : weights.map(() => 1)
  const s = sum > 0 ? sum : n
  const quotas = ws.map((w) => (w / s) * total)
  const out = quotas.map((q) => Math.floor(q))
  let left = total - out.reduce((a, b) => a + b, 0)
  const order = quotas.map((q, i) => ({ i, r: q - Math.floor(q) })).sort((a, b) => b.r - a.r || a.i - b.i)
  for (let k = 0; left > 0; k = (k + 1) % n, left--) out[(order[k] as { i: number }).i]! += 1
  return out
}

/**
 * Proportional apportionment where every share gets at least `min` (requires total ≥ n·min): shares that
 * would fall below the minimum are pinned to it and the rest is re-apportioned among the others.
 */
export function apportionWithMinimum(weights: readonly number[], total: number, min = 1): number[] {
  const n = weights.length
  if (total < n * min)
    throw new Error(`need at least ${n * min} to give each of ${n} parts ${min}, got ${total}`)
  const pinned = new Array<boolean>(n).fill(false)
  for (;;) {
    const free = weights.map((_, i) => i).filter((i) => !pinned[i])
    const freeTotal = total - (n - free.length) * min
    const shares = largestRemainder(
      free.map((i) => weights[i] as number),
      freeTotal,
    )
    const low = free.filter((_, k) => (shares[k] as number) < min)
    if (low.length === 0 || free.length === low.length) {
      const out = new Array<number>(n).fill(min)
      if (low.length === 0) free.forEach((i, k) => (out[i] = shares[k] as number))
      else {
        // everything left is below the minimum: spread the remainder evenly on top of the minimum
        const extra = largestRemainder(
          free.map(() => 1),
          freeTotal - free.length * min,
        )
        free.forEach((i, k) => (out[i] = min + (extra[k] as number)))
      }
      return out
    }
    for (const i of low) pinned[i] = true
  }
}
