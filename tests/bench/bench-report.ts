/** Shared helpers of the benchmarks: percentiles and writing a dated section to BENCHMARKS.md. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'

export const percentile = (sorted: number[], p: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
export const median = (sorted: number[]): number => percentile(sorted, 0.5)

/** Replace (or add) the section titled `title` in BENCHMARKS.md, stamped with the machine and date. */
export function appendSection(title: string, body: string): void {
  const file = 'BENCHMARKS.md'
  const head =
    '# Benchmarks\n\nEvery figure here was measured on the machine named in its section, by the command given there.\n'
  const text = existsSync(file) ? readFileSync(file, 'utf8') : head
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`
  const section = `## ${title}\n\nMeasured ${new Date().toISOString()} on ${machine}.\n\n${body}\n`
  const start = text.indexOf(`## ${title}`)
  if (start < 0) {
    writeFileSync(file, text.trimEnd() + '\n\n' + section)
    return
  }
  const next = text.indexOf('\n## ', start + 3)
  writeFileSync(file, text.slice(0, start) + section + (next < 0 ? '' : text.slice(next + 1)))
}
