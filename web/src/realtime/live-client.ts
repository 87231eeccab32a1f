/**
 * The web side of `/live`: connects, keeps `since` (the last seq applied), drops anything at or
 * below it, re-subscribes after every reconnect, and exposes the connection state the screens must
 * show: starting (with the server's progress), live, reconnecting, or stale since T.
 * Framework-free: stores bind to it (see STYLE.md §7).
 *
 * socket.io-client comes back by itself after a lost transport (a network cut, a server restart:
 * "transport close"), with its own randomised back-off. It does not after a refusal by the server's
 * middleware (`not_ready` while the server starts) or a disconnect by the server ("io server
 * disconnect"): those are retried here, with full-jitter exponential back-off, and while the server
 * says it is starting, `/readyz` is polled for its progress and the socket connects as soon as it is
 * ready. A token refused (unauthorized, forbidden) is never retried.
 */
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client'
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
import { DEFAULT_BACKOFF, fullJitter, spread, type Backoff } from './backoff.ts'

/** `starting`: never live yet, and the server says it is starting (its first backfill, a catch-up). */
export type LiveStatus = 'connecting' | 'starting' | 'live' | 'reconnecting' | 'unauthorized'

/** How far the server's start has got, from `/readyz`. */
export interface StartupInfo {
  phase: 'backfill' | 'catch-up'
  percent: number
}

export interface LiveConnectionState {
  status: LiveStatus
  /** When the data stopped being live (null while live). */
  staleSince: number | null
  /** The last change seq applied. */
  lastSeq: number
  /** Why the last attempt failed, if it did. */
  error: string | null
  /** While the server starts: its progress (also while reconnecting to a server catching up). */
  starting: StartupInfo | null
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
  /** Back-off of the retries socket.io-client does not make itself (default 1 s up to 30 s). */
  backoff?: Backoff
  /** How often `/readyz` is polled while the server starts, ± 50 % (default 2 s). */
  startingPollMs?: number
  /** For tests: the random source of the jitter, the socket factory, the HTTP client. */
  random?: () => number
  createSocket?: (url: string, opts: Partial<ManagerOptions & SocketOptions>) => LiveSocket
  fetch?: (url: string) => Promise<Response>
}

export type LiveSocket = Socket<ServerToClientEvents, ClientToServerEvents>

/** What `/readyz` answers while the server starts (503). */
interface ReadyzStarting {
  status?: string
  progress?: { phase: StartupInfo['phase']; percent: number } | null
}

export interface LiveClient {
  readonly state: LiveConnectionState
  subscribe(region: string): void
  close(): void
}

export function createLiveClient(o: LiveClientOptions): LiveClient {
  const now = o.now ?? (() => Date.now())
  const random = o.random ?? Math.random
  const backoff = o.backoff ?? DEFAULT_BACKOFF
  const pollMs = o.startingPollMs ?? 2000
  const get = o.fetch ?? ((url: string) => fetch(url))
  const state: LiveConnectionState = {
    status: 'connecting',
    staleSince: now(),
    lastSeq: o.since ?? -1,
    error: null,
    starting: null,
  }
  let region = o.region ?? null
  let closed = false
  let everLive = false
  /** Retries since the stream was last live (the back-off's exponent). */
  let attempt = 0
  let retry: ReturnType<typeof setTimeout> | null = null
  let resubscribe: ReturnType<typeof setTimeout> | null = null

  const setState = (patch: Partial<LiveConnectionState>): void => {
    Object.assign(state, patch)
    o.handlers.state?.({ ...state })
  }
  const goStale = (status: LiveStatus, patch: Partial<LiveConnectionState> = {}): void =>
    setState({
      ...patch,
      status,
      staleSince: state.status === 'live' || state.staleSince === null ? now() : state.staleSince,
    })
  /** Not live, for a reason other than the token: what the screen says meanwhile. */
  const waiting = (): LiveStatus => (everLive ? 'reconnecting' : 'connecting')

  const socket: LiveSocket = (o.createSocket ?? io)(`${o.url}/live`, {
    // A function, so every reconnect sends the seq applied so far.
    auth: (cb) => cb(state.lastSeq >= 0 ? { token: o.token, since: state.lastSeq } : { token: o.token }),
    transports: o.transports ?? ['websocket', 'polling'],
    // socket.io-client's own retries (after a lost transport): 1 s doubling up to 5 s, each ± 50 %.
    reconnectionDelay: 1000,
    reconnectionDelayMax: 5000,
    randomizationFactor: 0.5,
  })

  const later = (ms: number, fn: () => void): void => {
    if (closed) return
    if (retry) clearTimeout(retry)
    retry = setTimeout(() => {
      retry = null
      fn()
    }, ms)
  }
  const reconnectLater = (): void => later(fullJitter(attempt++, backoff, random), () => socket.connect())

  /** While the server starts: show its progress, connect once it is ready. */
  const pollReady = (ms: number): void =>
    later(ms, () => {
      void get(`${o.url}/readyz`).then(
        async (r) => {
          if (closed) return
          if (r.ok) return void socket.connect()
          const body = (await r.json().catch(() => null)) as ReadyzStarting | null
          const p = body?.progress
          if (p) setState({ starting: { phase: p.phase, percent: p.percent } })
          if (r.status === 503 && body?.status === 'starting') pollReady(spread(pollMs, random))
          else reconnectLater()
        },
        () => reconnectLater(),
      )
    })

  const subscribeNow = (): void => {
    if (!region) return
    socket.emit('subscribe', { region }, (res) => {
      if (res.ok) return o.handlers.snapshot?.(res.data)
      setState({ error: `${res.error.code}: ${res.error.message}` })
      // Too many subscribes from this socket in a short time: ask again once the window has passed
      // (1–3 s, jittered); any other refusal (unknown region, outside the scope) is final.
      if (res.error.code === 'rate_limited') {
        if (resubscribe) clearTimeout(resubscribe)
        resubscribe = setTimeout(subscribeNow, 1000 + fullJitter(1, backoff, random))
      }
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
    everLive = true
    attempt = 0
    setState({ status: 'live', staleSince: null, starting: null })
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
  socket.on('disconnect', (reason) => {
    if (closed) return
    goStale(waiting())
    // Closed by the server on purpose (a token expired or revoked, a failed replay): socket.io-client
    // stays away. Try again; a token refused then ends as unauthorized.
    if (reason === 'io server disconnect') reconnectLater()
  })
  socket.on('connect_error', (err) => {
    const code = (err as Error & { data?: { code?: string } }).data?.code
    if (code === 'unauthorized' || code === 'forbidden') {
      if (retry) clearTimeout(retry)
      return goStale('unauthorized', { error: err.message })
    }
    if (code === 'not_ready') {
      // A wall that has been live stays "stale since T" while the server catches up.
      goStale(everLive ? 'reconnecting' : 'starting', { error: err.message })
      return pollReady(state.starting ? spread(pollMs, random) : 0)
    }
    goStale(state.status === 'starting' ? 'starting' : waiting(), { error: err.message })
    // Any other refusal by the middleware is final for socket.io-client; a lost transport is not.
    if (!socket.active) reconnectLater()
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
      if (resubscribe) clearTimeout(resubscribe)
      socket.removeAllListeners()
      socket.close()
    },
  }
}
