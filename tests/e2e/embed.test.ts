/**
 * Portal embeds in real Chromium, as a portal frames them: a host page served from a second origin
 * (another port) puts `/embed/kpis` in an iframe with an embed token naming that origin. The panel
 * shows live figures, as the public KPI API gives them, with no console error, says how fresh they
 * are and tells the host its height. The same host page on an origin the token does not name is
 * refused framing by the browser (CSP frame-ancestors). The panel's page loads only its own entry:
 * its JS and CSS stay within 150 KB gzip.
 */
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import type { Browser, Frame } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EmbedRankingResponse, EmbedTrendResponse, KpisResponse } from '../../shared/api.ts'
import { kpiText } from '../../shared/kpi-format.ts'
import type { KpiKey } from '../../shared/kpis.ts'
import { call, httpRequester, mintToken, tempDir } from '../server/helpers.ts'
import { freePort, type ChildServer } from '../server/live-helpers.ts'
import {
  ADMIN_TOKEN,
  axeViolations,
  ensureBuilt,
  launchChromium,
  startServer,
  wallEnv,
  watchErrors,
} from './wall-harness.ts'

const STREET = '430602001'
const dir = tempDir('e2e-embed')
let base: string
let server: ChildServer | null = null
let browser: Browser
const hosts: Server[] = []

/** A portal's page on its own origin, framing `src` as the documented snippet does. */
async function portal(src: string, port = 0): Promise<string> {
  const page = `<!doctype html><html><body><h1>Portal</h1>
<iframe id="cb" src="${src}" style="width:100%;border:0" title="City Brain"></iframe>
<script>addEventListener('message',function(e){if(e.data&&e.data.type==='city-brain:height')document.getElementById('cb').style.height=e.data.height+'px'})</script>
</body></html>`
  const host = createServer((_, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(page))
  await new Promise<void>((r) => host.listen(port, '127.0.0.1', r))
  hosts.push(host)
  return `http://127.0.0.1:${(host.address() as AddressInfo).port}`
}

async function embedToken(origins: string[], panels = ['kpis']): Promise<{ token: string; url: string }> {
  const r = await call<{ token: string; url: string }>(httpRequester(base), '/api/v1/embed-tokens', {
    token: ADMIN_TOKEN,
    body: { panels, region: STREET, origins, ttl: '1h' },
  })
  expect(r.status).toBe(201)
  return r.body
}

beforeAll(async () => {
  ensureBuilt()
  const port = await freePort()
  base = `http://127.0.0.1:${port}`
  server = await startServer(wallEnv(port, dir.path))
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await server?.kill()
  for (const h of hosts) h.close()
  dir.remove()
})

/** The page path of a minted URL (absolute or not). */
const pathOf = (url: string) => (url.startsWith('/') ? url : new URL(url).pathname + new URL(url).search)

const panelFrame = async (frames: () => Frame[], panel = 'kpis'): Promise<Frame> => {
  for (let i = 0; i < 100; i++) {
    const f = frames().find((x) => x.url().includes(`/embed/${panel}`))
    if (f) return f
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error('no embed frame')
}

describe('an embed on a portal page', () => {
  it('shows live public figures on an origin the token names, sized by its height message', async () => {
    // The portal's origin must be in the token: take a port, mint for it, then serve the page there.
    const port = await freePort()
    const origin = `http://127.0.0.1:${port}`
    const { url } = await embedToken([origin])
    await portal(`${base}${pathOf(url)}`, port)
    const page = await browser.newPage({ viewport: { width: 360, height: 800 } })
    const errors = watchErrors(page)
    await page.goto(origin)
    const frame = await panelFrame(() => page.frames())
    await frame.waitForFunction(
      () => document.querySelector('[data-testid=connection]')?.getAttribute('data-status') === 'live',
      null,
      { timeout: 30_000 },
    )
    await frame.waitForFunction(
      () => document.querySelector<HTMLElement>('[data-testid=embed-kpis]')?.dataset.at,
    )
    // The figures equal the KPI API's (a public token) for the period and instant the panel shows.
    const shown = await frame.evaluate(() => {
      const root = document.querySelector<HTMLElement>('[data-testid=embed-kpis]')!
      return {
        fresh: document.querySelector('[data-testid=connection]')?.textContent?.trim() ?? '',
        at: root.dataset.at!,
        from: root.dataset.from!,
        to: root.dataset.to!,
        tiles: [...root.querySelectorAll<HTMLElement>('li')].map((li) => ({
          kpi: li.dataset.kpi ?? '',
          value: li.querySelector('[data-testid=kpi-value]')?.textContent?.trim() ?? '',
        })),
      }
    })
    expect(shown.fresh).toBe(`数据更新于 ${shown.at.slice(11, 19)}`)
    const publicToken = await mintToken(httpRequester(base), 'public', { ttl: '1h', region: STREET })
    const q = (s: string) => encodeURIComponent(s)
    const k = await call<KpisResponse>(
      httpRequester(base),
      `/api/v1/kpis?region=${STREET}&from=${q(shown.from)}&to=${q(shown.to)}&at=${q(shown.at)}`,
      { token: publicToken },
    )
    expect(k.status).toBe(200)
    expect(shown.tiles.length).toBeGreaterThan(3)
    expect(shown.tiles).toEqual(
      shown.tiles.map((t) => ({
        kpi: t.kpi,
        value: kpiText(t.kpi as KpiKey, k.body.values[t.kpi as KpiKey]),
      })),
    )
    // The host sized the iframe from the panel's height message.
    await page.waitForFunction(() => Number.parseInt(document.getElementById('cb')!.style.height) > 100)
    await page.screenshot({ path: 'screenshots/embed-kpis-360.png', fullPage: true })
    expect(errors).toEqual([])
    await page.close()
  })

  it('shows the trend and the ranking as their public answers give them, in English', async () => {
    const port = await freePort()
    const origin = `http://127.0.0.1:${port}`
    const { token } = await embedToken([origin], ['trend', 'ranking'])
    const page = `<!doctype html><html><body>
<iframe src="${base}/embed/trend?token=${token}&lang=en" style="width:100%;height:320px;border:0" title="trend"></iframe>
<iframe src="${base}/embed/ranking?token=${token}&lang=en&theme=dark" style="width:100%;height:420px;border:0" title="ranking"></iframe>
</body></html>`
    const host = createServer((_, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(page))
    await new Promise<void>((r) => host.listen(port, '127.0.0.1', r))
    hosts.push(host)
    const tab = await browser.newPage({ viewport: { width: 420, height: 800 } })
    const errors = watchErrors(tab)
    await tab.goto(origin)
    const trend = await panelFrame(() => tab.frames(), 'trend')
    await trend.waitForFunction(
      () => document.querySelectorAll('[data-testid=trend-value]').length === 7,
      null,
      {
        timeout: 30_000,
      },
    )
    const tr = await call<EmbedTrendResponse>(httpRequester(base), `/api/v1/embed/trend?token=${token}`)
    expect(await trend.locator('[data-testid=trend-value]').allTextContents()).toEqual(
      tr.body.points.map((p) => (p.reported === null ? `<${tr.body.minCount}` : String(p.reported))),
    )
    expect((await trend.locator('[data-testid=connection]').textContent())?.trim()).toMatch(
      /^Updated \d{2}:\d{2}:\d{2}$/,
    )
    const ranking = await panelFrame(() => tab.frames(), 'ranking')
    await ranking.locator('[data-testid=ranking-score]').first().waitFor({ timeout: 30_000 })
    const rk = await call<EmbedRankingResponse>(httpRequester(base), `/api/v1/embed/ranking?token=${token}`)
    expect(rk.body.rows.length).toBeGreaterThan(1)
    expect(await ranking.locator('[data-testid=ranking-score]').allTextContents()).toEqual(
      rk.body.rows.map((r) => (r.rank === null ? 'Too few to show' : kpiText('score', r.score))),
    )
    await tab.screenshot({ path: 'screenshots/embed-trend-ranking-420.png', fullPage: true })
    expect(errors).toEqual([])
    await tab.close()
  })

  it('is refused framing by the browser on an origin the token does not name', async () => {
    const { url } = await embedToken(['https://portal.example.gov.cn'])
    const other = await portal(`${base}${pathOf(url)}`)
    const page = await browser.newPage()
    const console: string[] = []
    page.on('console', (m) => console.push(m.text()))
    await page.goto(other)
    await page.waitForTimeout(1500)
    const frame = page.frames().find((f) => f !== page.mainFrame())
    // Blocked: the frame never ran the panel (Chromium leaves an error page in its place).
    const panel = await frame
      ?.evaluate(() => !!document.querySelector('[data-testid=embed-kpis]'))
      .catch(() => false)
    expect(panel ?? false).toBe(false)
    expect(console.join('\n')).toMatch(/frame-ancestors/)
    await page.close()
  })

  it.each(['kpis', 'trend', 'ranking'])(
    'the %s panel fits 320 px in both themes and axe-core finds no serious or critical violation',
    async (panel) => {
      const { token } = await embedToken(['https://portal.example.gov.cn'], [panel])
      // Opened directly (not framed), with the page's CSP bypassed so that axe-core can be injected.
      const context = await browser.newContext({ viewport: { width: 320, height: 640 }, bypassCSP: true })
      for (const theme of ['light', 'dark']) {
        const page = await context.newPage()
        const errors = watchErrors(page)
        await page.goto(`${base}/embed/${panel}?token=${token}&theme=${theme}`)
        await page.waitForFunction(
          () => document.querySelector('[data-testid=connection]')?.getAttribute('data-status') === 'live',
          null,
          { timeout: 30_000 },
        )
        await page.locator(`[data-testid=embed-${panel}]`).waitFor()
        await page.waitForTimeout(300)
        // Nothing wider than the screen.
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(320)
        await page.screenshot({ path: `screenshots/embed-${panel}-320-${theme}.png`, fullPage: true })
        expect(await axeViolations(page)).toEqual([])
        expect(errors).toEqual([])
        await page.close()
      }
      await context.close()
    },
  )

  it('the demo page shows each panel live in an iframe, sized by /embed-host.js, its snippet beside it', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    const errors = watchErrors(page)
    await page.goto(`${base}/embed?token=${ADMIN_TOKEN}`)
    expect(await page.locator('section iframe').count()).toBe(3)
    for (const panel of ['kpis', 'trend', 'ranking']) {
      const frame = await panelFrame(() => page.frames(), panel)
      await frame.waitForFunction(
        () => document.querySelector('[data-testid=connection]')?.getAttribute('data-status') === 'live',
        null,
        { timeout: 30_000 },
      )
      await frame.locator(`[data-testid=embed-${panel}]`).waitFor()
    }
    await page.waitForTimeout(500)
    // Each iframe as tall as its panel says it is (not the demo's initial 240 px).
    const sizes = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLIFrameElement>('section iframe')].map((f) => ({
        set: Number.parseInt(f.style.height),
        content: Math.ceil(f.contentDocument?.querySelector('main')?.getBoundingClientRect().height ?? -1),
      })),
    )
    for (const s of sizes) expect(s.set).toBe(s.content)
    expect(sizes.some((s) => s.set !== 240)).toBe(true)
    const snippets = await page.locator('pre code').allTextContents()
    expect(snippets).toHaveLength(3)
    for (const s of snippets)
      expect(s).toMatch(
        /<iframe src="http:\/\/127\.0\.0\.1:\d+\/embed\/\w+\?token=[^"]+"[^>]*><\/iframe>\n<script src="[^"]+\/embed-host\.js" async><\/script>/,
      )
    await page.screenshot({ path: 'screenshots/embed-demo.png', fullPage: true })
    expect(errors).toEqual([])
    // Only an admin sees it (it mints a token).
    expect((await fetch(`${base}/embed`)).status).toBe(401)
    await page.close()
  })

  it('loads only its own entry: the kpis panel within 150 KB gzip of JS and CSS', () => {
    const dist = 'dist/web'
    const html = readFileSync(join(dist, 'embed.html'), 'utf8')
    const files = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]!)
    expect(files.some((f) => f.endsWith('.js'))).toBe(true)
    const gz = files.reduce((n, f) => n + gzipSync(readFileSync(join(dist, f)), { level: 9 }).length, 0)
    expect(gz).toBeLessThanOrEqual(150 * 1024)
    // Not the screens' entry.
    expect(files.some((f) => /\/main-/.test(f))).toBe(false)
  })
})
