import { defineStore } from 'pinia'
import { shallowRef } from 'vue'
import type { AlertFrame, ChangeFrame } from '../../../shared/live.ts'

const TICKER_MAX = 40
const ALERTS_MAX = 30
const PULSE_MS = 12_000

/** Bounded lists: the ticker of changes, alerts, and recent arrivals for the map's pulse layer. */
export const useEventStore = defineStore('events', () => {
  const ticker = shallowRef<ChangeFrame[]>([])
  const alerts = shallowRef<AlertFrame[]>([])
  const pulses = shallowRef<{ lng: number; lat: number; at: number }[]>([])
  const applyChange = (f: ChangeFrame, now: number) => {
    // A replayed change may already be listed from a snapshot's recent changes.
    if (ticker.value.some((x) => x.seq === f.seq)) return
    ticker.value = [f, ...ticker.value].slice(0, TICKER_MAX)
    if (f.event.action === 'report')
      pulses.value = [
        ...pulses.value.filter((p) => now - p.at < PULSE_MS),
        { lng: f.event.lng, lat: f.event.lat, at: now },
      ].slice(-20)
  }
  const applyAlert = (a: AlertFrame) => {
    alerts.value = [a, ...alerts.value].slice(0, ALERTS_MAX)
  }
  /**
   * A subscribe snapshot's overdue alerts (what is overdue now): they replace the overdue alerts
   * listed so far; surge alerts stay. Newest first, bounded.
   */
  const seedAlerts = (list: AlertFrame[]) => {
    alerts.value = [...list, ...alerts.value.filter((a) => a.kind === 'surge')]
      .sort((a, b) => Date.parse(b.at) - Date.parse(a.at))
      .slice(0, ALERTS_MAX)
  }
  /**
   * A subscribe snapshot's recent changes: merged with what the ticker holds (a change may already
   * have come live), each seq once, newest first, bounded. No pulses: they are not new arrivals.
   */
  const seedTicker = (list: ChangeFrame[]) => {
    const bySeq = new Map([...list, ...ticker.value].map((f) => [f.seq, f]))
    ticker.value = [...bySeq.values()].sort((a, b) => b.seq - a.seq).slice(0, TICKER_MAX)
  }
  const expirePulses = (now: number) => {
    const kept = pulses.value.filter((p) => now - p.at < PULSE_MS)
    if (kept.length !== pulses.value.length) pulses.value = kept
  }
  /** Another region is shown: its lists start afresh from its snapshot. */
  const reset = () => {
    ticker.value = []
    alerts.value = []
    pulses.value = []
  }
  return { ticker, alerts, pulses, applyChange, applyAlert, seedAlerts, seedTicker, expirePulses, reset }
})
