/**
 * The wall in real Chromium against the real server (`server/main.ts` as a child process).
 *
 * First with the simulator on (SIM_SPEED=10, two days of history): the wall goes live at the four
 * screen sizes without a console or page error (screenshots in `screenshots/`), signs in or refuses
 * cleanly, and speaks English with `?lang=en`.
 *
 * Then the KPI tiles are compared with `/api/v1/kpis` at the seq they show. With the simulator on the
 * server's seq moves on between two reads, so the same data directory is served again with SIMULATE=0:
 * nothing commits unless the test posts it, the tiles and the API can be read at one seq, and a few
 * events posted over HTTP must reach the tiles (new seq) with values equal to the API's, exactly.
 */
import { mkdirSync } from 'node:fs'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CATEGORIES } from '../../shared/categories.ts'
import { kpiText } from '../../shared/kpi-format.ts'
import { KPI_LABELS, type KpiKey } from '../../shared/kpis.ts'
import { createT } from '../../web/src/i18n.ts'
import { tempDir } from '../server/helpers.ts'
import { freePort, type ChildServer } from '../server/live-helpers.ts'
import {
  ADMIN_TOKEN,
  DISTRICT,
  WALL_SIZES,
  ensureBuilt,
  fetchKpis,
  launchChromium,
  layoutProblems,
  mintOfficer,
  rawValue,
  readTiles,
  readySeq,
  startServer,
  waitForLive,
  waitForTicks,
  wallEnv,
  watchErrors,
  type KpiReport,
  type Tile,
} from './wall-harness.ts'

const dir = tempDir('e2e-wall')
let port: number
let base: string
let server: ChildServer | null = null
let browser: Browser
let token: string

async function openPage(
  width: number,
  height: number,
  path: string,
): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width, height }, deviceScaleFactor: 1 })
  const page = await context.newPage()
  const errors = watchErrors(page)
  await page.goto(`${base}${path}`)
  return { page, errors }
}

beforeAll(async () => {
  ensureBuilt()
  mkdirSync('screenshots', { recursive: true })
  port = await freePort()
  base = `http://127.0.0.1:${port}`
  server = await startServer(wallEnv(port, dir.path))
  token = await mintOfficer(base)
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await server?.kill()
  dir.remove()
})

describe('the wall with the simulator running', () => {
  it.each(WALL_SIZES)(
    'goes live at %i×%i without console or page errors, every text in its box',
    async (width, height) => {
      const { page, errors } = await openPage(width, height, `/wall?token=${token}`)
      await waitForLive(page)
      // Two ticks of the wall's once-a-second timers: the map has drawn grids and workers; and
      // the comparison's figures, so the screenshot shows each tile's comparison.
      await waitForTicks(page, 2)
      await page.waitForFunction(() => document.querySelector('[data-vs-at]')?.getAttribute('data-vs-at'))
      await page.screenshot({ path: `screenshots/wall-${width}x${height}.png` })

      expect(errors).toEqual([])
      const tiles = await readTiles(page)
      expect(tiles.map((t) => t.kpi)).toHaveLength(7)
      expect(new Set(tiles.map((t) => t.seq)).size, 'every tile shows the same seq').toBe(1)
      // The wall fits its screen: nothing scrolls.
      const overflow = await page.evaluate(() => ({
        x: document.documentElement.scrollWidth - window.innerWidth,
        y: document.documentElement.scrollHeight - window.innerHeight,
      }))
      expect(overflow).toEqual({ x: 0, y: 0 })
      expect(await layoutProblems(page)).toEqual([])
      // On a 32:9 wall the map takes at least a third of the width (it used to get a fifth).
      if (width / height > 2.5) {
        const map = (await page.locator('.map').boundingBox())!
        expect(map.width / width).toBeGreaterThanOrEqual(1 / 3)
      }
      await page.context().close()
    },
  )

  it('shows the sign-in page, never the wall, without a token', async () => {
    const { page, errors } = await openPage(1920, 1080, '/wall')
    await page.locator('[data-testid=sign-in]').waitFor()
    expect(await page.locator('[data-testid=kpi-tile]').count()).toBe(0)
    expect(await page.locator('[data-testid=connection]').count()).toBe(0)
    expect(errors).toEqual([])
    await page.context().close()
  })

  it('shows the sign-in page, never a broken wall, with a garbage token', async () => {
    const { page, errors } = await openPage(1920, 1080, '/wall?token=garbage.not-a.token')
    await page.locator('[data-testid=sign-in]').waitFor()
    expect(await page.locator('[data-testid=kpi-tile]').count()).toBe(0)
    expect(await page.locator('[data-testid=connection]').count()).toBe(0)
    // The refused whoami is logged by Chromium itself; nothing else may go wrong.
    expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([])
    await page.context().close()
  })

  it.each([
    [1920, 1080],
    [1080, 1920],
  ])('speaks English with ?lang=en at %i×%i, every text in its box', async (width, height) => {
    const { page, errors } = await openPage(width, height, `/wall?token=${token}&lang=en`)
    await waitForLive(page)
    const t = createT('en')
    expect(await page.locator('h1').first().textContent()).toBe(t('title'))
    expect((await page.locator('[data-testid=connection]').textContent())?.trim()).toBe(t('live'))
    const labels = await page.evaluate(() =>
      Object.fromEntries(
        [...document.querySelectorAll<HTMLElement>('[data-testid=kpi-tile]')].map((e) => [
          e.dataset.kpi,
          e.textContent ?? '',
        ]),
      ),
    )
    for (const [kpi, text] of Object.entries(labels)) expect(text).toContain(KPI_LABELS[kpi as KpiKey].en)
    const headings = await page.locator('h2').allTextContents()
    for (const key of ['categories', 'trend', 'ranking', 'ticker', 'circles', 'alerts'] as const)
      expect(headings).toContain(t(key))
    // Some changes in the ticker, whose English names are the longest texts.
    await page.locator('[data-testid=ticker] li').nth(2).waitFor({ timeout: 30_000 })
    expect(await layoutProblems(page)).toEqual([])
    expect(errors).toEqual([])
    await page.context().close()
  })

  it('tours the streets with ?tour=N: each in turn with its own figures, then the district', async () => {
    const streets = (
      (await (
        await fetch(`${base}/api/v1/regions/${DISTRICT}`, { headers: { authorization: `Bearer ${token}` } })
      ).json()) as { children: { code: string; name: string }[] }
    ).children
    // The first street has a report today whatever the hour (the simulated volume falls ~25× at night).
    await postEvent(
      (await fetchGrids()).find((g) => g.code.startsWith(streets[0]!.code))!,
      'e2e tour event',
    )
    const { page, errors } = await openPage(1920, 1080, `/wall?token=${token}&tour=2`)
    await waitForLive(page)
    const card = page.locator('[data-testid=tour-card]')
    // The first stop: the district's first street, with its name and today's figures from the API.
    await card.waitFor({ timeout: 10_000 })
    expect(await card.getAttribute('data-region')).toBe(streets[0]!.code)
    expect(await card.locator('h3').textContent()).toBe(streets[0]!.name)
    await page.waitForFunction(
      () =>
        /\d/.test(document.querySelector('[data-testid=tour-card] [data-kpi=reported]')?.textContent ?? ''),
      null,
      { timeout: 10_000 },
    )
    const shown = Number(await card.locator('[data-kpi=reported]').textContent())
    const api = await fetchKpis(base, token, streets[0]!.code)
    // The simulator runs on: the API, read later, may only have grown.
    expect(shown).toBeLessThanOrEqual(api.values.reported)
    expect(shown).toBeGreaterThan(0)
    // Two seconds on, the next street.
    await page.waitForFunction(
      (code) => document.querySelector('[data-testid=tour-card]')?.getAttribute('data-region') === code,
      streets[1]!.code,
      { timeout: 10_000 },
    )
    await page.screenshot({ path: 'screenshots/wall-tour-1920x1080.png' })
    expect(await layoutProblems(page)).toEqual([])
    expect(errors).toEqual([])
    await page.context().close()
  })
})

/** Tiles and API as { kpi: value } records (the tiles' seq under `seq`), for a readable diff. */
const asRecord = (seq: string | number, values: [string, string][]) => ({
  seq: String(seq),
  ...Object.fromEntries(values),
})
const tilesRecord = (tiles: Tile[]) =>
  asRecord(
    tiles[0]?.seq ?? '',
    tiles.map((t) => [t.kpi, `${t.value} ${t.text}`]),
  )
/** What each tile must hold and show for the API's figure: the raw value, and its text ("97.0%", "—"). */
const apiRecord = (tiles: Tile[], api: KpiReport) =>
  asRecord(
    api.seq,
    tiles.map((t) => [t.kpi, `${rawValue(api.values[t.kpi])} ${kpiText(t.kpi, api.values[t.kpi])}`]),
  )

/**
 * Read the tiles, then the API, until both are at the same seq (`seq`, when given) and the tiles all
 * show one seq; then their values must be equal. Values that move with time alone (workers on duty,
 * events turning overdue) reach the tiles on the server's next tick, so a differing read is retried
 * for a few seconds before it fails.
 */
async function expectTilesEqualApi(page: Page, seq?: number): Promise<void> {
  const deadline = Date.now() + 15_000
  for (;;) {
    const tiles = await readTiles(page)
    const api = await fetchKpis(base, token)
    const oneSeq = new Set(tiles.map((t) => t.seq)).size === 1
    const sameSeq = oneSeq && tiles[0]!.seq === String(api.seq) && (seq === undefined || api.seq === seq)
    if (sameSeq && JSON.stringify(tilesRecord(tiles)) === JSON.stringify(apiRecord(tiles, api))) return
    if (Date.now() > deadline) {
      expect(tilesRecord(tiles)).toEqual(apiRecord(tiles, api))
      throw new Error(`tiles never showed seq ${seq ?? api.seq}`)
    }
    await page.waitForTimeout(200)
  }
}

describe('the KPI tiles against /api/v1/kpis, simulator stopped', () => {
  let page: Page
  let errors: string[]

  beforeAll(async () => {
    // Same data directory and port, nothing simulated: the seq only moves when this test posts.
    await server!.kill('SIGTERM')
    server = await startServer(wallEnv(port, dir.path, { SIMULATE: '0' }))
    ;({ page, errors } = await openPage(1920, 1080, `/wall?token=${token}`))
    await waitForLive(page)
  })

  it('equal the API at the seq they show', async () => {
    await expectTilesEqualApi(page, await readySeq(base))
    expect(errors).toEqual([])
  })

  it('list as many overdue events in the alerts as the API counts (up to the 30 listed)', async () => {
    const deadline = Date.now() + 15_000
    for (;;) {
      const listed = await page.evaluate(
        () =>
          new Set(
            [...document.querySelectorAll('[data-testid=alerts] li[data-event]')].map((l) =>
              l.getAttribute('data-event'),
            ),
          ).size,
      )
      const open = (await fetchKpis(base, token)).values.overdueOpen
      if (listed === Math.min(30, open)) break
      if (Date.now() > deadline) expect(listed).toBe(Math.min(30, open))
      await page.waitForTimeout(250)
    }
  })

  it('lists the last changes in the ticker at once, with nothing new happening', async () => {
    const seq = await readySeq(base)
    const seqs = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>('[data-testid=ticker] li')].map(
        (li) => li.dataset.seq ?? '',
      ),
    )
    expect(seqs.length).toBeGreaterThan(10)
    // Newest first, the newest being the head of the log (nothing was posted since the start).
    expect(seqs[0]).toBe(String(seq))
    const numbers = seqs.map(Number)
    expect(numbers).toEqual([...numbers].sort((a, b) => b - a))
    expect(errors).toEqual([])
  })

  it('compare each figure with the like day as it stood at the same instant, per the API with `at`', async () => {
    await page.waitForFunction(
      () => document.querySelector('[data-vs-at]')?.getAttribute('data-vs-at'),
      null,
      {
        timeout: 15_000,
      },
    )
    const shown = await page.evaluate(() => {
      const section = document.querySelector<HTMLElement>('[data-vs-at]')!
      return {
        basis: section.dataset.vsBasis!,
        from: section.dataset.vsFrom!,
        at: section.dataset.vsAt!,
        tiles: [...document.querySelectorAll<HTMLElement>('[data-testid=kpi-tile]')].map((e) => ({
          kpi: e.dataset.kpi as KpiKey,
          value: e.dataset.value ?? '',
          compare: e.dataset.compare ?? '',
          delta: e.querySelector('.delta')?.textContent ?? '',
        })),
      }
    })
    // The clock starts on a working Wednesday (unless TEST_CLOCK_START says otherwise): yesterday,
    // from its midnight to this time of day; the tiles name it.
    const at = Date.parse(shown.at)
    const from = Date.parse(shown.from)
    const today = await fetchKpis(base, token)
    const back = shown.basis === 'last_week' ? 7 : 1
    expect(['yesterday', 'last_week']).toContain(shown.basis)
    if (!process.env.TEST_CLOCK_START) expect(shown.basis).toBe('yesterday')
    expect(from).toBe(Date.parse(today.from) - back * 86_400_000)
    expect(at - from).toBeGreaterThan(0)
    expect(at - from).toBeLessThanOrEqual(86_400_000)
    const label = createT('zh')(shown.basis === 'last_week' ? 'vsLastWeek' : 'vsYesterday')
    for (const t of shown.tiles) expect(t.delta, t.kpi).toContain(label)
    const q = new URLSearchParams({ region: DISTRICT, from: shown.from, to: shown.at, at: shown.at })
    const api = (await (
      await fetch(`${base}/api/v1/kpis?${q}`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as KpiReport
    expect(Object.fromEntries(shown.tiles.map((t) => [t.kpi, t.compare]))).toEqual(
      Object.fromEntries(shown.tiles.map((t) => [t.kpi, rawValue(api.values[t.kpi])])),
    )
    // The counts always compare (rates may have no denominator yet just after midnight), and
    // each comparison shows the sign of its difference.
    for (const t of shown.tiles) {
      if (['reported', 'overdueOpen', 'onlineWorkers', 'patrolCoverage'].includes(t.kpi))
        expect(t.compare, t.kpi).not.toBe('')
      if (t.compare === '' || t.value === '') expect(t.delta, t.kpi).toContain('—')
      else {
        // The sign of the difference as shown, at the figure's precision (0.1 pp for a rate).
        const rate = KPI_LABELS[t.kpi].unit === 'rate'
        const d = Number(((Number(t.value) - Number(t.compare)) * (rate ? 100 : 1)).toFixed(rate ? 1 : 0))
        expect(t.delta, t.kpi).toContain(d > 0 ? '▲' : d < 0 ? '▼' : '＝')
      }
    }
    expect(errors).toEqual([])
  })

  it('follow events posted over HTTP to the new seq, still equal to the API', async () => {
    const before = await readySeq(base)
    const grid = (await fetchGrids())[0]!
    for (let i = 0; i < 3; i++) await postEvent(grid, `e2e wall event ${i}`)
    const after = await readySeq(base)
    expect(after).toBe(before + 3)
    await expectTilesEqualApi(page, after)
    const reported = (await readTiles(page)).find((t) => t.kpi === 'reported')!
    expect(reported.seq).toBe(String(after))
    expect(errors).toEqual([])
  })
})

/** Report one event into `grid` over HTTP (admin token); fails the test unless it is created. */
async function postEvent(grid: { code: string; centroid: [number, number] }, description: string) {
  const r = await fetch(`${base}/api/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      category: CATEGORIES.find((c) => c.code.startsWith('CG'))!.code,
      description,
      lat: grid.centroid[1],
      lng: grid.centroid[0],
      gridCode: grid.code,
      source: 'patrol',
    }),
  })
  expect(r.status).toBe(201)
}

async function fetchGrids(): Promise<{ code: string; centroid: [number, number] }[]> {
  const r = await fetch(`${base}/api/v1/regions/${DISTRICT}/geo?level=grid`, {
    headers: { authorization: `Bearer ${token}` },
  })
  const fc = (await r.json()) as { features: { properties: { code: string; centroid: [number, number] } }[] }
  return fc.features.map((f) => f.properties)
}
