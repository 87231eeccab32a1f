/**
 * What a tick broadcasts: alerts to the change rooms, KPI and grid frames to the aggregate rooms
 * (`agg:<role>:<region>`, each role's frame filtered for it), and the batched positions. Every frame
 * is computed from this process's own state and goes to this process's own sockets only
 * (`nsp.local`): under the Redis adapter every process computes it for its own clients, so none
 * gets a frame twice.
 *
 * A tick's kpis, grids and positions frames are computed at once (they hold for the tick's `now`),
 * then delivered in slices of SLICE_SOCKETS sockets, one slice per turn of the event loop, so that
 * what arrives meanwhile (a commit, and the change frame it emits at once) never waits behind the
 * whole burst: to 12,000 sockets the burst is tens of thousands of socket writes, hundreds of ms on
 * one core. Within a slice each socket's frames of the tick leave in one write to the kernel (the
 * frames are queued in engine.io's buffer while its WebSocket transport is held, then flushed
 * corked): the kernel's cost per write, not the encoding (done once per room and slice), is most
 * of a broadcast's cost. One tick is delivered at a time, in order: a tick that finds the previous
 * one unfinished (an overloaded loop) delivers what is left of it first.
 */
import type { Namespace } from 'socket.io'
import type {
  ClientToServerEvents,
  GridAggregate,
  KpiFrame,
  ServerToClientEvents,
  SocketData,
} from '../../shared/live.ts'
import type { Position, Role } from '../../shared/types.ts'
import { formatIsoWithOffset } from '../../shared/working-time.ts'
import { encodePositions } from './frames.ts'
import type { LiveState, OverdueAlert, SurgeAlert } from './live-state.ts'
import { gridsForRole, kpisForRole, overdueAlert, type Snapshots } from './snapshots.ts'

type LiveNamespace = Namespace<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>

export interface TickContext {
  nsp: LiveNamespace
  state: LiveState
  snapshots: Snapshots
  tz: string
  now: number
}

/** Sockets served per turn of the event loop when a tick's frames go out. */
export const SLICE_SOCKETS = 256

/**
 * How a tick's frames leave: `sliced` as described above, or `burst`, every frame to its whole room
 * at once in the tick's own step (the design before; kept so that `npm run bench:fanout` can measure
 * both in one run).
 */
export const delivery: { mode: 'sliced' | 'burst' } = { mode: 'sliced' }

/** One frame of a tick, for the members of `room` among the given socket ids. */
interface Send {
  room: string
  deliver: (ids: string[]) => void
  /** The same frame to the whole room (burst delivery). */
  all: () => void
}

interface Delivery {
  sends: Send[]
  /** The sockets to reach, in order (the rooms' members when the delivery began). */
  ids: string[]
  next: number
}

interface Deliveries {
  /** Frames of the tick being computed (delivered once the tick's synchronous step ends). */
  open: Delivery | null
  /** The tick being delivered, slice by slice. */
  current: Delivery | null
}

const deliveries = new WeakMap<LiveNamespace, Deliveries>()

/** The part of an engine.io connection a slice holds: its transport and its write buffer's flush. */
interface Holdable {
  readyState: string
  transport: { name: string; writable: boolean }
  request: { socket: { cork(): void; uncork(): void } }
  flush?: () => void
}

/**
 * Hold the WebSocket transports of `ids` that are free to write: what is emitted to them queues in
 * engine.io's buffer (as it does while a write is in flight) until `release`. A transport that is
 * busy writing, or not a WebSocket, is left as it is.
 */
function hold(nsp: LiveNamespace, ids: string[]): Holdable[] {
  const held: Holdable[] = []
  for (const id of ids) {
    const conn = nsp.sockets.get(id)?.conn as unknown as Holdable | undefined
    if (!conn || conn.readyState !== 'open' || typeof conn.flush !== 'function') continue
    const t = conn.transport
    if (t.name !== 'websocket' || !t.writable) continue
    t.writable = false
    held.push(conn)
  }
  return held
}

/** Each held transport writes what queued for it, in one write to the kernel (corked). */
function release(held: Holdable[]): void {
  for (const conn of held) {
    const raw = conn.request.socket
    raw.cork()
    conn.transport.writable = true
    conn.flush!()
    raw.uncork()
  }
}

function sendSlice(nsp: LiveNamespace, d: Delivery): void {
  const slice = d.ids.slice(d.next, d.next + SLICE_SOCKETS)
  d.next += SLICE_SOCKETS
  const rooms = nsp.adapter.rooms
  const held = hold(nsp, slice)
  try {
    for (const s of d.sends) {
      // The room as it is now: a socket that left it (another region subscribed) gets nothing more.
      const members = rooms.get(s.room)
      if (!members) continue
      const ids = slice.filter((id) => members.has(id))
      if (ids.length) s.deliver(ids)
    }
  } finally {
    release(held)
  }
}

function begin(nsp: LiveNamespace, ds: Deliveries): void {
  const d = ds.open
  ds.open = null
  if (!d) return
  // One tick at a time, in order: what is left of the previous one goes first.
  const previous = ds.current
  if (previous) while (previous.next < previous.ids.length) sendSlice(nsp, previous)
  const ids = new Set<string>()
  for (const s of d.sends) for (const id of nsp.adapter.rooms.get(s.room) ?? []) ids.add(id)
  d.ids = [...ids]
  ds.current = d
  const step = (): void => {
    if (ds.current !== d) return
    sendSlice(nsp, d)
    if (d.next < d.ids.length) setImmediate(step)
    else ds.current = null
  }
  step()
}

/** Add a frame to the tick's delivery (which starts as soon as the tick's synchronous step ends). */
function enqueue(nsp: LiveNamespace, send: Send): void {
  if (delivery.mode === 'burst') return send.all()
  let ds = deliveries.get(nsp)
  if (!ds) deliveries.set(nsp, (ds = { open: null, current: null }))
  if (!ds.open) {
    ds.open = { sends: [], ids: [], next: 0 }
    const mine = ds
    queueMicrotask(() => begin(nsp, mine))
  }
  ds.open.sends.push(send)
}

/** Overdue and surge alerts, to the internal audiences of the grid's regions. */
export function emitAlerts(
  ctx: TickContext,
  t: { overdue: OverdueAlert[]; surges: SurgeAlert[] },
  changeRooms: (grid: string, audience: 'full' | 'masked') => string[],
): void {
  const roomsOf = (grid: string) => [...changeRooms(grid, 'full'), ...changeRooms(grid, 'masked')]
  for (const a of t.overdue)
    ctx.nsp.local.to(roomsOf(a.event.gridCode)).emit('alert', overdueAlert(a.event, a.at, ctx.tz))
  for (const s of t.surges)
    ctx.nsp.local.to(roomsOf(s.gridCode)).emit('alert', {
      kind: 'surge',
      at: formatIsoWithOffset(s.at, ctx.tz),
      gridCode: s.gridCode,
      lastHour: s.lastHour,
      baseline: s.baseline,
    })
}

/**
 * A kpis frame to each aggregate room whose values changed since its last one, and the grids that
 * changed. Each region is computed once; each role's room gets the region's figures as that role
 * may see them (`shared/privacy.ts`), so rooms of different roles never share a frame.
 */
export function emitAggregates(ctx: TickContext, lastKpis: Map<string, string>): void {
  const dirty = ctx.state.takeDirty()
  const rooms = ctx.nsp.adapter.rooms
  const local = ctx.nsp.local
  for (const room of lastKpis.keys()) if (!rooms.has(room)) lastKpis.delete(room)
  const frames = new Map<string, KpiFrame>()
  const grids = new Map<string, GridAggregate[]>()
  for (const room of rooms.keys()) {
    if (!room.startsWith('agg:')) continue
    const [, role, region] = room.split(':') as [string, Role, string]
    let frame = frames.get(region)
    if (!frame) frames.set(region, (frame = ctx.snapshots.kpiFrame(region, ctx.now)))
    const mine = kpisForRole(frame, role)
    const key = JSON.stringify(mine.values)
    if (lastKpis.get(room) !== key) {
      lastKpis.set(room, key)
      enqueue(ctx.nsp, {
        room,
        deliver: (ids) => local.to(ids).emit('kpis', mine),
        all: () => local.to(room).emit('kpis', mine),
      })
    }
    let changed = grids.get(region)
    if (!changed) {
      changed = [...dirty.grids].filter((g) => g.startsWith(region)).map((g) => ctx.state.grid(g))
      grids.set(region, changed)
    }
    if (changed.length) {
      const frame = {
        seq: ctx.state.seq,
        region,
        at: formatIsoWithOffset(ctx.now, ctx.tz),
        grids: gridsForRole(changed, role),
      }
      enqueue(ctx.nsp, {
        room,
        deliver: (ids) => local.to(ids).emit('grids', frame),
        all: () => local.to(room).emit('grids', frame),
      })
    }
  }
}

/** The positions batched since the last tick, to each positions room (by scope). */
export function emitPositions(ctx: TickContext, pending: Map<string, Position>): void {
  if (!pending.size) return
  const { gridOfWorker, workerIndex } = ctx.snapshots
  const local = ctx.nsp.local
  for (const room of ctx.nsp.adapter.rooms.keys()) {
    if (!room.startsWith('pos:')) continue
    const scope = room.slice(4)
    const mine = [...pending.values()].filter((p) => (gridOfWorker.get(p.workerId) ?? '').startsWith(scope))
    if (!mine.length) continue
    const frame = encodePositions(mine, workerIndex, ctx.now, ctx.tz)
    enqueue(ctx.nsp, {
      room,
      deliver: (ids) => local.to(ids).emit('positions', frame),
      all: () => local.to(room).emit('positions', frame),
    })
  }
  pending.clear()
}
