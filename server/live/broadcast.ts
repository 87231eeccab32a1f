/**
 * What a tick broadcasts: alerts to the change rooms, KPI and grid frames to the aggregate rooms
 * (`agg:<role>:<region>`, each role's frame filtered for it), and the batched positions. Every frame
 * is computed from this process's own state and goes to this process's own sockets only
 * (`nsp.local`): under the Redis adapter every process computes it for its own clients, so none
 * gets a frame twice.
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

export interface TickContext {
  nsp: Namespace<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>
  state: LiveState
  snapshots: Snapshots
  tz: string
  now: number
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
      ctx.nsp.local.to(room).emit('kpis', mine)
    }
    let changed = grids.get(region)
    if (!changed) {
      changed = [...dirty.grids].filter((g) => g.startsWith(region)).map((g) => ctx.state.grid(g))
      grids.set(region, changed)
    }
    if (changed.length)
      ctx.nsp.local.to(room).emit('grids', {
        seq: ctx.state.seq,
        region,
        at: formatIsoWithOffset(ctx.now, ctx.tz),
        grids: gridsForRole(changed, role),
      })
  }
}

/** The positions batched since the last tick, to each positions room (by scope). */
export function emitPositions(ctx: TickContext, pending: Map<string, Position>): void {
  if (!pending.size) return
  const { gridOfWorker, workerIndex } = ctx.snapshots
  for (const room of ctx.nsp.adapter.rooms.keys()) {
    if (!room.startsWith('pos:')) continue
    const scope = room.slice(4)
    const mine = [...pending.values()].filter((p) => (gridOfWorker.get(p.workerId) ?? '').startsWith(scope))
    if (mine.length)
      ctx.nsp.local.to(room).emit('positions', encodePositions(mine, workerIndex, ctx.now, ctx.tz))
  }
  pending.clear()
}
