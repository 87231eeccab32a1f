/**
 * What a screen says about its live stream (the wall's header, the briefing's badge, the embeds):
 * live; starting, with the server's progress; the token refused; connecting; or stale since T.
 */
import type { Lang, TextKey } from './i18n.ts'
import type { LiveConnectionState } from './realtime/live-client.ts'

export function connectionText(
  c: LiveConnectionState,
  t: (k: TextKey) => string,
  lang: Lang,
  timeZone: string,
): string {
  if (c.status === 'live') return t('live')
  if (c.status === 'starting') {
    const p = c.starting
    if (!p) return `${t('starting')}…`
    const sep = lang === 'en' ? ': ' : '：'
    return `${t('starting')}${sep}${t(`phase_${p.phase}` as const)} ${p.percent}%`
  }
  if (c.status === 'unauthorized') return t('unauthorized')
  if (c.status === 'connecting' && c.staleSince === null) return t('connecting')
  const at =
    c.staleSince === null
      ? ''
      : new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'zh-CN', {
          timeZone,
          hour12: false,
          hour: '2-digit',
          minute: '2-digit',
          second: '2-digit',
        }).format(c.staleSince)
  return `${t('staleSince')} ${at}`
}
