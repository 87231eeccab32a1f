/**
 * The leaders' briefing as an A4 PDF (`GET /api/v1/reports/brief.pdf`): the same `BriefResponse`
 * the briefing page shows, set as a government briefing paper — a red heading, the region and its
 * path, the period in the city's local dates, ruled tables, vector charts, and on every page a
 * footer naming the system's seq the figures come from and the page number.
 *
 * The text is real text in an embedded subset of Noto Sans SC (`pdf-font.ts`): it can be selected,
 * searched and read aloud, in Chinese and in English alike. A pure function of its input: the
 * same brief gives the same pages (the document's date is the brief's generation time).
 */
import PDFDocument from 'pdfkit'
import type { BriefResponse } from '../../shared/api.ts'
import {
  LEVEL_NAMES,
  PERIOD_NAMES,
  dateTimeText,
  labelled,
  say,
  spanText,
  type ReportLang,
} from './brief-words.ts'
import { kpiSection, overdueSection, rankingSection, trendSection, type Sheet } from './brief-sections.ts'
import { ACCENT, HAIRLINE, INK, MUTED, put, rule, type Doc } from './pdf-draw.ts'
import { reportFonts } from './pdf-font.ts'

export interface BriefPdfOptions {
  lang: ReportLang
  /** The city's time zone: every date and time is printed in it. */
  timeZone: string
  /** A region's name (the overdue events name their grid); the code is printed where none is given. */
  regionName?: (code: string) => string | undefined
}

const MARGIN = { top: 52, bottom: 62, left: 54, right: 54 }

/** Render `brief` as a PDF. */
export async function renderBriefPdf(brief: BriefResponse, opts: BriefPdfOptions): Promise<Buffer> {
  const { lang, timeZone: tz } = opts
  const fonts = reportFonts()
  const doc: Doc = new PDFDocument({
    size: 'A4',
    margins: MARGIN,
    bufferPages: true,
    lang: lang === 'zh' ? 'zh-CN' : 'en',
    displayTitle: true,
    info: {
      Title: `${say(lang, 'title')} · ${brief.region.name}`,
      Author: say(lang, 'system'),
      Subject: spanText(Date.parse(brief.period.from), Date.parse(brief.period.to), tz, lang),
      CreationDate: new Date(Date.parse(brief.generatedAt)),
    },
  })
  // pdfkit takes a parsed fontkit font as well as a file (PDFFontFactory.open); its types list files only.
  doc.registerFont('regular', fonts.regular as unknown as PDFKit.Mixins.PDFFontSource)
  doc.registerFont('bold', fonts.bold as unknown as PDFKit.Mixins.PDFFontSource)
  const chunks: Buffer[] = []
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (c: Buffer) => chunks.push(c))
    doc.on('end', () => resolve(Buffer.concat(chunks)))
    doc.on('error', reject)
  })

  const page = doc.page
  const sheet: Sheet = {
    doc,
    lang,
    tz,
    x: MARGIN.left,
    w: page.width - MARGIN.left - MARGIN.right,
    top: MARGIN.top,
    bottom: page.height - MARGIN.bottom,
    y: MARGIN.top,
    regionName: (code) => opts.regionName?.(code) ?? code,
  }
  masthead(sheet, brief)
  kpiSection(sheet, brief)
  trendSection(sheet, brief)
  rankingSection(sheet, brief)
  overdueSection(sheet, brief)
  pageFurniture(sheet, brief)
  doc.end()
  return done
}

/** The paper's head: its title, the region with its path, the period, the reading instants. */
function masthead(s: Sheet, b: BriefResponse): void {
  const { doc, lang, tz } = s
  put(doc, say(lang, 'title'), s.x, s.y, {
    font: 'bold',
    size: 21,
    color: ACCENT,
    align: 'center',
    width: s.w,
  })
  s.y += 36
  rule(doc, s.x, s.x + s.w, s.y, 1.8, ACCENT)
  rule(doc, s.x, s.x + s.w, s.y + 3.2, 0.5, ACCENT)
  s.y += 14
  const level = LEVEL_NAMES[b.region.level][lang]
  put(doc, b.region.name, s.x, s.y, { font: 'bold', size: 16 })
  put(doc, `${level} · ${b.region.code}`, s.x, s.y + 5, {
    size: 8.5,
    color: MUTED,
    align: 'right',
    width: s.w,
  })
  s.y += 26
  put(doc, labelled(lang, say(lang, 'path'), b.path.map((p) => p.name).join(' › ')), s.x, s.y, {
    size: 9,
    color: MUTED,
    width: s.w,
  })
  s.y += 16
  const period = `${PERIOD_NAMES[b.period.kind][lang]} · ${spanText(Date.parse(b.period.from), Date.parse(b.period.to), tz, lang)}`
  metaLine(s, s.x, say(lang, 'period'), period, s.w * 0.62)
  metaLine(
    s,
    s.x + s.w * 0.62,
    say(lang, 'generated'),
    dateTimeText(Date.parse(b.generatedAt), tz, lang),
    s.w * 0.38,
  )
  s.y += 15
  if (b.asOf) {
    metaLine(s, s.x, say(lang, 'asOf'), dateTimeText(Date.parse(b.at), tz, lang), s.w, ACCENT)
    s.y += 15
  }
  rule(doc, s.x, s.x + s.w, s.y + 2, 0.4, HAIRLINE)
  s.y += 16
}

function metaLine(s: Sheet, x: number, label: string, value: string, width: number, color = INK): void {
  const text = labelled(s.lang, label, '')
  put(s.doc, text, x, s.y, { size: 9, color: MUTED })
  const w = s.doc.widthOfString(text)
  put(s.doc, value, x + w, s.y, {
    size: 9,
    color,
    font: color === INK ? 'regular' : 'bold',
    width: width - w - 6,
  })
}

/** On every page: the footer (source, seq, page n of N) and, after the first, a running head. */
function pageFurniture(s: Sheet, b: BriefResponse): void {
  const { doc, lang } = s
  const range = doc.bufferedPageRange()
  for (let i = range.start; i < range.start + range.count; i++) {
    doc.switchToPage(i)
    const foot = doc.page.height - 44
    rule(doc, s.x, s.x + s.w, foot, 0.4, HAIRLINE)
    put(doc, say(lang, 'footer', { seq: b.seq }), s.x, foot + 6, { size: 7.5, color: MUTED, width: s.w - 90 })
    const pageText = say(lang, 'page', { p: i - range.start + 1, n: range.count })
    put(doc, pageText, s.x, foot + 6, { size: 7.5, color: MUTED, align: 'right', width: s.w })
    if (i === range.start) continue
    put(doc, `${say(lang, 'title')} · ${b.region.name}`, s.x, 30, { size: 7.5, color: MUTED, width: s.w / 2 })
    put(doc, PERIOD_NAMES[b.period.kind][lang], s.x, 30, {
      size: 7.5,
      color: MUTED,
      align: 'right',
      width: s.w,
    })
    rule(doc, s.x, s.x + s.w, 42, 0.4, HAIRLINE)
  }
}
