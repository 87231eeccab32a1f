/**
 * The wall's tour (巡览): every `seconds` the next street, then the whole district again, round and
 * round. `stop` is the street shown (null for the district), with its figures once they arrive;
 * the map follows it through its `focus`. Nothing runs when `seconds` is 0. Stopped with the
 * calling scope.
 */
import { getCurrentScope, onScopeDispose, shallowRef } from 'vue'
import type { KpiValues } from '../../../shared/kpis.ts'

export interface TourStop {
  code: string
  name: string
  values: KpiValues | null
}

export function useTour(o: {
  seconds: number
  /** The figures of a stop (`GET /api/v1/kpis?region=`). */
  valuesOf: (code: string) => Promise<KpiValues>
}) {
  const stop = shallowRef<TourStop | null>(null)
  let timer: ReturnType<typeof setInterval> | null = null

  function start(stops: { code: string; name: string }[]): void {
    if (o.seconds <= 0 || timer) return
    let i = -1
    timer = setInterval(async () => {
      i = (i + 1) % (stops.length + 1)
      if (i === stops.length) {
        stop.value = null
        return
      }
      const s = stops[i]!
      stop.value = { code: s.code, name: s.name, values: null }
      try {
        const values = await o.valuesOf(s.code)
        if (stop.value?.code === s.code) stop.value = { ...stop.value, values }
      } catch {
        /* the next stop will try again */
      }
    }, o.seconds * 1000)
  }
  const end = () => {
    if (timer) clearInterval(timer)
    timer = null
  }
  if (getCurrentScope()) onScopeDispose(end)
  return { stop, start, end }
}
