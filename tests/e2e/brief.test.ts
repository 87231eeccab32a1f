/**
 * The leaders' briefing (/brief) in real Chromium with touch, against the real server with the
 * simulator's history (two days backfilled, then the simulator stopped so that what the screen shows
 * and what the API answers can be read at one instant). At the three tablet sizes, portrait and
 * landscape: every figure's visible text equals the API's, formatted as a person reads it; drill
 * down to a grid by taps and back by the breadcrumbs; change the period and see 环比; open an
 * event's timeline; move the time slider and get the figures of that instant
 * (`/api/v1/kpis?at=`); reopen a copied URL and get the same view; the back button walks back; no
 * console error; axe-core finds no serious or critical violation in either theme. Screenshots in
 * `screenshots/brief-*.png`.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BriefResponse, EventsPage, EventView, KpisResponse } from '../../shared/api.ts'
import { kpiDelta, kpiText } from '../../shared/kpi-format.ts'
import { KPI_LABELS, type KpiKey } from '../../shared/kpis.ts'
import { httpRequester, mintToken, tempDir } from '../server/helpers.ts'
import { freePort, type ChildServer } from '../server/live-helpers.ts'
import {
  ADMIN_TOKEN,
  DISTRICT,
  ensureBuilt,
  axeViolations,
  launchChromium,
  startServer,
  wallEnv,
  watchErrors,
} from './wall-harness.ts'

const TABLETS = [
  [1024, 1366],
  [1366, 1024],
  [800, 1280],
] as const

const dir = tempDir('e2e-brief')
let base: string
let server: ChildServer | null = null
let browser: Browser
let leader: string

async function openTablet(width: number, height: number, path: string, theme?: 'dark') {
  const context = await browser.newContext({
    // axe-core is injected as a script: the page's own CSP (script-src 'self') would refuse it.
    bypassCSP: true,
    viewport: { width, height },
    deviceScaleFactor: 1,
    hasTouch: true,
    isMobile: false,
  })
  const page = await context.newPage()
  const errors = watchErrors(page)
  await page.goto(`${base}${path}${theme ? '&theme=dark' : ''}`)
  return { page, errors }
}

async function api<T>(path: string, token = leader): Promise<T> {
  const r = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } })
  if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`)
  return (await r.json()) as T
}

/** The cards as a person sees them: each figure's visible value and its 环比 / 同比 texts. */
const readCards = (page: Page) =>
  page.evaluate(() => {
    const root = document.querySelector<HTMLElement>('.cards')
    return {
      at: root?.dataset.at ?? '',
      cards: [...document.querySelectorAll<HTMLElement>('[data-testid=brief-kpi]')].map((e) => ({
        kpi: e.dataset.kpi ?? '',
        value: (e.querySelector('[data-testid=kpi-value]')?.textContent ?? '').trim(),
        previous: (e.querySelector('[data-testid=kpi-vs-previous]')?.textContent ?? '').trim(),
        year: (e.querySelector('[data-testid=kpi-vs-year]')?.textContent ?? '').trim(),
      })),
    }
  })

/** Wait until the cards show the region `code` (its breadcrumb is the current one) at a settled instant. */
async function waitForRegion(page: Page, code: string): Promise<void> {
  await page.waitForFunction(
    (c) =>
      document.querySelector('[data-testid=breadcrumbs] [aria-current=page]')?.getAttribute('data-code') ===
        c && document.querySelectorAll('[data-testid=brief-kpi]').length > 0,
    code,
    { timeout: 30_000, polling: 100 },
  )
}

/** The stream is live and the map's grid layer has had its once-a-second redraw. */
async function waitForMap(page: Page): Promise<void> {
  await page.waitForFunction(
    () => document.querySelector('[data-testid=connection]')?.getAttribute('data-status') === 'live',
  )
  await page.waitForTimeout(1600)
}

/** Every card's text equals the API's figures for the same region, period and instant. */
async function expectCardsEqualApi(page: Page, region: string, period: string): Promise<BriefResponse> {
  const shown = await readCards(page)
  const b = await api<BriefResponse>(
    `/api/v1/brief?region=${region}&period=${period}&at=${encodeURIComponent(shown.at)}`,
  )
  const want = shown.cards.map((c) => {
    const k = c.kpi as KpiKey
    return {
      kpi: k,
      value: kpiText(k, b.values[k]),
      previous: `环比 ${kpiDelta(k, b.values[k], b.previous.values[k]).text}`,
      year: `同比 ${b.yearAgo ? kpiDelta(k, b.values[k], b.yearAgo.values[k]).text : '—'}`,
    }
  })
  expect(
    shown.cards.map((c) => ({ kpi: c.kpi, value: c.value, previous: c.previous, year: c.year })),
  ).toEqual(want)
  return b
}

beforeAll(async () => {
  ensureBuilt()
  mkdirSync('screenshots', { recursive: true })
  const port = await freePort()
  base = `http://127.0.0.1:${port}`
  // Two days of history by the simulator, then served with the simulator off: nothing commits
  // unless a test posts it, so the screen and the API agree at one instant.
  const seeding = await startServer(wallEnv(port, dir.path))
  await seeding.kill()
  server = await startServer(wallEnv(port, dir.path, { SIMULATE: '0' }))
  leader = await mintToken(httpRequester(base), 'leader', { ttl: '2h' })
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await server?.kill()
  dir.remove()
})

describe('the briefing on a tablet', () => {
  it.each(TABLETS)(
    'at %i×%i: figures equal the API, drill down to a grid and back, 环比, timeline, slider, URL',
    async (width, height) => {
      const { page, errors } = await openTablet(width, height, `/brief?token=${leader}`)
      await waitForRegion(page, DISTRICT)
      await waitForMap(page)
      await page.screenshot({ path: `screenshots/brief-${width}x${height}-district.png` })
      await expectCardsEqualApi(page, DISTRICT, 'month')

      // Drill down by taps: a street from the list, a community from the list, a grid on the map.
      const street = (await api<BriefResponse>(`/api/v1/brief?region=${DISTRICT}`)).children[0]!.code
      await page.tap(`[data-testid=children] [data-code="${street}"]`)
      await waitForRegion(page, street)
      const community = (await api<BriefResponse>(`/api/v1/brief?region=${street}`)).children[0]!.code
      await page.tap(`[data-testid=children] [data-code="${community}"]`)
      await waitForRegion(page, community)
      const grid = (await api<BriefResponse>(`/api/v1/brief?region=${community}`)).children[0]!.code
      await page.tap(`[data-testid=children] [data-code="${grid}"]`)
      await waitForRegion(page, grid)
      await expectCardsEqualApi(page, grid, 'month')
      expect(await page.locator('[data-testid=breadcrumbs] button').count()).toBe(4)
      await page.screenshot({ path: `screenshots/brief-${width}x${height}-grid.png` })
      // The back button walks back to the community; the breadcrumbs back to the district.
      await page.goBack()
      await waitForRegion(page, community)
      await page.tap(`[data-testid=breadcrumbs] [data-code="${DISTRICT}"]`)
      await waitForRegion(page, DISTRICT)

      // A tap on the map opens the street under it.
      const box = (await page.locator('[data-testid=district-map]').boundingBox())!
      await page.touchscreen.tap(box.x + box.width / 2, box.y + box.height / 2)
      await page.waitForFunction(
        (d) => {
          const c = document
            .querySelector('[data-testid=breadcrumbs] [aria-current=page]')
            ?.getAttribute('data-code')
          return !!c && c !== d && c.length === 9
        },
        DISTRICT,
        { timeout: 15_000 },
      )
      await page.goBack()
      await waitForRegion(page, DISTRICT)

      // Another period: this week, each figure with its 环比.
      await page.tap('[data-period=week]')
      await page.waitForFunction(() => location.search.includes('period=week'))
      await page.waitForFunction(() =>
        document.querySelector('[data-testid=period-text]')?.textContent?.includes('—'),
      )
      await page.waitForTimeout(300)
      const week = await expectCardsEqualApi(page, DISTRICT, 'week')
      expect(week.period.kind).toBe('week')

      // The time slider: the figures of a past instant equal /api/v1/kpis?at=.
      const target = await page.evaluate(() => {
        const s = document.querySelector<HTMLInputElement>('[data-testid=time-slider]')!
        const v = Math.round((Number(s.min) + (Number(s.max) - Number(s.min)) * 0.5) / 60_000) * 60_000
        s.value = String(v)
        s.dispatchEvent(new Event('input', { bubbles: true }))
        s.dispatchEvent(new Event('change', { bubbles: true }))
        return v
      })
      await page.waitForFunction(() => location.search.includes('at='))
      await page.waitForFunction(
        (t) =>
          document.querySelector<HTMLElement>('.cards')?.dataset.at &&
          Date.parse(document.querySelector<HTMLElement>('.cards')!.dataset.at!) === t,
        target,
        { timeout: 15_000 },
      )
      const asOf = await readCards(page)
      const k = await api<KpisResponse>(
        `/api/v1/kpis?region=${DISTRICT}&from=${encodeURIComponent(week.period.from)}&to=${encodeURIComponent(new Date(target).toISOString())}&at=${encodeURIComponent(new Date(target).toISOString())}`,
      )
      for (const c of asOf.cards)
        expect(c.value, c.kpi).toBe(kpiText(c.kpi as KpiKey, k.values[c.kpi as KpiKey]))
      await page.screenshot({ path: `screenshots/brief-${width}x${height}-as-of.png` })

      // The ranking as it stood then: every street's visible figures equal /kpis?at= for that street.
      await page.tap('[data-tab=ranking]')
      await page.locator('[data-testid=ranking] tbody tr').first().waitFor()
      const rows = await page.evaluate(() =>
        [...document.querySelectorAll<HTMLElement>('[data-testid=ranking] tbody tr')].map((tr) => ({
          code: tr.dataset.code ?? '',
          cells: [...tr.querySelectorAll<HTMLElement>('td[data-kpi]')].map((td) => ({
            kpi: td.dataset.kpi ?? '',
            value: (td.querySelector('.v')?.textContent ?? '').trim(),
          })),
        })),
      )
      expect(rows.length).toBeGreaterThan(1)
      const atIso = encodeURIComponent(new Date(target).toISOString())
      for (const r of rows) {
        const u = await api<KpisResponse>(
          `/api/v1/kpis?region=${r.code}&from=${encodeURIComponent(week.period.from)}&to=${atIso}&at=${atIso}`,
        )
        expect(r.cells.length).toBeGreaterThan(0)
        for (const c of r.cells)
          expect(c.value, `${r.code} ${c.kpi}`).toBe(kpiText(c.kpi as KpiKey, u.values[c.kpi as KpiKey]))
      }
      await page.screenshot({ path: `screenshots/brief-${width}x${height}-ranking-as-of.png` })
      await page.tap('[data-tab=overview]')
      await page.locator('[data-testid=brief-kpi]').first().waitFor()

      // A copied URL reopens the same view.
      const url = page.url()
      const again = await openTablet(width, height, url.replace(base, ''))
      await waitForRegion(again.page, DISTRICT)
      await again.page.waitForFunction(
        (t) =>
          document.querySelector<HTMLElement>('.cards')?.dataset.at &&
          Date.parse(document.querySelector<HTMLElement>('.cards')!.dataset.at!) === t,
        target,
      )
      expect((await readCards(again.page)).cards).toEqual(asOf.cards)
      expect(again.errors).toEqual([])
      await again.page.context().close()

      // An event's whole timeline.
      await page.tap('[data-testid=back-to-live]')
      await page.tap('[data-tab=events]')
      await page.locator('[data-testid=events] .row').first().waitFor()
      await page.locator('[data-testid=events] .row').first().tap()
      await page.locator('[data-testid=timeline] li').first().waitFor()
      const steps = await page
        .locator('[data-testid=timeline] li')
        .evaluateAll((ls) => ls.map((l) => l.getAttribute('data-action')))
      expect(steps[0]).toBe('report')
      await page.screenshot({ path: `screenshots/brief-${width}x${height}-event.png` })
      // A leader never reads a reporter's contact details in full.
      const reporter = await page.locator('[data-testid=reporter]').allTextContents()
      for (const r of reporter) expect(r).not.toMatch(/\d{11}/)

      expect(errors).toEqual([])
      await page.context().close()
    },
  )
})

/** 'YYYY-MM-DD' as the PDF writes a date in Chinese: "2026年12月1日". */
const zhDate = (d: string) => {
  const [y, m, day] = d.split('-').map(Number)
  return `${y}年${m}月${day}日`
}
const esc = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

describe('the briefing paper', () => {
  it('exports what the screen shows: the PDF holds its region, period and every figure as shown', async () => {
    const { page, errors } = await openTablet(1366, 1024, `/brief?token=${leader}&period=month`)
    await waitForRegion(page, DISTRICT)
    await waitForMap(page)
    const shown = await readCards(page)
    const region = (await page.locator('[data-testid=breadcrumbs] [aria-current=page]').textContent())!.trim()
    const period = (await page.locator('[data-testid=period-text]').textContent())!.trim()
    const days = period.match(/\d{4}-\d{2}-\d{2}/g) ?? []
    expect(days).toHaveLength(2)

    const [download] = await Promise.all([page.waitForEvent('download'), page.tap('[data-testid=export]')])
    expect(download.suggestedFilename()).toBe(`brief-${DISTRICT}-month.pdf`)
    const file = join(dir.path, 'exported.pdf')
    await download.saveAs(file)
    expect(readFileSync(file).subarray(0, 5).toString('latin1')).toBe('%PDF-')
    const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' })
    const raw = execFileSync('pdftotext', ['-raw', file, '-'], { encoding: 'utf8' }).split('\n')
    expect(text).toContain(region)
    for (const d of days) expect(text).toContain(zhDate(d))
    // Each figure's row in the paper: its name, then the value and the 环比 the screen showed.
    expect(shown.cards.length).toBeGreaterThan(0)
    for (const c of shown.cards) {
      const starts = new RegExp(`^\\s*${esc(KPI_LABELS[c.kpi as KpiKey].zh)}(?![\\u4e00-\\u9fff])`)
      const row = raw.find((l) => starts.test(l))
      expect(row, c.kpi).toBeDefined()
      expect(row, c.kpi).toContain(` ${c.value} ${c.previous.replace(/^环比 /, '')}`)
    }
    execFileSync('pdftoppm', ['-png', '-r', '60', '-f', '1', '-l', '1', file, 'screenshots/brief-exported'])
    // The button came back from its progress text.
    await page.waitForFunction(
      () => !document.querySelector<HTMLButtonElement>('[data-testid=export]')?.disabled,
    )
    expect(errors).toEqual([])
    await page.context().close()
  })
})

describe('the replay of a day', () => {
  it('shows, at any instant of yesterday, the events open, overdue and closed as the API has them', async () => {
    const events = async (from: string, to: string): Promise<EventView[]> => {
      const out: EventView[] = []
      let cursor: string | null = null
      do {
        const q = new URLSearchParams({ region: DISTRICT, from, to, limit: '1000' })
        if (cursor) q.set('cursor', cursor)
        const p: EventsPage = await api<EventsPage>(`/api/v1/events?${q}`)
        out.push(...p.events)
        cursor = p.next
      } while (cursor)
      return out
    }
    // Yesterday in the city (+08:00) by the server's clock (simulated): the replay's default day.
    const { now } = await api<{ now: string }>('/api/v1/whoami')
    const today = new Date(Date.parse(now) + 8 * 3_600_000).toISOString().slice(0, 10)
    const start = Date.parse(`${today}T00:00:00+08:00`) - 86_400_000
    const end = start + 86_400_000
    const day = await events(new Date(start).toISOString(), new Date(end).toISOString())
    expect(day.length).toBeGreaterThan(10)
    const at = (t: number) => {
      const time = (x: string | null) => (x ? Date.parse(x) : null)
      let open = 0
      let overdue = 0
      let closed = 0
      for (const e of day) {
        if (Date.parse(e.reportedAt) > t) continue
        const gone = time(e.closedAt) ?? time(e.cancelledAt)
        if (gone !== null && gone <= t) closed++
        else {
          open++
          const deadline = time(e.deadline)
          const handled = time(e.handledAt)
          if (deadline !== null && deadline < t && !(handled !== null && handled <= t)) overdue++
        }
      }
      return { open: String(open), overdue: String(overdue), closed: String(closed) }
    }
    const { page, errors } = await openTablet(1366, 1024, `/brief?token=${leader}&tab=replay`)
    await page.locator('[data-testid=replay-slider]').waitFor()
    await page.waitForFunction(
      () => Number(document.querySelector<HTMLInputElement>('[data-testid=replay-slider]')?.min) > 0,
    )
    expect(Number(await page.locator('[data-testid=replay-slider]').getAttribute('min'))).toBe(start)
    const tally = () =>
      page.evaluate(() => ({
        open: document.querySelector('[data-testid=replay-open]')?.textContent?.trim() ?? '',
        overdue: document.querySelector('[data-testid=replay-overdue]')?.textContent?.trim() ?? '',
        closed: document.querySelector('[data-testid=replay-closed]')?.textContent?.trim() ?? '',
      }))
    const seek = (t: number) =>
      page.evaluate((v) => {
        const s = document.querySelector<HTMLInputElement>('[data-testid=replay-slider]')!
        s.value = String(v)
        s.dispatchEvent(new Event('input', { bubbles: true }))
      }, t)
    // The events of the day loaded (the tally at the end of the day counts every one of them).
    await seek(end)
    await page.waitForFunction(
      (n) =>
        Number(document.querySelector('[data-testid=replay-open]')?.textContent) +
          Number(document.querySelector('[data-testid=replay-closed]')?.textContent) ===
        n,
      day.length,
      { timeout: 30_000 },
    )
    expect(await tally()).toEqual(at(end))
    for (const h of [9, 14.5]) {
      const t = start + h * 3_600_000
      await seek(t)
      await page.waitForTimeout(100)
      expect(await tally(), `at ${h} h`).toEqual(at(t))
    }
    await page.screenshot({ path: 'screenshots/brief-replay.png' })
    // Played at ×120 from 08:00: the clock runs about two minutes of the day per second.
    await page.selectOption('[data-testid=replay] select', '120')
    await seek(start + 8 * 3_600_000)
    await page.tap('[data-testid=replay-play]')
    const t0 = Date.now()
    await page.waitForTimeout(3000)
    const clock = Number(await page.locator('[data-testid=replay-slider]').inputValue())
    const ran = clock - (start + 8 * 3_600_000)
    const real = Date.now() - t0
    expect(ran).toBeGreaterThan(0)
    // ×120 of the real time that passed, less at most one 250 ms step at each end.
    expect(ran).toBeLessThanOrEqual(real * 120)
    expect(ran).toBeGreaterThanOrEqual((real - 1000) * 120)
    await page.tap('[data-testid=replay-play]')
    expect(errors).toEqual([])
    await page.context().close()
  })
})

describe('accessibility', () => {
  it.each(['light', 'dark'] as const)(
    'axe-core finds no serious or critical violation on the briefing (%s)',
    async (theme) => {
      const { page, errors } = await openTablet(
        1366,
        1024,
        `/brief?token=${leader}`,
        theme === 'dark' ? 'dark' : undefined,
      )
      await waitForRegion(page, DISTRICT)
      await waitForMap(page)
      await page.screenshot({ path: `screenshots/brief-1366x1024-${theme}.png` })
      expect(await axeViolations(page)).toEqual([])
      expect(errors).toEqual([])
      await page.context().close()
    },
  )

  it('axe-core finds no serious or critical violation on the wall', async () => {
    const officer = await mintToken(httpRequester(base), 'officer', { ttl: '2h' })
    const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, bypassCSP: true })
    const page = await context.newPage()
    await page.goto(`${base}/wall?token=${officer}`)
    await page.waitForFunction(
      () => document.querySelector('[data-testid=connection]')?.getAttribute('data-status') === 'live',
    )
    expect(await axeViolations(page)).toEqual([])
    await context.close()
  })
})

void ADMIN_TOKEN
