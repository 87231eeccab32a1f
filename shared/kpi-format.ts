/**
 * How the screens write a KPI (the wall, the briefing and the embeds alike, and their tests): a rate
 * as "97.0%", hours and scores to one decimal, counts whole, "—" where there is no figure; and a
 * change against a compared figure as "▲ 1.2pp" with whether it is for the better.
 */
import { KPI_LABELS, type KpiKey } from './kpis.ts'

/** The figure without its unit ("97.0" of a rate), "—" for none. */
export function formatKpi(key: KpiKey, v: number | null | undefined): string {
  if (v === null || v === undefined) return '—'
  const unit = KPI_LABELS[key].unit
  if (unit === 'rate') return (v * 100).toFixed(1)
  if (unit === 'hours' || unit === 'score') return v.toFixed(1)
  return String(Math.round(v))
}

/** The figure's unit as written after it: "%" for a rate (none for "—"). */
export const kpiSuffix = (key: KpiKey, v: number | null | undefined): string =>
  v === null || v === undefined ? '' : KPI_LABELS[key].unit === 'rate' ? '%' : ''

/** The figure as a person reads it: "97.0%", "12", "—". */
export const kpiText = (key: KpiKey, v: number | null | undefined): string =>
  formatKpi(key, v) + kpiSuffix(key, v)

/**
 * Which way is better: up for every rate, the score and workers on duty (the default), down for the
 * overdue, rework and extension figures and the disposal time; more or fewer reports is neither.
 */
const BETTER: Partial<Record<KpiKey, 1 | -1 | 0>> = {
  overdueOpen: -1,
  overdueRate: -1,
  reworkRate: -1,
  extensionRate: -1,
  avgDisposalHours: -1,
  reported: 0,
  dispatched: 0,
}
export const betterWay = (key: KpiKey): 1 | -1 | 0 => BETTER[key] ?? 1

export interface KpiDelta {
  /** "▲ 1.2pp", "▼ 3", "＝ 0", or "—" where either figure is missing. */
  text: string
  /** True for the better, false for the worse, null for no verdict. */
  good: boolean | null
  /** The change in the figure's own terms (percentage points for a rate), or null. */
  value: number | null
}

export function kpiDelta(
  key: KpiKey,
  v: number | null | undefined,
  was: number | null | undefined,
): KpiDelta {
  if (v === null || v === undefined || was === null || was === undefined)
    return { text: '—', good: null, value: null }
  const unit = KPI_LABELS[key].unit
  const rate = unit === 'rate'
  const delta = rate ? (v - was) * 100 : v - was
  const digits = rate || unit === 'hours' || unit === 'score' ? 1 : 0
  const better = betterWay(key)
  const shown = Number(Math.abs(delta).toFixed(digits))
  const good = shown === 0 || better === 0 ? null : delta * better > 0
  const arrow = shown === 0 ? '＝' : delta > 0 ? '▲' : '▼'
  return { text: `${arrow} ${Math.abs(delta).toFixed(digits)}${rate ? 'pp' : ''}`, good, value: delta }
}
