/**
 * A screen's session: the page URL's token and language, the API client, who the token is
 * (`GET /api/v1/whoami`) and the product's clock (simulated time may run faster), and the phase the
 * screen is in — loading, asking to sign in (no token, or one refused), ready, or failed.
 */
import { ref, shallowRef } from 'vue'
import type { WhoAmI } from '../../../shared/api.ts'
import { ApiError, createApi, type Api } from '../api.ts'
import { createT, langFromUrl, type Lang } from '../i18n.ts'

export type Phase = 'loading' | 'signin' | 'ready' | 'error'

export function useSession(search: string = location.search) {
  const params = new URLSearchParams(search)
  const lang: Lang = langFromUrl(search)
  const t = createT(lang)
  const token = params.get('token') ?? ''
  const api: Api = createApi('', token, lang)
  const phase = ref<Phase>(token ? 'loading' : 'signin')
  const problem = ref<string | null>(null)
  const me = shallowRef<WhoAmI | null>(null)
  const timeZone = ref('Asia/Shanghai')
  let clock = () => Date.now()

  /** The screen failed: a refused token asks to sign in again, anything else says what went wrong. */
  function fail(err: unknown): void {
    phase.value = err instanceof ApiError && (err.status === 401 || err.status === 403) ? 'signin' : 'error'
    problem.value = err instanceof Error ? err.message : String(err)
  }

  /** Who the token is, and the product's clock; null (and the phase set) when it failed. */
  async function start(): Promise<WhoAmI | null> {
    if (!token) return null
    try {
      const w = await api<WhoAmI>('/api/v1/whoami')
      me.value = w
      timeZone.value = w.timeZone
      const serverAt = Date.parse(w.now)
      const fetchedAt = Date.now()
      const speed = Number.isFinite(w.clockSpeed) ? w.clockSpeed : 1
      if (Number.isFinite(serverAt)) clock = () => serverAt + (Date.now() - fetchedAt) * speed
      return w
    } catch (err) {
      fail(err)
      return null
    }
  }

  return {
    params,
    lang,
    t,
    token,
    api,
    phase,
    problem,
    me,
    timeZone,
    /** The product's time now (epoch ms). */
    cityNow: () => clock(),
    start,
    fail,
  }
}

export type Session = ReturnType<typeof useSession>
