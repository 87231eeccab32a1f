/**
 * The web side of `/live`: connects, keeps `since` (the last seq applied), drops anything at or
 * below it, re-subscribes after every reconnect, and exposes the connection state the screens must
 * show: live, reconnecting, or stale since T. Framework-free: stores bind to it (see STYLE.md §7).
 */
import { io, type Socket } from 'socket.io-client'
import type {
  AlertFrame,
  ChangeFrame,
  ClientToServerEvents,
  GridsFrame,
  KpiFrame,
  PositionsFrame,
  ServerToClientEvents,
  Snapshot,
} from '../../../shared/live.ts'

export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'unauthorized'

export interface LiveConnectionState {
  status: LiveStatus
  /** When the data stopped being live (null while live). */
  staleSince: number | null
  /** The last change seq applied. */
  lastSeq: number
  /** Why the last attempt failed, if it did. */
  error: string | null
}

export interface LiveHandlers {
  snapshot?: (s: Snapshot) => void
  change?: (f: ChangeFrame) => void
  kpis?: (f: KpiFrame) => void
  grids?: (f: GridsFrame) => void
  positions?: (f: PositionsFrame) => void
  alert?: (f: AlertFrame) => void
  state?: (s: LiveConnectionState) => void
}

export interface LiveClientOptions {
  /** Server origin, e.g. http://localhost:8080 ('' for the page's own). */
  url: string
  token: string
  /** Resume after this seq (e.g. from a previous session); default: live from now. */
  since?: number
  /** Region to subscribe to on every (re)connect. */
  region?: string
  handlers: LiveHandlers
  /** For tests: the clock that stamps `staleSince`. */
  now?: () => number
  transports?: ('polling' | 'websocket')[]
}

export interface LiveClient {
  readonly state: LiveConnectionState
  subscribe(region: string): void
  close(): void
}

export function createLiveClient(o: LiveClientOptions): LiveClient {
  const now = o.now ?? (() => Date.now())
  const state: LiveConnectionState = {
    status: 'connecting',
    staleSince: now(),
    lastSeq: o.since ?? -1,
    error: null,
  }
  let region = o.region ?? null
  let closed = false
  let retry: ReturnType<typeof setTimeout> | null = null

  const setState = (patch: Partial<LiveConnectionState>): void => {
    Object.assign(state, patch)
    o.handlers.state?.({ ...state })
  }
  const goStale = (status: LiveStatus): void =>
    setState({
      status,
      staleSince: state.status === 'live' || state.staleSince === null ? now() : state.staleSince,
    })

  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(`${o.url}/live`, {
    // A function, so every reconnect sends the seq applied so far.
    auth: (cb) => cb(state.lastSeq >= 0 ? { token: o.token, since: state.lastSeq } : { token: o.token }),
    transports: o.transports ?? ['websocket', 'polling'],
    reconnectionDelayMax: 5000,
  })

  const subscribeNow = (): void => {
    if (!region) return
    socket.emit('subscribe', { region }, (res) => {
      if (res.ok) o.handlers.snapshot?.(res.data)
      else setState({ error: `${res.error.code}: ${res.error.message}` })
    })
  }

  socket.on('connect', () => {
    setState({ error: null })
    subscribeNow()
  })
  socket.on('synced', ({ seq }) => {
    // Normally seq ≥ lastSeq. A server whose log is behind what we applied (a restored store)
    // is the truth from now on: take its seq so its new changes are not dropped as duplicates.
    state.lastSeq = seq
    setState({ status: 'live', staleSince: null })
  })
  socket.on('change', (f) => {
    if (f.seq <= state.lastSeq) return
    state.lastSeq = f.seq
    o.handlers.change?.(f)
  })
  socket.on('kpis', (f) => o.handlers.kpis?.(f))
  socket.on('grids', (f) => o.handlers.grids?.(f))
  socket.on('positions', (f) => o.handlers.positions?.(f))
  socket.on('alert', (f) => o.handlers.alert?.(f))
  socket.on('disconnect', () => {
    if (!closed) goStale('reconnecting')
  })
  socket.on('connect_error', (err) => {
    const code = (err as Error & { data?: { code?: string } }).data?.code
    setState({ error: err.message })
    if (code === 'unauthorized' || code === 'forbidden') {
      goStale('unauthorized')
      return
    }
    goStale(state.status === 'connecting' ? 'connecting' : 'reconnecting')
    // A middleware refusal (e.g. not_ready) is not retried by socket.io itself.
    if (!socket.active && !closed) retry = setTimeout(() => socket.connect(), 2000)
  })

  return {
    state,
    subscribe(r) {
      region = r
      if (socket.connected) subscribeNow()
    },
    close() {
      closed = true
      if (retry) clearTimeout(retry)
      socket.removeAllListeners()
      socket.close()
    },
  }
}
