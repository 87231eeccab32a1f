/**
 * The few drawing words every part of a printed report shares: its palette (black on white, one
 * accent), a text placed at a point, and a text cut to a width.
 *
 * Text is placed without pdfkit's line wrapper on purpose: the wrapper starts a new page by itself
 * when a line would cross the bottom margin, which is right for running prose and wrong for a table
 * cell or a footer, whose place on the page the report has already decided.
 */
/// <reference types="pdfkit" />

export type Doc = PDFKit.PDFDocument
export type FontName = 'regular' | 'bold'

export const INK = '#111111'
export const MUTED = '#595959'
export const HAIRLINE = '#b8b8b8'
export const FAINT = '#ececec'
/** Filled marks (bars): a mid grey, so the accent stays for what needs attention. */
export const BAR_GREY = '#8c8c8c'
/** The one accent: a deep red, as the heading of an official paper (红头). */
export const ACCENT = '#a3161a'
/** The accent's pale tint, for filled areas that must not outshout the text. */
export const ACCENT_TINT = '#e9c9ca'

export interface PutOptions {
  font?: FontName
  size: number
  color?: string
  /** Within `width` from `x` (required for right and center). */
  align?: 'left' | 'right' | 'center'
  width?: number
}

/** Set the font and size, then `text`'s width at them. */
export function measure(doc: Doc, text: string, o: Pick<PutOptions, 'font' | 'size'>): number {
  return doc
    .font(o.font ?? 'regular')
    .fontSize(o.size)
    .widthOfString(text)
}

/** `text` cut with "…" to fit `width` in the given font and size. */
export function fit(doc: Doc, text: string, width: number, o: Pick<PutOptions, 'font' | 'size'>): string {
  if (measure(doc, text, o) <= width) return text
  let s = text
  while (s.length > 1 && doc.widthOfString(`${s}…`) > width) s = s.slice(0, -1)
  return `${s}…`
}

/** Draw one line of `text` with its top at `y`, cut to `width` when one is given. */
export function put(doc: Doc, text: string, x: number, y: number, o: PutOptions): void {
  const shown = o.width === undefined ? text : fit(doc, text, o.width, o)
  const w = measure(doc, shown, o)
  const dx =
    o.width === undefined || !o.align || o.align === 'left'
      ? 0
      : o.align === 'right'
        ? o.width - w
        : (o.width - w) / 2
  doc.fillColor(o.color ?? INK).text(shown, x + dx, y, { lineBreak: false })
}

/** The height of one line in the given font and size. */
export function lineHeight(doc: Doc, o: Pick<PutOptions, 'font' | 'size'>): number {
  return doc
    .font(o.font ?? 'regular')
    .fontSize(o.size)
    .currentLineHeight()
}

/** A horizontal rule from `x1` to `x2` at `y`. */
export function rule(doc: Doc, x1: number, x2: number, y: number, width: number, color = INK): void {
  doc.save().moveTo(x1, y).lineTo(x2, y).lineWidth(width).strokeColor(color).stroke().restore()
}
