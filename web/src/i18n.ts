/** Everything a user reads, in Chinese by default and English with ?lang=en. */
export type Lang = 'zh' | 'en'

const DICT = {
  title: { zh: '城市大脑 · 网格化管理指挥中心', en: 'City Brain · Grid Governance Command Centre' },
  live: { zh: '实时', en: 'LIVE' },
  connecting: { zh: '连接中…', en: 'Connecting…' },
  reconnecting: { zh: '重连中', en: 'Reconnecting' },
  staleSince: { zh: '数据已停止更新，自', en: 'STALE since' },
  unauthorized: { zh: '令牌无效或已过期', en: 'Token invalid or expired' },
  vsYesterday: { zh: '较昨日同期', en: 'vs yesterday' },
  vsLastWeek: { zh: '较上周同期', en: 'vs same day last week' },
  categories: { zh: '今日事件类别', en: "Today's categories" },
  trend: { zh: '24小时趋势', en: '24-hour trend' },
  reported: { zh: '上报', en: 'Reported' },
  handled: { zh: '处置', en: 'Handled' },
  closed: { zh: '结案', en: 'Closed' },
  ranking: { zh: '街道综合排名（本月）', en: 'Street ranking (this month)' },
  ticker: { zh: '实时事件', en: 'Live events' },
  circles: { zh: '一公里服务圈覆盖', en: '1 km service circles' },
  alerts: { zh: '告警', en: 'Alerts' },
  noAlerts: { zh: '暂无告警', en: 'No alerts' },
  overdueAlert: { zh: '超期', en: 'Overdue' },
  surgeAlert: { zh: '上报激增', en: 'Surge' },
  measure: { zh: '网格着色', en: 'Grid colour' },
  m_open: { zh: '待办事件', en: 'Open events' },
  m_overdue: { zh: '超期事件', en: 'Overdue' },
  m_reported: { zh: '今日上报', en: 'Reported today' },
  m_patrol: { zh: '今日巡查轮次', en: 'Patrol rounds today' },
  workers: { zh: '网格员', en: 'Workers' },
  overdueGrid: { zh: '有超期事件的网格', en: 'Grid with overdue events' },
  overdueFlash: { zh: '超期闪烁', en: 'Overdue (flashing)' },
  newEvent: { zh: '新事件', en: 'New event' },
  facilities: { zh: '服务设施', en: 'Facilities' },
  synthetic: { zh: '街道/社区/网格边界为示意', en: 'Street/community/grid boundaries are synthetic' },
  signInTitle: { zh: '请登录', en: 'Sign in' },
  signInText: {
    zh: '大屏需要有效的访问令牌。请使用服务启动时打印的带令牌链接，或在下方粘贴令牌。',
    en: 'The wall needs a valid token. Open the tokenized link printed when the server started, or paste a token below.',
  },
  signIn: { zh: '进入大屏', en: 'Open the wall' },
  tourOf: { zh: '巡览', en: 'Tour' },
  district: { zh: '全区', en: 'District' },
  events: { zh: '件', en: '' },
  starting: { zh: '正在启动', en: 'Starting' },
  phase_backfill: { zh: '回填历史数据', en: 'backfilling history' },
  'phase_catch-up': { zh: '追赶模拟进度', en: 'catching up' },
} satisfies Record<string, Record<Lang, string>>

export type TextKey = keyof typeof DICT

export const langFromUrl = (search: string): Lang =>
  new URLSearchParams(search).get('lang') === 'en' ? 'en' : 'zh'

export function createT(lang: Lang) {
  return (key: TextKey): string => DICT[key][lang]
}
