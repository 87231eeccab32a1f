/**
 * A server killed with SIGKILL under an open wall, then started again on the same port and data
 * directory; while it is down, changes are committed to its store by another writer. The wall must say
 * it is stale (reconnecting, stale since the drop) while keeping its last figures, come back to live by itself (no reload), and catch up with no gap: every change the server
 * committed after the wall went live passes through the ticker, the ticker and the tiles' seq never go
 * backwards, and the tiles reach the restarted server's seq.
 *
 * What the page showed over time is recorded inside it by a MutationObserver, so no state between two
 * polls is missed.
 *
 * A leader's briefing (/brief, in English, on a tablet) is open on the same server throughout: both
 * screens must SAY so, in the words a person reads on them, "数据已停止更新，自 HH:MM:SS" on the wall and
 * "STALE since HH:MM:SS" on the briefing, the time being the drop's instant in the city's time zone,
 * and say "实时" / "LIVE" again once they are back.
 */
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { httpRequester, mintToken, tempDir } from '../server/helpers.ts'
import { commitWhileDown, freePort, logAfter, type ChildServer } from '../server/live-helpers.ts'
import {
  ensureBuilt,
  launchChromium,
  mintOfficer,
  readTiles,
  readySeq,
  startServer,
  waitForLive,
  wallEnv,
  watchErrors,
} from './wall-harness.ts'

/** What the recorder inside the page keeps. */
interface WallLog {
  /** Every state of the connection badge, in order. */
  states: { status: string; staleSince: string; at: number }[]
  /** Every seq the tiles showed, in order. */
  tileSeqs: number[]
  /** Every list of seqs the ticker showed (newest first), in order. */
  tickers: number[][]
}

/** Changes committed while the server is down. */
const MISSED = 25

const dir = tempDir('e2e-restart')
let port: number
let base: string
let env: Record<string, string>
let server: ChildServer | null = null
let browser: Browser
let page: Page
let errors: string[]
let brief: Page
let briefErrors: string[]

/** The connection badge as a person reads it, and the instant it says the data stopped at. */
const badge = (p: Page) =>
  p.evaluate(() => {
    const c = document.querySelector<HTMLElement>('[data-testid=connection]')
    return { text: (c?.textContent ?? '').trim(), staleSince: c?.dataset.staleSince ?? '' }
  })

/** The briefing's badge says live (it has no KPI tiles with seq, unlike the wall). */
const briefLive = (timeout = 60_000) =>
  brief.waitForFunction(
    () => document.querySelector('[data-testid=connection]')?.getAttribute('data-status') === 'live',
    null,
    { timeout, polling: 100 },
  )

/** HH:MM:SS of `ms` in the city's time zone (+08:00, the generated city's). */
const cityTime = (ms: number) => new Date(ms + 8 * 3_600_000).toISOString().slice(11, 19)

beforeAll(async () => {
  ensureBuilt()
  port = await freePort()
  base = `http://127.0.0.1:${port}`
  // Faster than the wall test so that changes keep coming while the server is down.
  env = wallEnv(port, dir.path, { SIM_SPEED: '30' })
  server = await startServer(env)
  const token = await mintOfficer(base)
  browser = await launchChromium()
  page = await browser.newPage({ viewport: { width: 1920, height: 1080 } })
  errors = watchErrors(page)
  await page.goto(`${base}/wall?token=${token}`)
  await waitForLive(page)
  const leader = await mintToken(httpRequester(base), 'leader', { ttl: '2h' })
  brief = await browser.newPage({ viewport: { width: 1024, height: 1366 }, hasTouch: true })
  briefErrors = watchErrors(brief)
  await brief.goto(`${base}/brief?token=${leader}&lang=en`)
  await briefLive()
})

afterAll(async () => {
  await browser?.close()
  await server?.kill()
  dir.remove()
})

/** Start recording the badge, the tiles' seq and the ticker inside the page. */
const startRecording = () =>
  page.evaluate(() => {
    const log: WallLog = { states: [], tileSeqs: [], tickers: [] }
    const w = window as unknown as { __wallLog: WallLog; __sameDocument: boolean }
    w.__wallLog = log
    w.__sameDocument = true
    const record = () => {
      const c = document.querySelector('[data-testid=connection]')
      const state = {
        status: c?.getAttribute('data-status') ?? '',
        staleSince: c?.getAttribute('data-stale-since') ?? '',
      }
      const last = log.states.at(-1)
      if (!last || last.status !== state.status || last.staleSince !== state.staleSince)
        log.states.push({ ...state, at: Date.now() })
      const seq = Number(document.querySelector('[data-testid=kpi-tile]')?.getAttribute('data-seq') || -1)
      if (seq !== log.tileSeqs.at(-1)) log.tileSeqs.push(seq)
      const ticker = [...document.querySelectorAll('[data-testid=ticker] li')].map((li) =>
        Number(li.getAttribute('data-seq')),
      )
      if (ticker.join() !== log.tickers.at(-1)?.join()) log.tickers.push(ticker)
    }
    record()
    new MutationObserver(record).observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ['data-status', 'data-stale-since', 'data-seq'],
    })
  })

const wallLog = () => page.evaluate(() => (window as unknown as { __wallLog: WallLog }).__wallLog)

it('shows it is stale while the server is down and catches up by itself with no gap', async () => {
  await startRecording()
  const firstTicker = (await wallLog()).tickers.at(-1) ?? []
  // Seqs from here on must all pass through the ticker; the ones before it may have scrolled by.
  const from = Math.max(firstTicker[0] ?? 0, Number((await readTiles(page))[0]!.seq))
  const tilesBefore = await readTiles(page)
  expect((await badge(page)).text).toBe('实时')
  expect((await badge(brief)).text).toBe('LIVE')

  const killedAt = Date.now()
  await server!.kill('SIGKILL')
  await page.waitForFunction(
    () => {
      const c = document.querySelector('[data-testid=connection]')
      return c?.getAttribute('data-status') === 'reconnecting' && c.getAttribute('data-stale-since') !== ''
    },
    null,
    { timeout: 15_000, polling: 50 },
  )
  const staleSince = Number(await page.locator('[data-testid=connection]').getAttribute('data-stale-since'))
  expect(staleSince).toBeGreaterThanOrEqual(killedAt - 1000)
  expect(staleSince).toBeLessThanOrEqual(Date.now())
  // Stale, but the last figures stay on the wall.
  expect(await readTiles(page)).toEqual(tilesBefore)
  // And both screens say so in words, with the instant of the drop.
  expect((await badge(page)).text).toBe(`数据已停止更新，自 ${cityTime(staleSince)}`)
  await brief.waitForFunction(
    () => document.querySelector('[data-testid=connection]')?.getAttribute('data-stale-since'),
    null,
    { timeout: 15_000, polling: 50 },
  )
  const briefStale = await badge(brief)
  expect(Number(briefStale.staleSince)).toBeGreaterThanOrEqual(killedAt - 1000)
  expect(briefStale.text).toBe(`STALE since ${cityTime(Number(briefStale.staleSince))}`)

  // While it is down, changes the wall never saw are committed to its store (as another writer
  // would): the restarted server must replay them to the wall.
  const missedUpTo = await commitWhileDown(dir.path, MISSED)

  server = await startServer(env)
  await waitForLive(page, 60_000)
  const restartedSeq = await readySeq(base)
  await page.waitForFunction(
    (seq) => {
      const tile = Number(document.querySelector('[data-testid=kpi-tile]')?.getAttribute('data-seq'))
      const top = Number(document.querySelector('[data-testid=ticker] li')?.getAttribute('data-seq'))
      return tile >= seq && top >= seq
    },
    restartedSeq,
    { timeout: 30_000, polling: 100 },
  )

  await briefLive(60_000)
  expect((await badge(page)).text).toBe('实时')
  expect((await badge(brief)).text).toBe('LIVE')

  const log = await wallLog()
  expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(
    true,
  )

  // live → reconnecting (stale since the drop, one instant throughout) → live, nothing else.
  const statuses = log.states.map((s) => s.status).filter((s, i, a) => s !== a[i - 1])
  expect(statuses).toEqual(['live', 'reconnecting', 'live'])
  const stale = log.states.filter((s) => s.status === 'reconnecting')
  expect(new Set(stale.map((s) => s.staleSince))).toEqual(new Set([String(staleSince)]))

  // Never backwards: the tiles' seq, the ticker's newest, and each ticker newest-first without repeats.
  expect(log.tileSeqs).toEqual([...log.tileSeqs].sort((a, b) => a - b))
  const tops = log.tickers.filter((t) => t.length > 0).map((t) => t[0]!)
  expect(tops).toEqual([...tops].sort((a, b) => a - b))
  for (const t of log.tickers) expect(t).toEqual([...new Set(t)].sort((a, b) => b - a))

  // No gap: every change committed after `from`, up to the newest shown, went through the ticker.
  const shown = new Set(log.tickers.flat())
  const newest = Math.max(...shown)
  const committed = (await logAfter(httpRequester(base), from)).map((c) => c.seq).filter((s) => s <= newest)
  expect(committed.filter((s) => s <= missedUpTo).length).toBeGreaterThanOrEqual(MISSED)
  expect(committed.filter((s) => !shown.has(s))).toEqual([])
  expect(newest).toBeGreaterThanOrEqual(restartedSeq)

  // The only errors are the browser's own reports of the connections cut by the kill (a request in
  // flight is reset, an answer is empty) and refused while the server was down.
  const dropped =
    /WebSocket|net::ERR_(CONNECTION_(REFUSED|RESET|CLOSED|ABORTED)|EMPTY_RESPONSE)|status of 503/
  expect(errors.filter((e) => e.startsWith('pageerror') || !dropped.test(e))).toEqual([])
  expect(briefErrors.filter((e) => e.startsWith('pageerror') || !dropped.test(e))).toEqual([])
})
