/**
 * The baseline of `npm run bench:fanout`, and only of it: the live stream a competent developer
 * writes without coalescing. Rooms per region and audience as the product has them (change frames
 * to `chg:<full|masked>:<region>`, aggregates to `agg:<role>:<region>` filtered for the role, so a
 * public socket gets aggregates only; positions to `pos:<scope>`), the same subscribe snapshot, the
 * same privacy filters; but every frame is sent when its cause happens: one `change` per change, one
 * `kpis` and one `grids` frame per change batch of the feed and per ingest batch that moved a figure,
 * one `positions` frame per ingest batch (one HTTP POST of pings). A one-second clock sends only
 * what moves with time alone (overdue alerts, a KPI that changed without any event). No byte bound
 * per socket, no connection limits. Run as a script, it is `server/main.ts` with this live stream.
 */
import { pathToFileURL } from 'node:url'
import { Server } from 'socket.io'
import type {
  ClientToServerEvents,
  KpiFrame,
  Response,
  ServerToClientEvents,
  Snapshot,
  SocketData,
} from '../../shared/live.ts'
import { parseRegionCode, isWithin } from '../../shared/regions.ts'
import type { PatrolRound, Position, Role } from '../../shared/types.ts'
import { formatIsoWithOffset } from '../../shared/working-time.ts'
import { parseConfig } from '../../server/config.ts'
import { changeFrame, encodePositions } from '../../server/live/frames.ts'
import type { LiveServerOptions } from '../../server/live/live-server.ts'
import { ancestors } from '../../server/live/live-state.ts'
import {
  audienceOf,
  createSnapshots,
  gridsForRole,
  kpisForRole,
  overdueAlert,
} from '../../server/live/snapshots.ts'
import { createSystem } from '../../server/system.ts'
import type { ChangeFeed } from '../../server/store/change-feed.ts'

export function createNaiveLiveServer(o: LiveServerOptions) {
  const tz = o.timeZone
  const io = new Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>(
    o.httpServer,
    { serveClient: false, ...(o.adapter ? { adapter: o.adapter } : {}) },
  )
  const nsp = io.of('/live')
  const snapshots = createSnapshots({ ...o, openEventsCap: o.openEventsCap ?? 200 })
  let feed: ChangeFeed | null = null
  let timer: NodeJS.Timeout | null = null
  const lastKpis = new Map<string, string>()

  nsp.use((socket, next) => {
    const token = (socket.handshake.auth as { token?: unknown }).token
    void (typeof token === 'string' ? o.tokens.verify(token) : Promise.resolve(null)).then(
      (v) => {
        if (!v?.ok || v.principal.role === 'ingest') return next(new Error('unauthorized'))
        const { role, region } = v.principal
        socket.data = {
          role,
          scope: region ?? o.city.district.code,
          sent: feed?.position ?? 0,
          subscribed: null,
          replaying: false,
        }
        next()
      },
      () => next(new Error('unauthorized')),
    )
  })

  nsp.on('connection', (socket) => {
    const audience = audienceOf(socket.data.role)
    if (audience) socket.join([`chg:${audience}:${socket.data.scope}`, `pos:${socket.data.scope}`])
    socket.emit('synced', { seq: feed?.position ?? 0 })
    socket.on('subscribe', (req, ack) => {
      if (typeof ack !== 'function') return
      const p = typeof req?.region === 'string' ? parseRegionCode(req.region) : null
      const refuse = (code: string, message: string): Response<Snapshot> => ({
        ok: false,
        error: { code, message },
      })
      if (!p?.ok || !o.city.region(p.code)) return ack(refuse('not_found', 'unknown region'))
      if (!isWithin(p.code, socket.data.scope)) return ack(refuse('forbidden', 'outside the scope'))
      const { role, scope, subscribed } = socket.data
      if (subscribed) void socket.leave(`agg:${role}:${subscribed}`)
      socket.data.subscribed = p.code
      void socket.join(`agg:${role}:${p.code}`)
      ack({ ok: true, data: snapshots.get(role, scope, p.code) })
    })
  })

  const changeRooms = (grid: string): string[] =>
    ancestors(grid).flatMap((r) => [`chg:full:${r}`, `chg:masked:${r}`])

  /**
   * The aggregate frames of what moved since the last call, to their rooms, now: a room's kpis when
   * its values differ from the last it was sent (so only the regions a change touched, or that time
   * moved), its grids frame when grids of its region changed.
   */
  function emitAggregates(now: number, dirty = o.state.takeDirty()): void {
    const frames = new Map<string, KpiFrame>()
    for (const room of nsp.adapter.rooms.keys()) {
      if (!room.startsWith('agg:')) continue
      const [, role, region] = room.split(':') as [string, Role, string]
      let f = frames.get(region)
      if (!f) frames.set(region, (f = snapshots.kpiFrame(region, now)))
      const mine = kpisForRole(f, role)
      const key = JSON.stringify(mine.values)
      if (lastKpis.get(room) !== key) {
        lastKpis.set(room, key)
        nsp.local.to(room).emit('kpis', mine)
      }
      const grids = [...dirty.grids].filter((g) => g.startsWith(region)).map((g) => o.state.grid(g))
      if (grids.length)
        nsp.local.to(room).emit('grids', {
          seq: o.state.seq,
          region,
          at: formatIsoWithOffset(now, tz),
          grids: gridsForRole(grids, role),
        })
    }
  }

  function onIngest(positions: Position[], rounds: PatrolRound[]): void {
    o.state.applyIngest(positions, rounds)
    const now = o.clock.now()
    const { gridOfWorker, workerIndex } = snapshots
    for (const room of nsp.adapter.rooms.keys()) {
      if (!room.startsWith('pos:')) continue
      const scope = room.slice(4)
      const mine = positions.filter((p) => (gridOfWorker.get(p.workerId) ?? '').startsWith(scope))
      if (mine.length) nsp.local.to(room).emit('positions', encodePositions(mine, workerIndex, now, tz))
    }
    // A round that moved a figure: the aggregates, now (nothing waits for a tick).
    if (rounds.length) {
      const dirty = o.state.takeDirty()
      if (dirty.grids.size || dirty.regions.size) emitAggregates(now, dirty)
    }
  }

  let rebuilding: Promise<void> | null = null
  function tick(): void {
    if (rebuilding) return
    const now = o.clock.now()
    const t = o.state.tick(now)
    if (t.newDay) {
      rebuilding = o.state
        .rebuild()
        .then(() => snapshots.expire())
        .catch((err: unknown) => o.onError?.('rebuild', err))
        .finally(() => (rebuilding = null))
      return
    }
    snapshots.expire()
    for (const a of t.overdue)
      nsp.local.to(changeRooms(a.event.gridCode)).emit('alert', overdueAlert(a.event, a.at, tz))
    emitAggregates(now)
  }

  const unsubscribe: (() => void)[] = []
  return {
    io,
    async start(hooks: {
      feed: ChangeFeed
      onIngest: (l: (p: Position[], r: PatrolRound[]) => void) => () => void
    }) {
      feed = hooks.feed
      unsubscribe.push(
        hooks.feed.subscribe((items) => {
          for (const { change, event } of items) {
            o.state.applyChange(change, event)
            snapshots.remember(change, event)
            const rooms = ancestors(change.gridCode)
            nsp.local
              .to(rooms.map((r) => `chg:full:${r}`))
              .emit('change', changeFrame(change, event, 'full', tz))
            nsp.local
              .to(rooms.map((r) => `chg:masked:${r}`))
              .emit('change', changeFrame(change, event, 'masked', tz))
          }
          emitAggregates(o.clock.now())
        }),
        hooks.onIngest(onIngest),
      )
      hooks.feed.start(await o.store.lastSeq())
      await o.state.rebuild()
      timer = setInterval(() => {
        try {
          tick()
        } catch (err) {
          o.onError?.('tick', err)
        }
      }, o.tickMs ?? 1000)
    },
    localCount: (): number => nsp.sockets.size,
    async close() {
      if (timer) clearInterval(timer)
      for (const u of unsubscribe) u()
      await new Promise<void>((resolve) => io.close(() => resolve()))
    },
  }
}

async function main(): Promise<void> {
  const parsed = parseConfig(process.env)
  if (!parsed.ok) throw new Error(parsed.errors.join('; '))
  const system = await createSystem(parsed.config, { live: createNaiveLiveServer })
  await system.start()
  await system.listen()
  process.on('SIGTERM', () => void system.stop().then(() => process.exit(0)))
  await system.startSimulation()
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  void main().catch((err: unknown) => {
    console.error(err)
    process.exit(1)
  })
