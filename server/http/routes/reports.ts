/**
 * The briefing as an A4 PDF (`GET /api/v1/reports/brief.pdf`): the query, the roles and the checks
 * of `GET /api/v1/brief` (routes/brief.ts), plus `lang=zh|en` (default zh), rendered by
 * server/report/brief-pdf.ts.
 *
 * The whole file is rendered before the answer starts, so the answer carries its Content-Length and
 * the page can show how far the download has got; it is an attachment named after the region and
 * the period, and never cached (it holds the figures of one instant, for one token's role).
 */
import { Hono } from 'hono'
import { z } from 'zod'
import { briefQuerySchema } from '../../../shared/schemas.ts'
import { createBriefService } from '../../domain/brief-service.ts'
import { renderBriefPdf } from '../../report/brief-pdf.ts'
import type { AppDeps, AppEnv } from '../context.ts'
import { assertBoundedPeriod, assertRegionAllowed, lookupRegion, parse, requireRole } from '../middleware.ts'
import { BRIEF_READERS } from './brief.ts'

/** The report's own parameter: the language it is printed in. */
export const reportLangSchema = z.object({ lang: z.enum(['zh', 'en']).default('zh') })

export function reportRoutes(deps: AppDeps) {
  const service = createBriefService({
    kpis: deps.kpis,
    store: deps.store,
    city: deps.city,
    clock: deps.clock,
    timeZone: deps.calendar.timeZone,
  })
  const readers = requireRole(deps.tokens, BRIEF_READERS)
  const regionName = (code: string) => deps.city.region(code)?.name
  return new Hono<AppEnv>().get('/reports/brief.pdf', readers, async (c) => {
    const q = parse(briefQuerySchema, c.req.query(), 'invalid_query')
    const { lang } = parse(reportLangSchema, c.req.query(), 'invalid_query')
    const node = lookupRegion(deps.city, q.region)
    assertRegionAllowed(c, node.code)
    const now = deps.clock.now()
    assertBoundedPeriod({ from: q.from ?? now, to: q.to ?? now + 1, at: q.at }, now)
    const brief = await service.brief({
      region: node.code,
      period: q.period,
      ...(q.from !== undefined ? { from: q.from } : {}),
      ...(q.to !== undefined ? { to: q.to } : {}),
      ...(q.at !== undefined ? { at: q.at } : {}),
      role: c.get('principal').role,
    })
    const started = performance.now()
    const pdf = await renderBriefPdf(brief, { lang, timeZone: deps.calendar.timeZone, regionName })
    deps.logger.debug(
      { region: node.code, period: q.period, bytes: pdf.length, ms: Math.round(performance.now() - started) },
      'brief pdf rendered',
    )
    return c.body(new Uint8Array(pdf), 200, {
      'content-type': 'application/pdf',
      'content-length': String(pdf.length),
      'content-disposition': `attachment; filename="brief-${node.code}-${q.period}.pdf"`,
      'cache-control': 'no-store',
    })
  })
}
