import { defineStore } from 'pinia'
import { shallowRef } from 'vue'
import type { KpiValues } from '../../../shared/kpis.ts'
import type { KpiFrame } from '../../../shared/live.ts'

/** Yesterday's figures as they stood at `at`, over [from, at): what the tiles compare with. */
export interface Yesterday {
  values: KpiValues
  /** ISO instants, as the API answered them. */
  from: string
  at: string
}

/** The subscribed region's KPIs for today, the seq they belong to, and yesterday's for comparison. */
export const useKpiStore = defineStore('kpis', () => {
  const frame = shallowRef<KpiFrame | null>(null)
  const yesterday = shallowRef<Yesterday | null>(null)
  const apply = (f: KpiFrame) => {
    if (!frame.value || f.region !== frame.value.region || f.seq >= frame.value.seq) frame.value = f
  }
  const setYesterday = (v: Yesterday | null) => {
    yesterday.value = v
  }
  return { frame, yesterday, apply, setYesterday }
})
