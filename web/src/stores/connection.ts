import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { LiveConnectionState } from '../realtime/live-client.ts'

/** The live connection's state, as the header shows it. */
export const useConnectionStore = defineStore('connection', () => {
  const state = ref<LiveConnectionState>({
    status: 'connecting',
    staleSince: null,
    lastSeq: -1,
    error: null,
    starting: null,
  })
  const set = (s: LiveConnectionState) => {
    state.value = s
  }
  return { state, set }
})
