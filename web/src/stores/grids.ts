import { defineStore } from 'pinia'
import { shallowRef } from 'vue'
import type { GridAggregate } from '../../../shared/live.ts'

/**
 * Per-grid figures [code, open, overdue, reportedToday, patrolRounds], kept in a plain Map (hot
 * data stays out of deep reactivity); `version` bumps when anything changed.
 */
export const useGridStore = defineStore('grids', () => {
  const byCode = new Map<string, GridAggregate>()
  const version = shallowRef(0)
  const replaceAll = (list: GridAggregate[]) => {
    byCode.clear()
    for (const g of list) byCode.set(g[0], g)
    version.value++
  }
  const apply = (list: GridAggregate[]) => {
    for (const g of list) byCode.set(g[0], g)
    if (list.length) version.value++
  }
  return { byCode, version, replaceAll, apply }
})
