/** Deterministic, compact serialisation of a CityFile: one array element per line, no other whitespace. */
import type { CityFile } from '../../../shared/city.ts'

export function serializeCity(city: CityFile): string {
  const lines: string[] = ['{']
  const entries = Object.entries(city) as [string, unknown][]
  entries.forEach(([key, value], i) => {
    const comma = i < entries.length - 1 ? ',' : ''
    if (Array.isArray(value)) {
      if (value.length === 0) {
        lines.push(`${JSON.stringify(key)}:[]${comma}`)
        return
      }
      lines.push(`${JSON.stringify(key)}:[`)
      value.forEach((v, k) => lines.push(JSON.stringify(v) + (k < value.length - 1 ? ',' : '')))
      lines.push(`]${comma}`)
    } else lines.push(`${JSON.stringify(key)}:${JSON.stringify(value)}${comma}`)
  })
  lines.push('}')
  return lines.join('\n') + '\n'
}
