/**
 * `GET /api/v1/reports/brief.pdf` through the real app and store: events reported and taken through
 * their lifecycle over HTTP (one left overdue), then the PDF read back with poppler as a person's
 * PDF reader would — its text (`pdftotext -layout`) must hold the region, the period's dates and
 * every figure exactly as `GET /api/v1/brief` gives it, written as the screens write it; its fonts
 * (`pdffonts`) must be an embedded subset of a CJK font; its first pages are rendered to
 * screenshots/brief-pdf-*.png for a person to look at. And the route's refusals.
 *
 * poppler-utils is installed by .ci/run; in CI a missing pdftotext fails these tests.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BriefResponse } from '../../shared/api.ts'
import { kpiDelta, kpiText } from '../../shared/kpi-format.ts'
import { KPI_KEYS, KPI_LABELS } from '../../shared/kpis.ts'
import type { System } from '../../server/system.ts'
import { call, createTestSystem, isoQ, mintToken, tempDir, type ApiEvent, type ErrorBody } from './helpers.ts'

const DISTRICT = '430602'
const STREET = '430602001'
const OTHER_STREET = '430602002'
const TZ = 'Asia/Shanghai'
/** An instant in Asia/Shanghai. */
const sh = (s: string): number => Date.parse(`${s}+08:00`)
/** The test's "now": a working Wednesday afternoon (as FIXED_NOW). */
const NOW = sh('2026-11-25T15:30:00')

const hasPoppler = spawnSync('pdftotext', ['-v']).error === undefined
/** Locally, without poppler-utils, these tests are skipped; in CI they run and fail. */
const itPdf = hasPoppler || process.env.CI ? it : it.skip

let system: System
let cleanup: () => Promise<void>
let clock: { set: (ms: number) => void }
let officer: string
let leader: string
const work = tempDir('brief-pdf')

async function report(grid: string, at: number, category = 'CG0101'): Promise<ApiEvent> {
  clock.set(at)
  const g = system.city.region(grid)!
  const r = await call<ApiEvent>(system.app, '/api/v1/events', {
    token: officer,
    body: {
      category,
      description: 'brief pdf',
      lat: g.centroid[1],
      lng: g.centroid[0],
      gridCode: grid,
      source: 'patrol',
    },
  })
  if (r.status !== 201) throw new Error(`report: ${r.status} ${JSON.stringify(r.body)}`)
  return r.body
}

async function act(id: string, at: number, body: Record<string, unknown>): Promise<void> {
  clock.set(at)
  const r = await call<ErrorBody>(system.app, `/api/v1/events/${id}/actions`, { token: officer, body })
  if (r.status !== 200) throw new Error(`${String(body.action)}: ${r.status} ${JSON.stringify(r.body)}`)
}

/** Report at `at`, accept and file, dispatch ten minutes later (CG0101: due four working hours on). */
async function dispatched(grid: string, at: number): Promise<ApiEvent> {
  const e = await report(grid, at)
  await act(e.id, at, { action: 'accept' })
  await act(e.id, at, { action: 'file' })
  await act(e.id, at + 10 * 60_000, { action: 'dispatch', department: '环卫处' })
  return e
}

beforeAll(async () => {
  mkdirSync('screenshots', { recursive: true })
  const t = await createTestSystem({ now: sh('2026-11-24T08:00:00') })
  system = t.system
  cleanup = t.cleanup
  clock = t.clock
  officer = await mintToken(system.app, 'officer')
  leader = await mintToken(system.app, 'leader')
  const [a, b] = [system.city.gridsOf(STREET)[0]!.code, system.city.gridsOf(OTHER_STREET)[0]!.code]
  // Yesterday: one left undone past its 13:00 deadline (overdue), one handled, closed and evaluated.
  await dispatched(a, sh('2026-11-24T08:50:00'))
  const done = await dispatched(a, sh('2026-11-24T09:10:00'))
  await act(done.id, sh('2026-11-24T10:30:00'), { action: 'handle' })
  await act(done.id, sh('2026-11-24T10:40:00'), { action: 'verify', passed: true })
  await act(done.id, sh('2026-11-24T11:00:00'), { action: 'evaluate', satisfaction: 'satisfied' })
  // Today, in the other street: one handled late (due 13:40, handled 14:00), one only reported.
  const late = await dispatched(b, sh('2026-11-25T09:30:00'))
  await act(late.id, sh('2026-11-25T14:00:00'), { action: 'handle' })
  await act(late.id, sh('2026-11-25T14:10:00'), { action: 'verify', passed: false })
  await report(b, sh('2026-11-25T15:00:00'), 'CG0103')
  clock.set(NOW)
})
afterAll(async () => {
  await cleanup?.()
  work.remove()
})

/** GET the PDF; the response and its bytes. */
async function getPdf(query: string, token = leader): Promise<{ res: Response; bytes: Buffer }> {
  const res = await system.app.request(`/api/v1/reports/brief.pdf?${query}`, {
    headers: { authorization: `Bearer ${token}` },
  })
  return { res, bytes: Buffer.from(await res.arrayBuffer()) }
}

/** The PDF in a file of the temporary directory, for poppler to read. */
function saved(bytes: Buffer, name: string): string {
  const file = join(work.path, name)
  writeFileSync(file, bytes)
  return file
}

/**
 * The PDF's text as a reader copies it: `-layout` keeps each table row on one line (spaced by where
 * its glyphs stand, so the space of "▲ 4" may close up); `-raw` gives the strings as drawn, in order.
 */
const pdftotext = (file: string, mode: '-layout' | '-raw' = '-layout'): string =>
  execFileSync('pdftotext', [mode, file, '-'], { encoding: 'utf8' })
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
/** A local date as a Chinese reader writes it ("2026年11月1日"): Intl's own, not the report's. */
const zhDate = (ms: number): string =>
  new Intl.DateTimeFormat('zh-CN', { timeZone: TZ, year: 'numeric', month: 'long', day: 'numeric' }).format(
    ms,
  )

async function brief(query: string): Promise<BriefResponse> {
  const r = await call<BriefResponse>(system.app, `/api/v1/brief?${query}`, { token: leader })
  expect(r.status).toBe(200)
  return r.body
}

describe('GET /api/v1/reports/brief.pdf', () => {
  itPdf(
    'is an A4 PDF attachment whose text holds the region, the period and every figure of the brief',
    async () => {
      const query = `region=${DISTRICT}&period=month`
      const [json, { res, bytes }] = [await brief(query), await getPdf(query)]
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('application/pdf')
      expect(Number(res.headers.get('content-length'))).toBe(bytes.length)
      expect(res.headers.get('content-disposition')).toBe(
        `attachment; filename="brief-${DISTRICT}-month.pdf"`,
      )
      expect(res.headers.get('cache-control')).toMatch(/\bno-store\b/)
      expect(bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-')
      // A subset of the font, not the 10 MB font file.
      expect(bytes.length).toBeLessThan(300_000)
      const file = saved(bytes, 'brief-zh.pdf')
      const info = execFileSync('pdfinfo', [file], { encoding: 'utf8' })
      expect(info).toMatch(/Page size:\s+595\.2\d? x 841\.8\d? pts \(A4\)/)

      const text = pdftotext(file)
      expect(text).toContain('城市大脑 · 领导决策简报')
      expect(text).toContain(json.region.name)
      expect(text).toContain(zhDate(Date.parse(json.period.from)))
      expect(text).toContain(zhDate(Date.parse(json.period.to)))
      expect(json.values.reported).toBeGreaterThan(0)
      expect(json.values.overdueOpen).toBe(1)
      expect(json.yearAgo).toBeNull()
      const lines = text.split('\n')
      const raw = pdftotext(file, '-raw').split('\n')
      for (const key of KPI_KEYS) {
        // The figure's row: its name (not a longer name ending in it), its value, 环比, 同比 "—".
        const label = KPI_LABELS[key].zh
        const starts = new RegExp(`^\\s*${esc(label)}(?![\\u4e00-\\u9fff])`)
        const value = kpiText(key, json.values[key])
        const prev = kpiDelta(key, json.values[key], json.previous.values[key]).text
        const row = lines.find((l) => starts.test(l))
        expect(row, `row of ${key}`).toBeDefined()
        const loose = (t: string) => esc(t).replace(/ /g, '\\s*')
        expect(row, key).toMatch(new RegExp(`\\s${loose(value)}\\s+${loose(prev)}\\s+—`))
        // Exactly as the screens write them, spaces and all.
        expect(
          raw.find((l) => starts.test(l)),
          key,
        ).toMatch(new RegExp(`\\s${esc(value)} ${esc(prev)} —$`))
      }
      expect(text).toContain('同比为“—”')
      // Every subdivision ranked, with its score as the screens write it.
      const streets = json.ranking!.rows
      expect(streets).toHaveLength(system.city.children(DISTRICT).length)
      for (const r of streets) {
        const row = lines.find((l) => new RegExp(`^\\s*${r.rank}\\s+${esc(r.name)}\\s`).test(l))
        expect(row, r.name).toBeDefined()
        expect(row).toMatch(new RegExp(`\\s${esc(kpiText('score', r.values.score))}\\s`))
      }
      // The overdue event: its grid by name, its category, how long overdue (13:00 yesterday → 15:30 today).
      expect(json.overdue).toHaveLength(1)
      const grid = system.city.region(json.overdue[0]!.gridCode)!.name
      expect(lines.some((l) => l.includes(grid) && l.includes('11-24 13:00') && l.includes('1天2小时'))).toBe(
        true,
      )
      expect(text).toMatch(new RegExp(`数据序号 seq ${json.seq}`))
      expect(text).toMatch(/第\s*1\s*页\s*\/\s*共\s*\d\s*页/)

      execFileSync('pdftoppm', ['-png', '-r', '80', file, 'screenshots/brief-pdf'])
    },
  )

  itPdf('sets its text in an embedded subset of a CJK font', async () => {
    const file = saved((await getPdf(`region=${DISTRICT}`)).bytes, 'fonts.pdf')
    const rows = execFileSync('pdffonts', [file], { encoding: 'utf8' }).trim().split('\n').slice(2)
    expect(rows.length).toBeGreaterThan(0)
    for (const row of rows) expect(row).toMatch(/^[A-Z]{6}\+NotoSansSC-(Regular|Bold)\s.*\byes\s+yes\s+yes\b/)
  })

  itPdf('prints English headings with lang=en, and a street with its path from the district', async () => {
    const { res, bytes } = await getPdf(`region=${STREET}&period=today&lang=en`)
    expect(res.status).toBe(200)
    const file = saved(bytes, 'brief-en.pdf')
    const text = pdftotext(file)
    for (const words of [
      'City Brain · Leadership briefing',
      'Key figures',
      'vs previous',
      'vs a year ago',
      'Overdue now',
    ])
      expect(text).toContain(words)
    expect(text).toContain(KPI_LABELS.onTimeRate.en)
    const json = await brief(`region=${STREET}&period=today`)
    expect(text).toContain(`${json.path[0]!.name} › ${json.path[1]!.name}`)
    expect(text).not.toContain('主要指标')
    execFileSync('pdftoppm', ['-png', '-r', '80', '-f', '1', '-l', '1', file, 'screenshots/brief-pdf-en'])
  })

  itPdf('says "as of" when the brief is read as it stood at an earlier instant', async () => {
    const at = sh('2026-11-25T12:00:00')
    const text = pdftotext(saved((await getPdf(`region=${DISTRICT}&at=${isoQ(at)}`)).bytes, 'as-of.pdf'))
    expect(text).toMatch(/数据截至：\s*2026年11月25日 12:00/)
  })

  it('refuses a public or ingest token, a region outside the token, an unknown region, a bad query', async () => {
    const scoped = await mintToken(system.app, 'leader', { region: STREET })
    const refused = async (query: string, token: string) => {
      const r = await call<ErrorBody>(system.app, `/api/v1/reports/brief.pdf?${query}`, { token })
      return [r.status, r.body.error?.code]
    }
    expect(await refused(`region=${DISTRICT}`, await mintToken(system.app, 'public'))).toEqual([
      403,
      'forbidden',
    ])
    expect(await refused(`region=${DISTRICT}`, await mintToken(system.app, 'ingest'))).toEqual([
      403,
      'forbidden',
    ])
    expect(await refused(`region=${OTHER_STREET}`, scoped)).toEqual([403, 'forbidden'])
    expect(await refused(`region=430602099`, leader)).toEqual([404, 'not_found'])
    expect(await refused(`region=${DISTRICT}&period=year`, leader)).toEqual([400, 'invalid_query'])
    expect(await refused(`region=${DISTRICT}&period=custom`, leader)).toEqual([400, 'invalid_query'])
    expect(await refused(`region=${DISTRICT}&lang=fr`, leader)).toEqual([400, 'invalid_query'])
    const none = await system.app.request(`/api/v1/reports/brief.pdf?region=${DISTRICT}`)
    expect(none.status).toBe(401)
    // A token scoped to its street may print it.
    expect((await getPdf(`region=${STREET}`, scoped)).res.status).toBe(200)
  })
})
