/**
 * The briefing's whole view lives in its URL (region, period, tab, selection, filters, the as-of
 * instant), so a shared link reopens the same view and the back button walks back: `navigate`
 * pushes a history entry for a new view (a drill-down, a tab, an event opened) and replaces it for
 * a refinement (a sort, the slider); `popstate` puts the view back. Parameters it does not own
 * (token, lang, theme) are kept as they are.
 */
import { reactive } from 'vue'
import { KPI_KEYS, type KpiKey } from '../../../shared/kpis.ts'
import { PERIOD_KINDS, type PeriodKind } from '../../../shared/periods.ts'

export const TABS = ['overview', 'ranking', 'bulletin', 'events', 'replay'] as const
export type Tab = (typeof TABS)[number]

export interface BriefView {
  /** The region shown; '' for the token's own (the district, or its scope). */
  region: string
  period: PeriodKind
  /** A custom period's first and last local dates, 'YYYY-MM-DD'. */
  from: string
  to: string
  tab: Tab
  /** The event opened (its detail and timeline). */
  event: string
  /** The as-of instant (ISO), '' for live. */
  at: string
  sort: KpiKey
  dir: 'asc' | 'desc'
  status: string
  category: string
  source: string
  overdue: boolean
  /** The replayed day, 'YYYY-MM-DD'. */
  day: string
}

const DEFAULTS: BriefView = {
  region: '',
  period: 'month',
  from: '',
  to: '',
  tab: 'overview',
  event: '',
  at: '',
  sort: 'score',
  dir: 'desc',
  status: '',
  category: '',
  source: '',
  overdue: false,
  day: '',
}
const KEYS = Object.keys(DEFAULTS) as (keyof BriefView)[]

const oneOf = <T extends string>(list: readonly T[], v: string | null, d: T): T =>
  v !== null && (list as readonly string[]).includes(v) ? (v as T) : d

export function readView(search: string): BriefView {
  const q = new URLSearchParams(search)
  const s = (k: keyof BriefView) => q.get(k) ?? ''
  return {
    region: /^\d{6,15}$/.test(s('region')) ? s('region') : '',
    period: oneOf(PERIOD_KINDS, q.get('period'), DEFAULTS.period),
    from: /^\d{4}-\d{2}-\d{2}$/.test(s('from')) ? s('from') : '',
    to: /^\d{4}-\d{2}-\d{2}$/.test(s('to')) ? s('to') : '',
    tab: oneOf(TABS, q.get('tab'), DEFAULTS.tab),
    event: s('event'),
    at: Number.isFinite(Date.parse(s('at'))) ? s('at') : '',
    sort: oneOf(KPI_KEYS, q.get('sort'), DEFAULTS.sort),
    dir: q.get('dir') === 'asc' ? 'asc' : 'desc',
    status: s('status'),
    category: s('category'),
    source: s('source'),
    overdue: q.get('overdue') === 'true',
    day: /^\d{4}-\d{2}-\d{2}$/.test(s('day')) ? s('day') : '',
  }
}

/** The URL of `view`, keeping the parameters of `search` the view does not own. */
export function writeView(view: BriefView, search: string, pathname = '/brief'): string {
  const q = new URLSearchParams(search)
  for (const k of KEYS) {
    const v = view[k]
    if (v === DEFAULTS[k] || v === '') q.delete(k)
    else q.set(k, String(v))
  }
  const s = q.toString()
  return s ? `${pathname}?${s}` : pathname
}

export function useBriefUrl() {
  const view = reactive<BriefView>(readView(location.search))
  const navigate = (patch: Partial<BriefView>, mode: 'push' | 'replace' = 'push'): void => {
    Object.assign(view, patch)
    const url = writeView(view, location.search, location.pathname)
    if (url === location.pathname + location.search) return
    if (mode === 'push') history.pushState(null, '', url)
    else history.replaceState(null, '', url)
  }
  const onPop = () => Object.assign(view, readView(location.search))
  window.addEventListener('popstate', onPop)
  return { view, navigate, dispose: () => window.removeEventListener('popstate', onPop) }
}
