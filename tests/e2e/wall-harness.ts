/**
 * Helpers of the browser tests (`tests/e2e`) and the wall benchmark: build the client once, run
 * `server/main.ts` as a killable process group on a fixed port, drive Debian's Chromium with
 * playwright-core (its own browser download cannot work here), and read what the wall shows from its
 * data attributes: the KPI tiles (`data-kpi`, `data-seq`, `data-value`) and the connection state
 * (`data-status`, `data-stale-since`).
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { chromium, type Browser, type Frame, type Page } from 'playwright-core'
import type { KpiKey, KpiValues } from '../../shared/kpis.ts'
import { ADMIN_TOKEN, CLOCK_START, httpRequester, mintToken } from '../server/helpers.ts'
import { spawnServer, waitReady, type ChildServer } from '../server/live-helpers.ts'

export { ADMIN_TOKEN }
export const DISTRICT = '430602'
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** The screens the wall must fill: full HD, 4K, a 32:9 LED wall, a portrait totem. */
export const WALL_SIZES = [
  [1920, 1080],
  [3840, 2160],
  [5760, 1080],
  [1080, 1920],
] as const

/** Newest modification time of the files under `dir`. */
function newest(dir: string): number {
  let t = 0
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) t = Math.max(t, statSync(join(e.parentPath, e.name)).mtimeMs)
  return t
}

/** Build the web client when `dist/web` holds no build, or one older than its sources. */
export function ensureBuilt(): void {
  const index = 'dist/web/index.html'
  if (existsSync(index) && statSync(index).mtimeMs >= Math.max(newest('web'), newest('shared'))) return
  // A production build, whatever NODE_ENV the test runner set (vitest sets 'test', which would keep
  // ECharts' development checks in the bundle).
  execFileSync('npx', ['vite', 'build'], {
    stdio: 'inherit',
    env: { ...process.env, NODE_ENV: 'production' },
  })
}

export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', ...extraArgs],
  })
}

/**
 * The environment of a wall server: accelerated simulator, two days of history (so yesterday at
 * this time has figures to compare with), a known admin token.
 */
export function wallEnv(
  port: number,
  dataDir: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    SIMULATE: '1',
    SIM_SPEED: '10',
    BACKFILL_DAYS: '2',
    SIM_SEED: '20260101',
    SIM_CLOCK_START: CLOCK_START,
    LOG_LEVEL: 'warn',
    ADMIN_TOKEN,
    ...extra,
  }
}

/** `server/main.ts` as a child process group, resolved once `/readyz` answers 200. */
export async function startServer(env: Record<string, string>): Promise<ChildServer> {
  const server = spawnServer(env)
  await waitReady(`http://127.0.0.1:${env.PORT}`, server, 120_000)
  return server
}

export const mintOfficer = (base: string): Promise<string> =>
  mintToken(httpRequester(base), 'officer', { ttl: '2h' })

export async function readySeq(base: string): Promise<number> {
  return ((await (await fetch(`${base}/readyz`)).json()) as { seq: number }).seq
}

export interface KpiReport {
  region: string
  /** ISO instants: the period and the instant the figures were read at. */
  from: string
  to: string
  at: string
  seq: number
  values: KpiValues
}

export async function fetchKpis(base: string, token: string, region = DISTRICT): Promise<KpiReport> {
  const r = await fetch(`${base}/api/v1/kpis?region=${region}`, {
    headers: { authorization: `Bearer ${token}` },
  })
  if (!r.ok) throw new Error(`GET /api/v1/kpis: ${r.status} ${await r.text()}`)
  return (await r.json()) as KpiReport
}

/** Console errors and uncaught exceptions of a page, as they happen. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = []
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`)
  })
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`))
  return errors
}

export interface Tile {
  kpi: KpiKey
  seq: string
  value: string
  /** What a person reads on the tile: its value with its unit ("97.0%", "12", "—"). */
  text: string
}

/** Every KPI tile, read in one evaluate (so all of them come from the same render). */
export const readTiles = (page: Page): Promise<Tile[]> =>
  page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('[data-testid=kpi-tile]')].map((e) => ({
      kpi: (e.dataset.kpi ?? '') as KpiKey,
      seq: e.dataset.seq ?? '',
      value: e.dataset.value ?? '',
      text: (e.querySelector('.value')?.textContent ?? '').replace(/\s+/g, ''),
    })),
  )

/** What a tile must show for a value: the raw number, or nothing for null. */
export const rawValue = (v: number | null): string => (v === null ? '' : String(v))

/** Wait until the header says live and every tile carries a seq. */
export async function waitForLive(page: Page, timeoutMs = 60_000): Promise<void> {
  await page.waitForFunction(
    () => {
      const status = document.querySelector('[data-testid=connection]')?.getAttribute('data-status')
      const tiles = [...document.querySelectorAll('[data-testid=kpi-tile]')]
      return status === 'live' && tiles.length > 0 && tiles.every((t) => t.getAttribute('data-seq'))
    },
    null,
    { timeout: timeoutMs, polling: 100 },
  )
}

/** Wait for the header clock to tick `n` times (the wall's once-a-second timers have run). */
export async function waitForTicks(page: Page, n = 2, timeoutMs = 10_000): Promise<void> {
  const seen = await page.locator('[data-testid=clock]').textContent()
  await page.waitForFunction(
    ({ first, n }) => {
      const w = window as unknown as { __ticks?: { last: string; count: number } }
      const now = document.querySelector('[data-testid=clock]')?.textContent ?? ''
      w.__ticks ??= { last: first, count: 0 }
      if (now !== w.__ticks.last) {
        w.__ticks.last = now
        w.__ticks.count++
      }
      if (w.__ticks.count < n) return false
      delete w.__ticks
      return true
    },
    { first: seen ?? '', n },
    { timeout: timeoutMs, polling: 50 },
  )
}

/**
 * Text that does not fit its box, outside the charts: content wider than its element (unless it ends
 * in an ellipsis), taller by more than half a rem (a wrapped title; less is the font's own overhang),
 * or cut off at the bottom of a panel. The ticker and the alerts are lists whose oldest entries fall off
 * the bottom by design.
 */
export const layoutProblems = (page: Page): Promise<string[]> =>
  page.evaluate(() => {
    const out: string[] = []
    const slack = parseFloat(getComputedStyle(document.documentElement).fontSize) / 2
    for (const e of document.querySelectorAll<HTMLElement>('.wall *')) {
      if (e.closest('.echart') || (e.clientWidth === 0 && e.clientHeight === 0)) continue
      const css = getComputedStyle(e)
      const clips = css.overflowX !== 'visible' || css.overflowY !== 'visible'
      const x = e.scrollWidth - e.clientWidth
      const y = e.scrollHeight - e.clientHeight
      const what = `<${e.tagName.toLowerCase()} class="${e.className}"> "${(e.textContent ?? '').trim().slice(0, 40)}"`
      if (x > 1 && !(clips && css.textOverflow === 'ellipsis')) out.push(`${x}px too wide: ${what}`)
      if (!clips && y > slack) out.push(`${y}px too tall: ${what}`)
      const scrollsOff = e.querySelector('[data-testid=ticker], [data-testid=alerts]')
      if (clips && y > 1 && css.textOverflow !== 'ellipsis' && !scrollsOff)
        out.push(`${y}px cut off: ${what}`)
    }
    return out
  })

/** axe-core's serious and critical violations on the page as it is. */
export async function axeViolations(page: Page | Frame): Promise<string[]> {
  const require = createRequire(import.meta.url)
  await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') })
  return page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run: (
            o: object,
          ) => Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }>
        }
      }
    ).axe
    const r = await axe.run({ resultTypes: ['violations'] })
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map(
        (v) =>
          `${v.id} (${v.impact}): ${v.nodes
            .slice(0, 3)
            .map((n) => n.target.join(' '))
            .join(', ')}`,
      )
  })
}
