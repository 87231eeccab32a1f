import { defineStore } from 'pinia'
import { computed, shallowRef } from 'vue'
import type { ComparisonResponse } from '../../../shared/api.ts'
import type { ComparisonBasis } from '../../../shared/comparison.ts'
import type { KpiFrame } from '../../../shared/live.ts'

/**
 * What the tiles compare with (`GET /api/v1/comparison`): the compared day, yesterday or the same
 * weekday last week (`basis`), from its midnight to this time of day, as the figures stood at `at`.
 */
export type Comparison = Pick<ComparisonResponse, 'basis' | 'date' | 'values' | 'from' | 'at'>

/** The i18n key of the tiles' comparison label for a basis. */
export const comparisonLabelKey = (basis: ComparisonBasis | undefined): 'vsYesterday' | 'vsLastWeek' =>
  basis === 'last_week' ? 'vsLastWeek' : 'vsYesterday'

/** A frame replaces the one shown when it is of another region, at a later seq, or later at the same seq. */
export const isNewerFrame = (f: KpiFrame, shown: KpiFrame | null): boolean =>
  !shown ||
  f.region !== shown.region ||
  f.seq > shown.seq ||
  (f.seq === shown.seq && Date.parse(f.at) >= Date.parse(shown.at))

/** The subscribed region's KPIs for today, the seq and instant they hold for, and the comparison. */
export const useKpiStore = defineStore('kpis', () => {
  const frame = shallowRef<KpiFrame | null>(null)
  const comparison = shallowRef<Comparison | null>(null)
  const labelKey = computed(() => comparisonLabelKey(comparison.value?.basis))
  const apply = (f: KpiFrame) => {
    if (isNewerFrame(f, frame.value)) frame.value = f
  }
  const setComparison = (v: Comparison | null) => {
    comparison.value = v
  }
  return { frame, comparison, labelKey, apply, setComparison }
})
