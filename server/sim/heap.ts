/** A binary min-heap ordered by `less`. */
export class MinHeap<T> {
  private items: T[] = []
  constructor(private readonly cmp: (a: T, b: T) => number) {}
  get size(): number {
    return this.items.length
  }
  peek(): T | undefined {
    return this.items[0]
  }
  push(item: T): void {
    const a = this.items
    a.push(item)
    let i = a.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (this.cmp(a[i]!, a[p]!) >= 0) break
      ;[a[i], a[p]] = [a[p]!, a[i]!]
      i = p
    }
  }
  pop(): T | undefined {
    const a = this.items
    const top = a[0]
    const last = a.pop()
    if (a.length > 0 && last !== undefined) {
      a[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < a.length && this.cmp(a[l]!, a[m]!) < 0) m = l
        if (r < a.length && this.cmp(a[r]!, a[m]!) < 0) m = r
        if (m === i) break
        ;[a[i], a[m]] = [a[m]!, a[i]!]
        i = m
      }
    }
    return top
  }
}
