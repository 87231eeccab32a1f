/**
 * The replay of one day on the map (回放): the region's events reported that day, loaded page by
 * page, then played on a clock running up to ×120: an event appears when it was reported, turns
 * red once its deadline passes unhandled, and leaves the map when it is closed or cancelled. The
 * grid colours follow (open, overdue, reported so far, per grid). The events' own times drive it —
 * reportedAt, deadline, handledAt, closedAt, cancelledAt as they stand now: a deadline since
 * extended shows the extended one, a handling undone by rework the last one.
 */
import { computed, onScopeDispose, ref, shallowRef } from 'vue'
import type { EventView, EventsPage } from '../../../shared/api.ts'
import type { GridAggregate } from '../../../shared/live.ts'
import { addDays } from '../../../shared/comparison.ts'
import { midnightOf } from '../../../shared/periods.ts'
import type { Api } from '../api.ts'

export const REPLAY_SPEEDS = [30, 60, 120] as const
const MAX_EVENTS = 5000
const FRAME_MS = 250

interface Timed {
  e: EventView
  reported: number
  deadline: number | null
  handled: number | null
  gone: number | null
}

export function useReplay(api: Api, timeZone: () => string) {
  const loaded = shallowRef<Timed[]>([])
  const loading = ref(false)
  const truncated = ref(false)
  const day = ref('')
  const clock = ref(0)
  const start = ref(0)
  const end = ref(0)
  const speed = ref<(typeof REPLAY_SPEEDS)[number]>(120)
  const playing = ref(false)
  let timer: ReturnType<typeof setInterval> | null = null
  let asked = 0

  async function load(region: string, date: string): Promise<void> {
    pause()
    const id = ++asked
    day.value = date
    const tz = timeZone()
    start.value = midnightOf(date, tz)
    end.value = midnightOf(addDays(date, 1), tz)
    clock.value = start.value
    loading.value = true
    const out: Timed[] = []
    let cursor: string | null = null
    const from = new Date(start.value).toISOString()
    const to = new Date(end.value).toISOString()
    try {
      do {
        const q = new URLSearchParams({ region, from, to, limit: '1000' })
        if (cursor) q.set('cursor', cursor)
        const page: EventsPage = await api<EventsPage>(`/api/v1/events?${q}`)
        if (id !== asked) return
        for (const e of page.events)
          out.push({
            e,
            reported: Date.parse(e.reportedAt),
            deadline: e.deadline ? Date.parse(e.deadline) : null,
            handled: e.handledAt ? Date.parse(e.handledAt) : null,
            gone: e.closedAt ? Date.parse(e.closedAt) : e.cancelledAt ? Date.parse(e.cancelledAt) : null,
          })
        cursor = page.next
      } while (cursor && out.length < MAX_EVENTS)
      truncated.value = cursor !== null
      loaded.value = out
    } finally {
      if (id === asked) loading.value = false
    }
  }

  /** What the map shows at the clock: each event's state, and the grids' figures from them. */
  const frame = computed(() => {
    const t = clock.value
    const pins: { lng: number; lat: number; color: string }[] = []
    const byCode = new Map<string, GridAggregate>()
    let open = 0
    let overdue = 0
    let closed = 0
    for (const x of loaded.value) {
      if (x.reported > t) continue
      const g = byCode.get(x.e.gridCode) ?? [x.e.gridCode, 0, 0, 0, null]
      g[3]++
      if (x.gone !== null && x.gone <= t) {
        closed++
      } else {
        const late = x.deadline !== null && x.deadline < t && !(x.handled !== null && x.handled <= t)
        open++
        g[1]++
        if (late) {
          overdue++
          g[2]++
        }
        pins.push({ lng: x.e.lng, lat: x.e.lat, color: late ? '#ff453a' : '#f0e442' })
      }
      byCode.set(x.e.gridCode, g)
    }
    return { pins, aggregates: { byCode, version: t }, open, overdue, closed }
  })

  function play(): void {
    if (playing.value) return
    if (clock.value >= end.value) clock.value = start.value
    playing.value = true
    let last = performance.now()
    timer = setInterval(() => {
      const now = performance.now()
      clock.value = Math.min(end.value, clock.value + (now - last) * speed.value)
      last = now
      if (clock.value >= end.value) pause()
    }, FRAME_MS)
  }
  function pause(): void {
    playing.value = false
    if (timer) clearInterval(timer)
    timer = null
  }
  const seek = (t: number) => (clock.value = Math.max(start.value, Math.min(end.value, t)))
  onScopeDispose(pause)
  return {
    load,
    loading,
    truncated,
    day,
    clock,
    start,
    end,
    speed,
    playing,
    frame,
    play,
    pause,
    seek,
    count: () => loaded.value.length,
  }
}
