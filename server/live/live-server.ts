/**
 * Socket.IO `/live`: replay from the change log after `since`, then live frames coalesced per
 * audience. Changes go to rooms by region and audience (encoded once per room set); KPI and grid
 * frames are computed once per tick per subscribed region and broadcast to rooms split by role, so
 * a public socket never shares a frame with internal ones; positions are batched.
 *
 * Against hostile or slow clients: what is held in memory for each socket is bounded in bytes
 * (frames, acknowledgements and pings alike); a socket past the bound is cut and comes back by
 * replay. Subscribes are rate-limited per socket and answered from a shared snapshot; connections
 * are bounded per address and per token; an address that keeps failing handshakes is refused.
 */
import type { Server as HttpServer, IncomingMessage } from 'node:http'
import type { Logger } from 'pino'
import { Server, type ServerOptions, type Socket } from 'socket.io'
import type { LiveClients } from '../http/context.ts'
import { forwardedClient } from '../http/security.ts'
import { parseRegionCode, isWithin } from '../../shared/regions.ts'
import type {
  ClientToServerEvents,
  LiveErrorCode,
  Response,
  ServerToClientEvents,
  Snapshot,
  SocketData,
} from '../../shared/live.ts'
import type { Change, Clock, GridEvent, PatrolRound, Position } from '../../shared/types.ts'
import type { TokenService } from '../auth/tokens.ts'
import type { CityIndex } from '../city/city-index.ts'
import type { ChangeFeed } from '../store/change-feed.ts'
import type { Store } from '../store/store.ts'
import { emitAggregates, emitAlerts, emitPositions } from './broadcast.ts'
import { changeFrame } from './frames.ts'
import { createAdmission, fail, originAllowed } from './handshake.ts'
import { createLiveLimits, LIVE_LIMITS } from './live-limits.ts'
import { ancestors, type LiveState } from './live-state.ts'
import { meterOutput, type OutputMeter } from './output-meter.ts'
import { catchUp } from './replay.ts'
import { createSnapshots, RECENT_KEEP } from './snapshots.ts'

type LiveSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>

export interface LiveServerOptions {
  httpServer: HttpServer
  state: LiveState
  store: Store
  tokens: TokenService
  city: CityIndex
  clock: Clock
  timeZone: string
  logger: Logger
  /** Allowed browser origins; empty means same origin only. */
  allowedOrigins: string[]
  /**
   * The Socket.IO adapter for several processes (REDIS_URL: the Redis Streams adapter): what must
   * reach sockets on other processes (a revoked token's sockets, the cluster-wide client counts)
   * goes through it. Frames a process computes itself go to its own sockets only (`nsp.local`).
   */
  adapter?: ServerOptions['adapter']
  tickMs?: number
  /** Bytes held in memory for one socket (queued or being written) past which it is cut. */
  maxBufferedBytes?: number
  /** Reverse proxies in front that append to X-Forwarded-For (TRUST_PROXY): the client's address is theirs to tell. */
  trustProxy?: number
  /** Open connections from one address. */
  maxConnectionsPerIp?: number
  /** Open sockets per token. */
  maxConnectionsPerToken?: number
  /** Failed handshakes from one address in a minute before it is refused without verification. */
  maxFailedHandshakes?: number
  openEventsCap?: number
  /**
   * A background operation failed (`rebuild`, `tick`, `replay`, `subscribe`, `handshake`) and the
   * server goes on: the receiver logs and counts it. Without it the error is logged.
   */
  onError?: (op: string, err: unknown) => void
}

/** How long a client cut gracefully may take to read what was queued for it. */
const CUT_GRACE_MS = 5000
/** Back-off of the new-day rebuild retries, at most. */
const MAX_BACKOFF_MS = 60_000

export function createLiveServer(o: LiveServerOptions) {
  const tz = o.timeZone
  const tickMs = o.tickMs ?? 1000
  const maxBytes = o.maxBufferedBytes ?? LIVE_LIMITS.maxBufferedBytes
  const limits = createLiveLimits({
    maxConnectionsPerIp: o.maxConnectionsPerIp ?? LIVE_LIMITS.maxConnectionsPerIp,
    maxConnectionsPerToken: o.maxConnectionsPerToken ?? LIVE_LIMITS.maxConnectionsPerToken,
    maxFailedHandshakes: o.maxFailedHandshakes ?? LIVE_LIMITS.maxFailedHandshakes,
  })
  const snapshots = createSnapshots({ ...o, openEventsCap: o.openEventsCap ?? 200 })
  /** The client's address: the peer, or behind trusted proxies the one they name (as the HTTP API does). */
  const addressOf = (req: IncomingMessage): string =>
    forwardedClient(req.socket.remoteAddress ?? '', req.headers['x-forwarded-for'], o.trustProxy ?? 0)
  const io = new Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>(
    o.httpServer,
    {
      serveClient: false,
      ...(o.adapter ? { adapter: o.adapter } : {}),
      cors: { origin: o.allowedOrigins },
      maxHttpBufferSize: 64 * 1024,
      allowRequest: (req, cb) => {
        if (!originAllowed(req, o.allowedOrigins)) return cb('origin not allowed', false)
        if (!limits.addressAllowed(addressOf(req))) return cb('too many connections from this address', false)
        cb(null, true)
      },
    },
  )
  io.engine.on('connection', (conn: LiveSocket['conn']) =>
    limits.trackConnection(conn, addressOf(conn.request)),
  )
  const nsp = io.of('/live')
  let ready = false
  let closed = false
  const meters = new Map<string, OutputMeter>()
  const expiryTimers = new Map<string, NodeJS.Timeout>()
  const lastKpis = new Map<string, string>()
  const pendingPositions = new Map<string, Position>()

  const report = (op: string, err: unknown): void => {
    if (o.onError) o.onError(op, err)
    else o.logger.error({ err, op }, `live ${op} failed`)
  }
  /** Every background promise ends here: nothing is left to reject unhandled. */
  const run = (op: string, p: Promise<unknown>): void => void p.catch((err: unknown) => report(op, err))

  /**
   * Close the transport, with no disconnect packet: the client reconnects by itself with its
   * `since` and replays. `hard`: drop what is queued (it is past its bound); otherwise let the
   * client take what is queued first (nothing more is accepted), unless it does not within CUT_GRACE_MS.
   */
  const cutting = new WeakSet<LiveSocket>()
  function cut(socket: LiveSocket, why: string, hard: boolean): void {
    if (cutting.has(socket)) return
    cutting.add(socket)
    const pending = meters.get(socket.id)?.pending() ?? 0
    o.logger.warn({ socket: socket.id, role: socket.data.role, pending }, `live socket cut: ${why}`)
    const conn = socket.conn
    const drop = () => {
      conn.close(true)
      // A client that reads nothing never takes the WebSocket close frame: drop the TCP connection
      // at once rather than hold what is queued for it until the close handshake times out (30 s).
      if (conn.request.headers.upgrade?.toLowerCase() === 'websocket') conn.request.socket.destroy()
    }
    if (hard) return drop()
    conn.close()
    const grace = setTimeout(drop, CUT_GRACE_MS).unref()
    conn.once('close', () => clearTimeout(grace))
  }

  const admit = createAdmission({
    ...o,
    limits,
    isReady: () => ready,
    headSeq: () => headSeq(),
    addressOf: (socket) => addressOf(socket.request),
  })
  nsp.use((socket, next) => {
    const refused = admit(socket).catch((err: unknown) => {
      report('handshake', err)
      return fail('internal', 'the handshake failed')
    })
    run('handshake', refused.then(next))
  })

  /**
   * The feed's position: every change up to it has been emitted to this process's live rooms, and
   * none after it (the replay hands a socket over there: nothing twice, nothing missed).
   */
  let feed: ChangeFeed | null = null
  const headSeq = () => feed?.position ?? 0

  const changeRooms = (grid: string, audience: 'full' | 'masked') =>
    ancestors(grid).map((r) => `chg:${audience}:${r}`)

  const refuse = (code: LiveErrorCode, message: string): Response<Snapshot> => ({
    ok: false,
    error: { code, message },
  })

  async function subscribe(
    socket: LiveSocket,
    req: { region?: unknown } | undefined,
    ack: (res: Response<Snapshot>) => void,
  ): Promise<void> {
    const verdict = await limits.subscribe(socket.id)
    if (!socket.connected) return
    if (verdict === 'cut') return cut(socket, 'subscribe flood', false)
    if (verdict === 'rate_limited') return ack(refuse('rate_limited', 'too many subscribes: retry later'))
    const p = typeof req?.region === 'string' ? parseRegionCode(req.region) : null
    if (!p?.ok || !o.city.region(p.code))
      return ack(refuse('not_found', `unknown region ${String(req?.region)}`))
    if (!isWithin(p.code, socket.data.scope))
      return ack(refuse('forbidden', `the token is limited to ${socket.data.scope}`))
    // Held while the day is being built: a snapshot never shows yesterday's figures after midnight.
    await dayReady()
    if (!socket.connected) return
    const { role, scope, subscribed } = socket.data
    if (subscribed) socket.leave(`agg:${role}:${subscribed}`)
    socket.data.subscribed = p.code
    socket.join(`agg:${role}:${p.code}`)
    ack({ ok: true, data: snapshots.get(role, scope, p.code) })
  }

  nsp.on('connection', (socket: LiveSocket) => {
    if (socket.data.jti) socket.join(`jti:${socket.data.jti}`)
    const meter = meterOutput(socket.conn, maxBytes, () => cut(socket, 'output over its byte bound', true))
    meters.set(socket.id, meter)
    const { expiresAt } = socket.data
    if (expiresAt) {
      // Tokens expire on real time. Long waits are re-armed (setTimeout caps near 24.8 days).
      const arm = () => {
        const left = expiresAt - Date.now()
        if (left <= 0) return socket.disconnect(true)
        expiryTimers.set(socket.id, setTimeout(arm, Math.min(left, 2 ** 31 - 1)))
      }
      arm()
    }
    const replay = catchUp(socket, meter, {
      ...o,
      maxBytes,
      headSeq,
      caughtUp: () => feed?.caughtUp() ?? Promise.resolve(),
    }).catch((err: unknown) => {
      report('replay', err)
      cut(socket, 'replay failed', false)
    })
    run('replay', replay)
    // One at a time per socket, so answers come in the order asked and the last subscribe wins (a
    // flood's burst is answered before its cut, not dropped by it).
    let subscribing = Promise.resolve()
    socket.on('subscribe', (req, ack) => {
      if (typeof ack !== 'function') return
      subscribing = subscribing
        .then(() => subscribe(socket, req, ack))
        .catch((err: unknown) => report('subscribe', err))
    })
    socket.on('disconnect', () => {
      clearTimeout(expiryTimers.get(socket.id))
      expiryTimers.delete(socket.id)
      meters.delete(socket.id)
      run('subscribe', limits.forget(socket.id))
    })
  })

  /** Every process follows the log itself: its frames go to its own sockets only (`nsp.local`). */
  function onChange(change: Change, event: GridEvent): void {
    snapshots.remember(change, event)
    const local = nsp.local
    local.to(changeRooms(change.gridCode, 'full')).emit('change', changeFrame(change, event, 'full', tz))
    local.to(changeRooms(change.gridCode, 'masked')).emit('change', changeFrame(change, event, 'masked', tz))
  }

  function onIngest(positions: Position[]): void {
    for (const p of positions) {
      const seen = pendingPositions.get(p.workerId)
      if (!seen || p.at >= seen.at) pendingPositions.set(p.workerId, p)
    }
  }

  /** The new day's rebuild in progress: no frame and no snapshot goes out until it is done. */
  let rebuilding: Promise<void> | null = null
  let wake: (() => void) | null = null
  /** The rebuild in progress, or one started now. */
  function startRebuild(): Promise<void> {
    if (!rebuilding) {
      rebuilding = rebuildDay().finally(() => (rebuilding = null))
      run('rebuild', rebuilding)
    }
    return rebuilding
  }
  /** Resolves once the live state holds the current day (a rebuild in progress, or due, done). */
  function dayReady(): Promise<void> {
    if (rebuilding || o.clock.now() >= o.state.day.end) return startRebuild()
    return Promise.resolve()
  }
  /** The new day's state, retried with back-off until the store answers (the day holds until then). */
  async function rebuildDay(): Promise<void> {
    try {
      for (let delay = tickMs; !closed; delay = Math.min(2 * delay, MAX_BACKOFF_MS)) {
        try {
          await o.state.rebuild()
          lastKpis.clear()
          snapshots.expire()
          return
        } catch (err) {
          report('rebuild', err)
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, delay)
          wake = () => {
            clearTimeout(t)
            resolve()
          }
        })
      }
    } finally {
      wake = null
    }
  }

  function tick(): void {
    snapshots.expire()
    if (rebuilding) return
    const now = o.clock.now()
    const t = o.state.tick(now)
    if (t.newDay) return void startRebuild()
    const ctx = { nsp, state: o.state, snapshots, tz, now }
    emitAlerts(ctx, t, changeRooms)
    emitAggregates(ctx, lastKpis)
    emitPositions(ctx, pendingPositions)
  }

  let timer: NodeJS.Timeout | null = null
  const unsubscribe: (() => void)[] = []

  return {
    io,
    /**
     * Follow the change feed (started here at the log's head if it is not running), build the live
     * state from the store and start ticking.
     */
    async start(hooks: {
      feed: ChangeFeed
      onIngest: (l: (p: Position[], r: PatrolRound[]) => void) => () => void
    }): Promise<void> {
      feed = hooks.feed
      unsubscribe.push(
        hooks.feed.subscribe((items) => {
          for (const { change, event } of items) {
            o.state.applyChange(change, event)
            onChange(change, event)
          }
        }),
        hooks.onIngest((p, r) => {
          o.state.applyIngest(p, r)
          onIngest(p)
        }),
        // Every process, through the adapter: the sockets holding the token wherever they are.
        o.tokens.onRevoke((jti) => nsp.in(`jti:${jti}`).disconnectSockets(true)),
      )
      hooks.feed.start(await o.store.lastSeq())
      await o.state.rebuild()
      // The last changes before this start, from the log (those committed meanwhile are in already).
      const before = await o.store.listChanges(Math.max(0, headSeq() - RECENT_KEEP), RECENT_KEEP)
      const missing = before.filter((c) => c.seq < snapshots.firstHeard())
      const events = await o.store.eventsByIds([...new Set(missing.map((c) => c.eventId))])
      snapshots.seed(missing.map((c): [Change, GridEvent] => [c, events.get(c.eventId)!]))
      ready = true
      timer = setInterval(() => {
        try {
          tick()
        } catch (err) {
          report('tick', err)
        }
      }, tickMs)
    },
    /** Live sockets connected to this process. */
    localCount: (): number => nsp.sockets.size,
    /** The live clients of every process (fetchSockets goes through the adapter), by role. */
    async clients(): Promise<LiveClients> {
      const [sockets, processes] = await Promise.all([nsp.fetchSockets(), nsp.adapter.serverCount()])
      const byRole: Record<string, number> = {}
      for (const s of sockets) byRole[s.data.role] = (byRole[s.data.role] ?? 0) + 1
      return { total: sockets.length, byRole, processes }
    },
    async close(): Promise<void> {
      closed = true
      wake?.()
      if (timer) clearInterval(timer)
      for (const t of expiryTimers.values()) clearTimeout(t)
      for (const u of unsubscribe) u()
      // Not disconnectSockets(true): a client told "io server disconnect" never reconnects by itself.
      // io.close() closes the transports without a disconnect packet, so every client sees
      // "transport close", reconnects with its `since` to the next process and replays what it missed.
      await new Promise<void>((resolve) => io.close(() => resolve()))
    },
  }
}

export type LiveServer = ReturnType<typeof createLiveServer>
