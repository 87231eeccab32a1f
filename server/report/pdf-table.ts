/**
 * A ruled table as official papers print them (三线表): a heavy rule above the heading, a light one
 * under it, a heavy one closing the table, and hairlines between rows so a long row can be read
 * across. Every row is one line high (a text too wide is cut with "…"), so a table's height is known
 * before it is drawn, and a table that reaches the foot of a page goes on at the top of the next
 * under its heading again.
 */
import { HAIRLINE, INK, lineHeight, put, rule, type Doc, type FontName } from './pdf-draw.ts'

export interface Box {
  x: number
  y: number
  w: number
  h: number
}

export interface Column<R> {
  header: string
  width: number
  align?: 'left' | 'right' | 'center'
  /** The cell's text; a column with `draw` instead paints its cell itself. */
  text?: (row: R) => string
  color?: (row: R) => string | undefined
  font?: (row: R) => FontName
  draw?: (doc: Doc, row: R, cell: Box) => void
}

export interface TableOptions {
  x: number
  y: number
  size: number
  rowHeight: number
  /** Where a page's content ends: a row that would cross it starts the next page. */
  bottom: number
  /** Where content starts on a new page. */
  top: number
}

const PAD = 4

function drawHeader<R>(doc: Doc, columns: Column<R>[], o: TableOptions, y: number): number {
  const width = columns.reduce((s, c) => s + c.width, 0)
  const h = o.rowHeight + 2
  rule(doc, o.x, o.x + width, y, 1.2)
  const ty = y + (h - lineHeight(doc, { font: 'bold', size: o.size })) / 2
  let x = o.x
  for (const c of columns) {
    put(doc, c.header, x + PAD, ty, {
      font: 'bold',
      size: o.size,
      align: c.align ?? 'left',
      width: c.width - 2 * PAD,
    })
    x += c.width
  }
  rule(doc, o.x, o.x + width, y + h, 0.6)
  return y + h
}

/** Draw `rows` under `columns`; returns where the table ends (on the page it ends on). */
export function drawTable<R>(doc: Doc, columns: Column<R>[], rows: readonly R[], o: TableOptions): number {
  const width = columns.reduce((s, c) => s + c.width, 0)
  let y = drawHeader(doc, columns, o, o.y)
  rows.forEach((row, i) => {
    if (y + o.rowHeight > o.bottom) {
      rule(doc, o.x, o.x + width, y, 1.2)
      doc.addPage()
      y = drawHeader(doc, columns, o, o.top)
    } else if (i > 0) rule(doc, o.x, o.x + width, y, 0.3, HAIRLINE)
    let x = o.x
    for (const c of columns) {
      const cell = { x: x + PAD, y, w: c.width - 2 * PAD, h: o.rowHeight }
      if (c.draw) c.draw(doc, row, cell)
      else {
        const font = c.font?.(row) ?? 'regular'
        put(
          doc,
          c.text?.(row) ?? '',
          cell.x,
          y + (o.rowHeight - lineHeight(doc, { font, size: o.size })) / 2,
          {
            font,
            size: o.size,
            color: c.color?.(row) ?? INK,
            align: c.align ?? 'left',
            width: cell.w,
          },
        )
      }
      x += c.width
    }
    y += o.rowHeight
  })
  rule(doc, o.x, o.x + width, y, 1.2)
  return y
}
