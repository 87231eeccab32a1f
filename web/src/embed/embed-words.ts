/** What the embeds say, in both languages (the panels' own words; the figures' names are KPI_LABELS). */
import type { Lang } from '../i18n.ts'

export const EMBED_WORDS = {
  kpis: { zh: '今日城市运行', en: 'The city today' },
  map: { zh: '网格事件分布', en: 'Events by grid' },
  trend: { zh: '近七日上报趋势', en: 'Reports, last seven days' },
  ranking: { zh: '本月综合排名', en: 'Ranking this month' },
  satisfaction: { zh: '群众满意率', en: 'Citizen satisfaction' },
  updatedAt: { zh: '数据更新于', en: 'Updated' },
  live: { zh: '实时', en: 'live' },
  synthetic: { zh: '网格边界为示意', en: 'Grid boundaries are synthetic' },
  suppressed: { zh: '数量过少不予显示', en: 'Too few to show' },
  source: { zh: '来源：城市大脑', en: 'Source: City Brain' },
  unknownPanel: { zh: '没有这个面板', en: 'No such panel' },
  reportsPerDay: { zh: '每日上报数', en: 'Reports per day' },
  smallHidden: { zh: '少于5件不显示具体数字', en: 'fewer than 5 are not shown' },
  rank: { zh: '名次', en: 'Rank' },
  unit: { zh: '单位', en: 'Unit' },
} as const

export type EmbedWord = keyof typeof EMBED_WORDS
export const embedT =
  (lang: Lang) =>
  (k: EmbedWord): string =>
    EMBED_WORDS[k][lang]
