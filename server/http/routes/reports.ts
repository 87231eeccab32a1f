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
import { renderBriefPdf } from '../../report/brief-pdf.ts'
import type { AppDeps, AppEnv } from '../context.ts'
import { parse, requireRole } from '../middleware.ts'
import { BRIEF_READERS, briefReader } from './brief.ts'

/** The report's own parameter: the language it is printed in. */
export const reportLangSchema = z.object({ lang: z.enum(['zh', 'en']).default('zh') })

export function reportRoutes(deps: AppDeps) {
  const read = briefReader(deps)
  const readers = requireRole(deps.tokens, BRIEF_READERS)
  const regionName = (code: string) => deps.city.region(code)?.name
  return new Hono<AppEnv>().get('/reports/brief.pdf', readers, async (c) => {
    const { lang } = parse(reportLangSchema, c.req.query(), 'invalid_query')
    const brief = await read(c)
    const started = performance.now()
    const pdf = await renderBriefPdf(brief, { lang, timeZone: deps.calendar.timeZone, regionName })
    deps.logger.debug(
      {
        region: brief.region.code,
        period: brief.period.kind,
        bytes: pdf.length,
        ms: Math.round(performance.now() - started),
      },
      'brief pdf rendered',
    )
    return c.body(new Uint8Array(pdf), 200, {
      'content-type': 'application/pdf',
      'content-length': String(pdf.length),
      'content-disposition': `attachment; filename="brief-${brief.region.code}-${brief.period.kind}.pdf"`,
      'cache-control': 'no-store',
    })
  })
}
