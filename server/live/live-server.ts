/**
 * Socket.IO `/live`: replay from the change log after `since`, then live frames coalesced per
 * audience. Changes go to rooms by region and audience (encoded once per room set); KPI and grid
 * frames are computed once per tick per subscribed region and broadcast; positions are batched.
 * A socket whose buffer grows past a limit leaves the rooms and later catches up by replay, so a
 * slow client can never grow the server's memory without bound.
 */
import type { Server as HttpServer, IncomingMessage } from 'node:http'
import type { Logger } from 'pino'
import { Server, type Socket } from 'socket.io'
import { parseRegionCode, isWithin } from '../../shared/regions.ts'
import {
  type AlertFrame,
  type ChangeFrame,
  type ClientToServerEvents,
  type KpiFrame,
  type ServerToClientEvents,
  type Snapshot,
  type SocketData,
} from '../../shared/live.ts'
import type { Change, Clock, GridEvent, PatrolRound, Position } from '../../shared/types.ts'
import { formatIsoWithOffset } from '../../shared/working-time.ts'
import type { TokenService } from '../auth/tokens.ts'
import type { CityIndex } from '../city/city-index.ts'
import type { Store } from '../store/store.ts'
import { changeFrame, encodePositions, liveEvent, type Audience } from './frames.ts'
import { ancestors, type LiveState } from './live-state.ts'

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
  tickMs?: number
  /** Buffered packets above which a socket is taken out of the live rooms. */
  maxBufferedPackets?: number
  openEventsCap?: number
}

const REPLAY_PAGE = 500
/** Overdue alerts in a subscribe snapshot, at most (the wall lists 30). */
const ALERTS_CAP = 30
/** Recent changes in a subscribe snapshot, at most (the wall's ticker holds 40). */
const RECENT_CAP = 40
/** District-wide changes kept for those lists (a region's last 40 are usually among them). */
const RECENT_KEEP = 500
const audienceOf = (role: SocketData['role']): Audience | null =>
  role === 'admin' || role === 'officer' ? 'full' : role === 'leader' ? 'masked' : null

/** Same origin (Origin host = Host header), or one of the allowed origins. No Origin: not a browser. */
export function originAllowed(req: IncomingMessage, allowed: string[]): boolean {
  const origin = req.headers.origin
  if (!origin) return true
  if (allowed.includes(origin)) return true
  try {
    return new URL(origin).host === req.headers.host
  } catch {
    return false
  }
}

export function createLiveServer(o: LiveServerOptions) {
  const tz = o.timeZone
  const maxBuffered = o.maxBufferedPackets ?? 2000
  const io = new Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>(
    o.httpServer,
    {
      serveClient: false,
      cors: { origin: o.allowedOrigins },
      maxHttpBufferSize: 64 * 1024,
      allowRequest: (req, cb) =>
        cb(
          originAllowed(req, o.allowedOrigins) ? null : 'origin not allowed',
          originAllowed(req, o.allowedOrigins),
        ),
    },
  )
  const nsp = io.of('/live')
  const workerIds = o.city
    .workers()
    .map((w) => w.id)
    .sort()
  const workerIndex = new Map(workerIds.map((id, i) => [id, i]))
  const gridOfWorker = new Map(o.city.workers().map((w) => [w.id, w.gridCode]))
  let ready = false
  const subscribers = new Map<string, number>()
  const lastKpis = new Map<string, string>()
  const pendingPositions = new Map<string, Position>()
  const expiryTimers = new Map<string, NodeJS.Timeout>()
  /** The last changes with their events, oldest first; bounded (trimmed to RECENT_KEEP). */
  let recent: Array<[Change, GridEvent]> = []

  const fail = (code: string, message: string) => Object.assign(new Error(message), { data: { code } })

  nsp.use(async (socket, next) => {
    const auth = socket.handshake.auth as { token?: unknown; since?: unknown }
    if (!ready) return next(fail('not_ready', 'the server is starting'))
    if (typeof auth.token !== 'string') return next(fail('unauthorized', 'auth.token is required'))
    const v = await o.tokens.verify(auth.token)
    if (!v.ok) return next(fail('unauthorized', `token ${v.reason}`))
    const { role, region, expiresAt, jti } = v.principal
    if (role === 'ingest') return next(fail('forbidden', 'ingest tokens cannot use the live stream'))
    const since = auth.since === undefined || auth.since === null ? null : Number(auth.since)
    if (since !== null && !(Number.isInteger(since) && since >= 0))
      return next(fail('invalid_query', 'since must be a non-negative integer'))
    socket.data = {
      role,
      scope: region ?? o.city.district.code,
      ...(expiresAt ? { expiresAt } : {}),
      ...(jti ? { jti } : {}),
      sent: since ?? headSeq(),
      subscribed: null,
      replaying: false,
      lagging: false,
    }
    next()
  })

  /**
   * The last committed seq: every change up to it has been emitted to the live rooms (changes are
   * announced synchronously at COMMIT). A restored store may be behind a client's `since`: then the
   * head, not the client, is the truth.
   */
  let committed = 0
  const headSeq = () => Math.max(committed, o.state.seq)

  const changeRooms = (grid: string, audience: Audience) => ancestors(grid).map((r) => `chg:${audience}:${r}`)

  const buffered = (socket: LiveSocket): number =>
    (socket.conn as unknown as { writeBuffer: unknown[] }).writeBuffer.length
  /** Resolves when engine.io hands the write buffer to the transport, or the connection closes. */
  const drained = (socket: LiveSocket): Promise<void> =>
    new Promise((resolve) => {
      const done = () => {
        socket.conn.off('drain', done)
        socket.conn.off('close', done)
        resolve()
      }
      socket.conn.on('drain', done)
      socket.conn.on('close', done)
    })

  /** Send every change after `sent` in the socket's scope, then join the live rooms. */
  async function catchUp(socket: LiveSocket): Promise<void> {
    const audience = audienceOf(socket.data.role)
    if (!audience) {
      // Nothing to replay for aggregates-only sockets: live at once.
      socket.emit('synced', { seq: headSeq() })
      return
    }
    socket.data.replaying = true
    try {
      for (;;) {
        const page = await o.store.listChanges(socket.data.sent, REPLAY_PAGE)
        if (!socket.connected) return
        const inScope = page.filter((c) => c.gridCode.startsWith(socket.data.scope))
        const events = await o.store.eventsByIds(inScope.map((c) => c.eventId))
        if (!socket.connected) return
        for (const c of inScope) socket.emit('change', changeFrame(c, events.get(c.eventId)!, audience, tz))
        if (page.length > 0) socket.data.sent = page.at(-1)!.seq
        // Backpressure: read the next page only once the client has taken most of this one.
        if (buffered(socket) > maxBuffered / 4) await drained(socket)
        if (!socket.connected) return
        // No await between this check and the join: nothing can commit in between.
        // The head, not the live state's seq: while the state rebuilds (start, a new day) it lags
        // behind changes already committed, sent by replay and emitted to the rooms.
        if (page.length < REPLAY_PAGE && socket.data.sent >= headSeq()) {
          socket.data.sent = headSeq()
          socket.join([`chg:${audience}:${socket.data.scope}`, `pos:${socket.data.scope}`])
          socket.data.replaying = false
          socket.emit('synced', { seq: socket.data.sent })
          return
        }
      }
    } catch (err) {
      o.logger.error({ err }, 'live replay failed')
      socket.disconnect(true)
    }
  }

  const kpiFrame = (region: string, now: number): KpiFrame => ({
    seq: o.state.seq,
    region,
    from: formatIsoWithOffset(o.state.day.start, tz),
    to: formatIsoWithOffset(o.state.day.end, tz),
    values: o.state.kpis(region, now),
  })

  /** The alert an event raised when it fell overdue at `at`. */
  const overdueAlert = (e: GridEvent, at: number): AlertFrame => ({
    kind: 'overdue',
    at: formatIsoWithOffset(at, tz),
    seq: e.seq,
    eventId: e.id,
    gridCode: e.gridCode,
    category: e.category,
    deadline: formatIsoWithOffset(e.deadline!, tz),
  })

  function snapshot(socket: LiveSocket, region: string): Snapshot {
    const now = o.clock.now()
    const audience = audienceOf(socket.data.role)
    const grids = o.city.gridsOf(region).map((g) => o.state.grid(g.code))
    const base: Snapshot = { seq: o.state.seq, region, kpis: kpiFrame(region, now), grids }
    if (!audience) return base
    const lastPings = [...o.state.lastPings().values()].filter(
      (p) => p.at >= now - 5 * 60_000 && (gridOfWorker.get(p.workerId) ?? '').startsWith(socket.data.scope),
    )
    return {
      ...base,
      openEvents: o.state.openEvents(region, o.openEventsCap ?? 200).map((e) => liveEvent(e, audience, tz)),
      workerIds,
      positions: encodePositions(lastPings, workerIndex, now, tz),
      alerts: o.state.overdueEvents(region, now, ALERTS_CAP).map((e) => overdueAlert(e, e.deadline!)),
      recent: recentFrames(region, base.seq, audience),
    }
  }

  /** The region's last changes up to `seq`, newest first, at most RECENT_CAP. */
  function recentFrames(region: string, seq: number, audience: Audience): ChangeFrame[] {
    const out: ChangeFrame[] = []
    for (let i = recent.length - 1; i >= 0 && out.length < RECENT_CAP; i--) {
      const [c, e] = recent[i]!
      if (c.seq <= seq && c.gridCode.startsWith(region)) out.push(changeFrame(c, e, audience, tz))
    }
    return out
  }

  nsp.on('connection', (socket: LiveSocket) => {
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
    void catchUp(socket)
    socket.on('subscribe', (req, ack) => {
      if (typeof ack !== 'function') return
      const p = typeof req?.region === 'string' ? parseRegionCode(req.region) : null
      if (!p?.ok || !o.city.region(p.code))
        return ack({
          ok: false,
          error: { code: 'not_found', message: `unknown region ${String(req?.region)}` },
        })
      if (!isWithin(p.code, socket.data.scope))
        return ack({
          ok: false,
          error: { code: 'forbidden', message: `the token is limited to ${socket.data.scope}` },
        })
      const prev = socket.data.subscribed
      if (prev) {
        socket.leave(`agg:${prev}`)
        subscribers.set(prev, (subscribers.get(prev) ?? 1) - 1)
      }
      socket.data.subscribed = p.code
      socket.join(`agg:${p.code}`)
      subscribers.set(p.code, (subscribers.get(p.code) ?? 0) + 1)
      ack({ ok: true, data: snapshot(socket, p.code) })
    })
    socket.on('disconnect', () => {
      clearTimeout(expiryTimers.get(socket.id))
      expiryTimers.delete(socket.id)
      const s = socket.data.subscribed
      if (s) subscribers.set(s, (subscribers.get(s) ?? 1) - 1)
    })
  })

  function onChange(change: Change, event: GridEvent): void {
    if (change.seq > committed) committed = change.seq
    recent.push([change, event])
    if (recent.length >= 2 * RECENT_KEEP) recent = recent.slice(-RECENT_KEEP)
    nsp.to(changeRooms(change.gridCode, 'full')).emit('change', changeFrame(change, event, 'full', tz))
    nsp.to(changeRooms(change.gridCode, 'masked')).emit('change', changeFrame(change, event, 'masked', tz))
  }

  function onIngest(positions: Position[]): void {
    for (const p of positions) {
      const seen = pendingPositions.get(p.workerId)
      if (!seen || p.at >= seen.at) pendingPositions.set(p.workerId, p)
    }
  }

  /** Take sockets that cannot keep up out of the rooms; bring drained ones back through replay. */
  function pace(): void {
    for (const socket of nsp.sockets.values()) {
      const buffered = (socket.conn as unknown as { writeBuffer: unknown[] }).writeBuffer.length
      if (!socket.data.lagging && !socket.data.replaying && buffered > maxBuffered) {
        // Everything up to the head is already queued for it; it resumes from there by replay.
        for (const room of socket.rooms) if (room !== socket.id) socket.leave(room)
        socket.data.sent = headSeq()
        socket.data.lagging = true
      } else if (socket.data.lagging && buffered < maxBuffered / 4) {
        socket.data.lagging = false
        if (socket.data.subscribed) socket.join(`agg:${socket.data.subscribed}`)
        void catchUp(socket)
      }
    }
  }

  function tick(): void {
    const now = o.clock.now()
    const t = o.state.tick(now)
    if (t.newDay) {
      void o.state.rebuild().then(() => lastKpis.clear())
      return
    }
    for (const a of t.overdue) {
      const e = a.event
      const frame = overdueAlert(e, a.at)
      nsp.to([...changeRooms(e.gridCode, 'full'), ...changeRooms(e.gridCode, 'masked')]).emit('alert', frame)
    }
    for (const s of t.surges) {
      nsp.to([...changeRooms(s.gridCode, 'full'), ...changeRooms(s.gridCode, 'masked')]).emit('alert', {
        kind: 'surge',
        at: formatIsoWithOffset(s.at, tz),
        gridCode: s.gridCode,
        lastHour: s.lastHour,
        baseline: s.baseline,
      })
    }
    const dirty = o.state.takeDirty()
    for (const [region, n] of subscribers) {
      if (n <= 0) {
        subscribers.delete(region)
        lastKpis.delete(region)
        continue
      }
      const frame = kpiFrame(region, now)
      const key = JSON.stringify(frame.values)
      if (lastKpis.get(region) !== key) {
        lastKpis.set(region, key)
        nsp.to(`agg:${region}`).emit('kpis', frame)
      }
      const grids = [...dirty.grids].filter((g) => g.startsWith(region)).map((g) => o.state.grid(g))
      if (grids.length) nsp.to(`agg:${region}`).emit('grids', { seq: o.state.seq, region, grids })
    }
    if (pendingPositions.size) {
      for (const room of nsp.adapter.rooms.keys()) {
        if (!room.startsWith('pos:')) continue
        const scope = room.slice(4)
        const mine = [...pendingPositions.values()].filter((p) =>
          (gridOfWorker.get(p.workerId) ?? '').startsWith(scope),
        )
        if (mine.length) nsp.to(room).emit('positions', encodePositions(mine, workerIndex, now, tz))
      }
      pendingPositions.clear()
    }
    pace()
  }

  let timer: NodeJS.Timeout | null = null
  const unsubscribe: (() => void)[] = []

  return {
    io,
    /** Build the live state from the store, hook into commits and start ticking. */
    async start(hooks: {
      onChange: (l: (c: Change, e: GridEvent, p: GridEvent | null) => void) => () => void
      onIngest: (l: (p: Position[], r: PatrolRound[]) => void) => () => void
    }): Promise<void> {
      unsubscribe.push(
        hooks.onChange((c, e, p) => {
          o.state.applyChange(c, e, p)
          onChange(c, e)
        }),
        hooks.onIngest((p, r) => {
          o.state.applyIngest(p, r)
          onIngest(p)
        }),
        o.tokens.onRevoke((jti) => {
          for (const s of nsp.sockets.values()) if (s.data.jti === jti) s.disconnect(true)
        }),
      )
      await o.state.rebuild()
      // The last changes before this start, from the log (those committed meanwhile are in already).
      const before = await o.store.listChanges(Math.max(0, headSeq() - RECENT_KEEP), RECENT_KEEP)
      const firstHeard = recent[0]?.[0].seq ?? Infinity
      const missing = before.filter((c) => c.seq < firstHeard)
      const events = await o.store.eventsByIds([...new Set(missing.map((c) => c.eventId))])
      recent = [...missing.map((c): [Change, GridEvent] => [c, events.get(c.eventId)!]), ...recent]
      ready = true
      timer = setInterval(tick, o.tickMs ?? 1000)
    },
    async close(): Promise<void> {
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
