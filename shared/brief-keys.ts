import type { KpiKey } from './kpis.ts'

/** The briefing's figures, in reading order: the headline ones first (the PDF prints them so too). */
export const BRIEF_KEYS: KpiKey[] = [
  'score',
  'reported',
  'dispatched',
  'disposalRate',
  'onTimeRate',
  'closeRate',
  'satisfactionRate',
  'overdueOpen',
  'overdueRate',
  'reworkRate',
  'extensionRate',
  'avgDisposalHours',
  'patrolCoverage',
  'onlineWorkers',
]

/** The indicators a ranking can be sorted by (its columns). */
export const RANKING_KEYS: KpiKey[] = [
  'score',
  'disposalRate',
  'onTimeRate',
  'closeRate',
  'satisfactionRate',
  'overdueOpen',
  'reworkRate',
  'reported',
]

/** Figures of an instant, not of a period: no sparkline. */
export const NO_SERIES: ReadonlySet<KpiKey> = new Set(['overdueOpen', 'patrolCoverage', 'onlineWorkers'])
