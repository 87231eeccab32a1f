import type { EventStatus } from '../../../shared/types.ts'

export const STATUS_NAMES: Record<EventStatus, { zh: string; en: string }> = {
  reported: { zh: '上报', en: 'Reported' },
  accepted: { zh: '受理', en: 'Accepted' },
  filed: { zh: '立案', en: 'Filed' },
  dispatched: { zh: '派遣', en: 'Dispatched' },
  handled: { zh: '处置', en: 'Handled' },
  closed: { zh: '结案', en: 'Closed' },
  cancelled: { zh: '作废', en: 'Cancelled' },
}
