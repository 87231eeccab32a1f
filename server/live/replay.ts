/**
 * Replay after `since`: every change in the socket's scope from the durable log, in pages, paced by
 * the bytes held for the socket (the same measure as the cut), then the hand-over to the live rooms.
 * A store failure rejects: the caller closes the transport, and the client retries by itself.
 */
import type { Socket } from 'socket.io'
import type { ClientToServerEvents, ServerToClientEvents, SocketData } from '../../shared/live.ts'
import type { Store } from '../store/store.ts'
import { changeFrame } from './frames.ts'
import type { OutputMeter } from './output-meter.ts'
import { audienceOf } from './snapshots.ts'

type LiveSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>

const REPLAY_PAGE = 500

/** Send every change after `sent` in the socket's scope, then join the live rooms. */
export async function catchUp(
  socket: LiveSocket,
  meter: OutputMeter,
  d: { store: Store; timeZone: string; maxBytes: number; headSeq: () => number },
): Promise<void> {
  const audience = audienceOf(socket.data.role)
  if (!audience) {
    // Nothing to replay for aggregates-only sockets: live at once.
    socket.emit('synced', { seq: d.headSeq() })
    return
  }
  socket.data.replaying = true
  for (;;) {
    const page = await d.store.listChanges(socket.data.sent, REPLAY_PAGE)
    if (!socket.connected) return
    const inScope = page.filter((c) => c.gridCode.startsWith(socket.data.scope))
    const events = await d.store.eventsByIds(inScope.map((c) => c.eventId))
    for (const c of inScope) {
      if (!socket.connected) return
      socket.emit('change', changeFrame(c, events.get(c.eventId)!, audience, d.timeZone))
      // Paced by the same byte measure as the cut, well below it: a replay never trips it.
      if (meter.pending() > d.maxBytes / 2) await meter.below(d.maxBytes / 4)
    }
    if (!socket.connected) return
    if (page.length > 0) socket.data.sent = page.at(-1)!.seq
    // No await between this check and the join: nothing can commit in between.
    // The head, not the live state's seq: while the state rebuilds (start, a new day) it lags
    // behind changes already committed, sent by replay and emitted to the rooms.
    if (page.length < REPLAY_PAGE && socket.data.sent >= d.headSeq()) {
      socket.data.sent = d.headSeq()
      socket.join([`chg:${audience}:${socket.data.scope}`, `pos:${socket.data.scope}`])
      socket.data.replaying = false
      socket.emit('synced', { seq: socket.data.sent })
      return
    }
  }
}
