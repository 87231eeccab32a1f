/**
 * A panel's public answer (`/api/v1/embed/<panel>`), read with the page's embed token and read again
 * every `everyMs` (the figures are this month's or this week's: a minute is fresh enough, and a
 * portal's many viewers cost one small cached answer each). Kept on a failed read, with the error.
 */
import { onScopeDispose, ref, shallowRef } from 'vue'

export function useEmbedData<T>(panel: string, token: string, region: string, everyMs = 60_000) {
  const data = shallowRef<T | null>(null)
  const error = ref<string | null>(null)
  const q = new URLSearchParams({ token })
  if (region) q.set('region', region)
  async function load(): Promise<void> {
    try {
      const r = await fetch(`/api/v1/embed/${panel}?${q}`)
      if (!r.ok) throw new Error(`${r.status}`)
      data.value = (await r.json()) as T
      error.value = null
    } catch (err) {
      error.value = err instanceof Error ? err.message : String(err)
    }
  }
  void load()
  const timer = setInterval(() => void load(), everyMs)
  onScopeDispose(() => clearInterval(timer))
  return { data, error }
}
