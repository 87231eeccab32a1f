/**
 * Deploys, in Chromium against `server/main.ts` run as one node process (see node-server.ts):
 *
 * - A graceful restart: the live wall's server gets SIGTERM, exits 0, and is started again on the
 *   same port and data directory. The SAME document (a marker on window survives) goes live again by
 *   itself and shows what was committed after the restart: the tiles reach the new server's seq and
 *   the ticker shows a change above the pre-restart head.
 * - A wall opened during the first start's backfill says it is starting, with the backfill's
 *   progress, in either language; it goes live by itself when the backfill ends (no reload) and
 *   loads again the figures it had read over HTTP from the half-filled store.
 *
 * What the page showed over time is recorded inside it by a MutationObserver.
 */
import type { Browser, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { tempDir } from '../server/helpers.ts'
import { freePort, spawnServer, until, waitReady, type ChildServer } from '../server/live-helpers.ts'
import {
  ensureBuilt,
  launchChromium,
  mintOfficer,
  readySeq,
  waitForLive,
  wallEnv,
  watchErrors,
} from './wall-harness.ts'

interface BadgeLog {
  states: { status: string; progress: string; text: string; at: number }[]
}

let browser: Browser
let server: ChildServer | null = null
let dir: ReturnType<typeof tempDir> | null = null

beforeAll(async () => {
  ensureBuilt()
  browser = await launchChromium()
})
afterEach(async () => {
  await server?.kill()
  server = null
  dir?.remove()
  dir = null
})
afterAll(async () => {
  await browser?.close()
})

/** Mark the document and record every state of the connection badge inside the page. */
const startRecording = (page: Page) =>
  page.evaluate(() => {
    const w = window as unknown as { __badge: BadgeLog; __sameDocument: boolean }
    const log: BadgeLog = { states: [] }
    w.__badge = log
    w.__sameDocument = true
    const record = () => {
      const c = document.querySelector('[data-testid=connection]')
      const s = {
        status: c?.getAttribute('data-status') ?? '',
        progress: c?.getAttribute('data-progress') ?? '',
        text: c?.textContent?.trim() ?? '',
      }
      const last = log.states.at(-1)
      if (!last || last.status !== s.status || last.progress !== s.progress)
        log.states.push({ ...s, at: Date.now() })
    }
    record()
    new MutationObserver(record).observe(document.body, {
      subtree: true,
      childList: true,
      characterData: true,
      attributes: true,
      attributeFilter: ['data-status', 'data-progress'],
    })
  })

const badge = (page: Page) => page.evaluate(() => (window as unknown as { __badge: BadgeLog }).__badge)
const sameDocument = (page: Page) =>
  page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument === true)
const statusesOf = (log: BadgeLog) => log.states.map((s) => s.status).filter((s, i, a) => s !== a[i - 1])

/** Console noise a server going away causes in the browser (refused, reset, 503 while starting). */
const dropped = /WebSocket|net::ERR_(CONNECTION_(REFUSED|RESET|CLOSED|ABORTED)|EMPTY_RESPONSE)|status of 503/
const realErrors = (errors: string[]) => errors.filter((e) => e.startsWith('pageerror') || !dropped.test(e))

/** Answers ≥ 500 the page received, with their URL (a console error names no URL). */
function watchFailures(page: Page): string[] {
  const out: string[] = []
  page.on('response', (r) => {
    if (r.status() >= 500) out.push(`${r.status()} ${new URL(r.url()).pathname}`)
  })
  return out
}

it('after SIGTERM and a restart the same document goes live by itself and shows new changes', async () => {
  dir = tempDir('e2e-deploy')
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const env = wallEnv(port, dir.path, { SIM_SPEED: '30' })
  server = spawnServer(env)
  await waitReady(base, server, 120_000)
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } })
  const errors = watchErrors(page)
  const failures = watchFailures(page)
  await page.goto(`${base}/wall?token=${await mintOfficer(base)}`)
  await waitForLive(page)
  await startRecording(page)

  const headBefore = await readySeq(base)
  await server.kill('SIGTERM')
  expect(await server.exited, server.output()).toBe(0)
  await page.waitForFunction(
    () => document.querySelector('[data-testid=connection]')?.getAttribute('data-status') === 'reconnecting',
    null,
    { timeout: 15_000, polling: 50 },
  )

  server = spawnServer(env)
  await waitReady(base, server, 120_000)
  await waitForLive(page, 60_000)
  const restartedSeq = await readySeq(base)
  await page.waitForFunction(
    ({ seq, before }) => {
      const tile = Number(document.querySelector('[data-testid=kpi-tile]')?.getAttribute('data-seq'))
      const top = Number(document.querySelector('[data-testid=ticker] li')?.getAttribute('data-seq'))
      return tile >= seq && top > before
    },
    { seq: restartedSeq, before: headBefore },
    { timeout: 30_000, polling: 100 },
  )
  expect(restartedSeq).toBeGreaterThanOrEqual(headBefore)
  expect(await sameDocument(page)).toBe(true)
  // A wall that was live says "stale since" (reconnecting) until it is live again, never "starting".
  expect(statusesOf(await badge(page))).toEqual(['live', 'reconnecting', 'live'])
  expect(failures).toEqual([])
  expect(realErrors(errors)).toEqual([])
  await page.close()
})

it('a wall opened during the first backfill shows it is starting with its progress, then goes live', async () => {
  dir = tempDir('e2e-backfill')
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  // Long enough a backfill (tens of seconds here) to open the wall while it runs.
  server = spawnServer(wallEnv(port, dir.path, { BACKFILL_DAYS: '16' }))
  const startedAt = Date.now()
  const progress = async (): Promise<number | null> => {
    try {
      const r = await fetch(`${base}/readyz`)
      const body = (await r.json()) as { status: string; progress?: { percent: number } | null }
      return r.status === 503 && body.status === 'starting' ? (body.progress?.percent ?? null) : null
    } catch {
      return null
    }
  }
  await until(async () => (await progress()) !== null, 'the backfill under way', 60_000, 100)
  // REST answers during the backfill: the wall's token can be minted.
  const token = await mintOfficer(base)

  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } })
  const errors = watchErrors(page)
  const statsAt: number[] = []
  page.on('request', (r) => {
    if (r.url().includes('/api/v1/stats')) statsAt.push(Date.now())
  })
  const en = await browser.newPage({ viewport: { width: 1920, height: 1080 } })
  await Promise.all([
    page.goto(`${base}/wall?token=${token}`),
    en.goto(`${base}/wall?token=${token}&lang=en`),
  ])
  await page.waitForFunction(
    () => {
      const c = document.querySelector('[data-testid=connection]')
      return c?.getAttribute('data-status') === 'starting' && c.getAttribute('data-progress') !== ''
    },
    null,
    { timeout: 30_000, polling: 50 },
  )
  await startRecording(page)
  const text = (await page.locator('[data-testid=connection]').textContent())!.trim()
  expect(text).toMatch(/^正在启动：回填历史数据 \d{1,3}%$/)
  await en
    .waitForFunction(
      () =>
        /^Starting: backfilling history \d{1,3}%$/.test(
          document.querySelector('[data-testid=connection]')?.textContent?.trim() ?? '',
        ),
      null,
      { timeout: 30_000, polling: 50 },
    )
    .catch(async (err: Error) => {
      const shown = await en
        .locator('[data-testid=connection]')
        .textContent()
        .catch(() => null)
      throw new Error(`${err.message}; the English badge says ${JSON.stringify(shown)}; ${await progress()}`)
    })
  await en.close()

  await waitForLive(page, 180_000)
  const liveAt = Date.now()
  const backfillMs = liveAt - startedAt
  const log = await badge(page)
  expect(await sameDocument(page)).toBe(true)
  expect(statusesOf(log)).toEqual(['starting', 'live'])
  // The figure moves forward while the wall waits.
  const figures = log.states.filter((s) => s.status === 'starting').map((s) => Number(s.progress))
  expect(figures.length, JSON.stringify(log.states)).toBeGreaterThan(1)
  expect(figures).toEqual([...figures].sort((a, b) => a - b))
  expect(figures.every((p) => p >= 0 && p <= 100)).toBe(true)
  // The figures it had read while the store was being filled are read again once live.
  await until(() => statsAt.some((t) => t >= liveAt - 1000), 'stats loaded again once live', 30_000, 100)
  expect((await fetch(`${base}/readyz`)).status).toBe(200)
  expect(backfillMs, 'the backfill must outlast the wall opening').toBeGreaterThan(10_000)
  expect(realErrors(errors)).toEqual([])
  await page.close()
})
