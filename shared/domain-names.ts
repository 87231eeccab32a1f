/** The lifecycle's words as the screens write them, in both languages. */
import type { ChangeAction, EventSource, EventStatus, Satisfaction } from './types.ts'
import type { RegionLevel } from './regions.ts'
import type { PeriodKind } from './periods.ts'

type Names<K extends string> = Record<K, { zh: string; en: string }>

export const STATUS_NAMES: Names<EventStatus> = {
  reported: { zh: '上报', en: 'Reported' },
  accepted: { zh: '受理', en: 'Accepted' },
  filed: { zh: '立案', en: 'Filed' },
  dispatched: { zh: '派遣', en: 'Dispatched' },
  handled: { zh: '处置', en: 'Handled' },
  closed: { zh: '结案', en: 'Closed' },
  cancelled: { zh: '作废', en: 'Cancelled' },
}

export const ACTION_NAMES: Names<ChangeAction> = {
  report: { zh: '上报', en: 'Reported' },
  accept: { zh: '受理', en: 'Accepted' },
  file: { zh: '立案', en: 'Filed' },
  cancel: { zh: '作废', en: 'Cancelled' },
  dispatch: { zh: '派遣', en: 'Dispatched' },
  return: { zh: '回退', en: 'Returned' },
  extend: { zh: '延期', en: 'Extended' },
  handle: { zh: '处置', en: 'Handled' },
  verify: { zh: '核查', en: 'Verified' },
  evaluate: { zh: '评价', en: 'Evaluated' },
  self_handle: { zh: '自行处置', en: 'Handled on the spot' },
}

export const SOURCE_NAMES: Names<EventSource> = {
  patrol: { zh: '网格员巡查', en: 'Patrol' },
  hotline: { zh: '12345热线', en: 'Hotline' },
  open311: { zh: '市民应用', en: 'Citizen app' },
  video: { zh: '视频发现', en: 'Video' },
  referral: { zh: '部门转办', en: 'Referral' },
  simulator: { zh: '模拟', en: 'Simulator' },
}

export const SATISFACTION_NAMES: Names<Satisfaction> = {
  very_satisfied: { zh: '非常满意', en: 'Very satisfied' },
  satisfied: { zh: '满意', en: 'Satisfied' },
  dissatisfied: { zh: '不满意', en: 'Dissatisfied' },
}

export const LEVEL_NAMES: Names<RegionLevel> = {
  district: { zh: '区', en: 'District' },
  street: { zh: '街道', en: 'Street' },
  community: { zh: '社区', en: 'Community' },
  grid: { zh: '网格', en: 'Grid' },
}

/** The briefing's periods, as its buttons and its paper name them. */
export const PERIOD_NAMES: Names<PeriodKind> = {
  today: { zh: '今日', en: 'Today' },
  week: { zh: '本周', en: 'This week' },
  month: { zh: '本月', en: 'This month' },
  quarter: { zh: '本季度', en: 'This quarter' },
  custom: { zh: '自定义时段', en: 'Custom period' },
}
