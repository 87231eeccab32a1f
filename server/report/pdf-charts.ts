/**
 * The briefing's charts as vector paths (they stay sharp at any zoom and print at the printer's
 * resolution): the period's trend — reports per bucket as bars on the left axis, rates as lines on a
 * 0–100 % right axis — and the small sparklines and bars of the tables.
 *
 * A missing figure (a rate with nothing to divide by) is a gap in its line, never a zero.
 */
import { ACCENT, BAR_GREY, FAINT, HAIRLINE, INK, MUTED, measure, put, rule, type Doc } from './pdf-draw.ts'
import type { Box } from './pdf-table.ts'

export interface TrendPoint {
  /** The bucket's label on the time axis ("11-25", "15:00"). */
  label: string
  bar: number
  /** Rates in [0, 1], or null where there is none. */
  lines: (number | null)[]
}

export interface TrendLegend {
  bar: string
  lines: string[]
}

const LINE_COLORS = [ACCENT, INK]
const LINE_DASH: (number[] | null)[] = [null, [2.5, 1.8]]
const AXIS_SIZE = 7

/** The smallest of 1, 2, 5 × 10^k at least `x / steps` (at least 1): an axis step a reader can add up. */
export function niceStep(max: number, steps: number): number {
  const raw = Math.max(1, max / steps)
  const p = 10 ** Math.floor(Math.log10(raw))
  return ([1, 2, 5, 10].find((m) => m * p >= raw) ?? 10) * p
}

/** Stroke `values` across `box` as connected runs, breaking at nulls. */
function polyline(
  doc: Doc,
  values: (number | null)[],
  xAt: (i: number) => number,
  yAt: (v: number) => number,
) {
  let open = false
  values.forEach((v, i) => {
    if (v === null) {
      open = false
      return
    }
    if (open) doc.lineTo(xAt(i), yAt(v))
    else doc.moveTo(xAt(i), yAt(v))
    open = true
  })
}

function legend(
  doc: Doc,
  x: number,
  y: number,
  items: { text: string; draw: (x: number, y: number) => void }[],
) {
  let at = x
  for (const item of items) {
    item.draw(at, y + 4)
    put(doc, item.text, at + 16, y, { size: AXIS_SIZE + 0.5, color: MUTED })
    at += 16 + measure(doc, item.text, { size: AXIS_SIZE + 0.5 }) + 14
  }
}

/** The trend chart: bars of `bar` against the left axis, each of `lines` against 0–100 % on the right. */
export function drawTrendChart(doc: Doc, box: Box, points: TrendPoint[], names: TrendLegend): void {
  const plot = { x: box.x + 28, y: box.y + 18, w: box.w - 28 - 30, h: box.h - 18 - 14 }
  const step = niceStep(Math.max(0, ...points.map((p) => p.bar)), 4)
  const top = step * Math.max(1, Math.ceil(Math.max(0, ...points.map((p) => p.bar)) / step))
  const slot = plot.w / Math.max(1, points.length)
  const xAt = (i: number) => plot.x + slot * (i + 0.5)
  const yBar = (v: number) => plot.y + plot.h - (v / top) * plot.h
  const yRate = (v: number) => plot.y + plot.h - v * plot.h

  legend(doc, plot.x, box.y, [
    { text: names.bar, draw: (x, y) => void doc.rect(x, y - 3, 11, 6).fill(BAR_GREY) },
    ...names.lines.map((text, k) => ({
      text,
      draw: (x: number, y: number) => {
        doc
          .save()
          .moveTo(x, y)
          .lineTo(x + 11, y)
          .lineWidth(1.4)
          .strokeColor(LINE_COLORS[k] ?? INK)
        const dash = LINE_DASH[k]
        if (dash) doc.dash(dash[0]!, { space: dash[1]! })
        doc.stroke().restore()
      },
    })),
  ])

  // Gridlines and both axes' figures: counts on the left, per cent on the right.
  for (let v = 0; v <= top; v += step) {
    const y = yBar(v)
    rule(doc, plot.x, plot.x + plot.w, y, v === 0 ? 0.8 : 0.3, v === 0 ? INK : HAIRLINE)
    put(doc, String(v), box.x, y - 4, { size: AXIS_SIZE, color: MUTED, align: 'right', width: 24 })
  }
  for (const r of [0, 0.25, 0.5, 0.75, 1]) {
    put(doc, `${r * 100}%`, plot.x + plot.w + 4, yRate(r) - 4, { size: AXIS_SIZE, color: MUTED })
  }

  const barW = Math.min(18, slot * 0.62)
  points.forEach((p, i) => {
    if (p.bar > 0)
      doc.rect(xAt(i) - barW / 2, yBar(p.bar), barW, plot.y + plot.h - yBar(p.bar)).fill(BAR_GREY)
  })
  names.lines.forEach((_, k) => {
    doc.save()
    polyline(
      doc,
      points.map((p) => p.lines[k] ?? null),
      xAt,
      yRate,
    )
    doc
      .lineWidth(1.4)
      .lineJoin('round')
      .strokeColor(LINE_COLORS[k] ?? INK)
    const dash = LINE_DASH[k]
    if (dash) doc.dash(dash[0]!, { space: dash[1]! })
    doc.stroke().restore()
    // Markers where the buckets are few enough to tell apart (a lone bucket has no line to draw).
    if (points.length <= 40)
      points.forEach((p, i) => {
        const v = p.lines[k]
        if (v !== null && v !== undefined) doc.circle(xAt(i), yRate(v), 1.5).fill(LINE_COLORS[k] ?? INK)
      })
  })
  rule(doc, plot.x, plot.x + plot.w, plot.y + plot.h, 0.8)

  // At most about eight labels on the time axis, the last bucket always named.
  const every = Math.max(1, Math.ceil(points.length / 8))
  points.forEach((p, i) => {
    if (i % every !== 0 && i !== points.length - 1) return
    // The one before the last is left out where the two would run into each other.
    if (i !== points.length - 1 && points.length - 1 - i < every) return
    put(doc, p.label, xAt(i) - 20, plot.y + plot.h + 4, {
      size: AXIS_SIZE,
      color: MUTED,
      align: 'center',
      width: 40,
    })
  })
}

/** A sparkline of `values` (nulls are gaps) across `box`, its last figure marked with a dot. */
export function drawSparkline(doc: Doc, box: Box, values: (number | null)[], color = INK): void {
  const known = values.filter((v): v is number => v !== null)
  if (known.length === 0) return
  const lo = Math.min(...known)
  const hi = Math.max(...known)
  const xAt = (i: number) => box.x + (values.length < 2 ? box.w / 2 : (i / (values.length - 1)) * box.w)
  // A flat course is drawn through the middle, not along the bottom edge.
  const yAt = (v: number) => (hi === lo ? box.y + box.h / 2 : box.y + box.h - ((v - lo) / (hi - lo)) * box.h)
  doc.save()
  polyline(doc, values, xAt, yAt)
  doc.lineWidth(0.8).lineJoin('round').strokeColor(color).stroke()
  const last = values.length - 1 - [...values].reverse().findIndex((v) => v !== null)
  doc.circle(xAt(last), yAt(values[last]!), 1.3).fill(color)
  doc.restore()
}

/** A horizontal bar filled to `fraction` (0–1) of `box`'s width, on a faint track. */
export function drawBar(doc: Doc, box: Box, fraction: number, color = INK): void {
  const f = Math.max(0, Math.min(1, fraction))
  doc.save().rect(box.x, box.y, box.w, box.h).fill(FAINT)
  if (f > 0) doc.rect(box.x, box.y, box.w * f, box.h).fill(color)
  doc.restore()
}
