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
  d: {
    store: Store
    timeZone: string
    maxBytes: number
    headSeq: () => number
    caughtUp: () => Promise<void>
  },
): Promise<void> {
  const audience = audienceOf(socket.data.role)
  if (!audience) {
    // Nothing to replay for aggregates-only sockets: live at once.
    socket.emit('synced', { seq: d.headSeq() })
    return
  }
  socket.data.replaying = true
  // A client ahead of this process's feed (it was served by a process further along): wait for the
  // feed to catch up with the log; if it is still ahead then, the store was restored behind it and
  // the head, not the client, is the truth.
  if (socket.data.sent > d.headSeq()) {
    await d.caughtUp()
    if (!socket.connected) return
    if (socket.data.sent > d.headSeq()) socket.data.sent = d.headSeq()
  }
  for (;;) {
    const page = await d.store.listChanges(socket.data.sent, REPLAY_PAGE)
    if (!socket.connected) return
    // Only what the feed has emitted to the rooms already: what lies beyond comes from the rooms.
    const head = d.headSeq()
    const upTo = page.filter((c) => c.seq <= head)
    const inScope = upTo.filter((c) => c.gridCode.startsWith(socket.data.scope))
    const events = await d.store.eventsByIds(inScope.map((c) => c.eventId))
    for (const c of inScope) {
      if (!socket.connected) return
      socket.emit('change', changeFrame(c, events.get(c.eventId)!, audience, d.timeZone))
      // Paced by the same byte measure as the cut, well below it: a replay never trips it.
      if (meter.pending() > d.maxBytes / 2) await meter.below(d.maxBytes / 4)
    }
    if (!socket.connected) return
    if (upTo.length > 0) socket.data.sent = upTo.at(-1)!.seq
    // No await between this check and the join: the feed cannot emit in between. The log is
    // gap-free, so the socket holds every change up to `sent`; at the feed's position it is live.
    if (socket.data.sent >= d.headSeq()) {
      socket.data.sent = d.headSeq()
      socket.join([`chg:${audience}:${socket.data.scope}`, `pos:${socket.data.scope}`])
      socket.data.replaying = false
      socket.emit('synced', { seq: socket.data.sent })
      return
    }
  }
}
