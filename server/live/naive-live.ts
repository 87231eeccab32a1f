/**
 * The naive baseline for `npm run bench:fanout` only (LIVE_MODE=naive): what the Socket.IO
 * examples do — every change and every position emitted to every socket as it happens, with no
 * rooms, coalescing or audience filtering. Never used in production.
 */
import type { Server as HttpServer } from 'node:http'
import { Server } from 'socket.io'
import type { Change, GridEvent, PatrolRound, Position } from '../../shared/types.ts'
import type { TokenService } from '../auth/tokens.ts'

export function createNaiveLiveServer(o: { httpServer: HttpServer; tokens: TokenService }) {
  const io = new Server(o.httpServer, { serveClient: false })
  const nsp = io.of('/live')
  nsp.use(async (socket, next) => {
    const token = (socket.handshake.auth as { token?: string }).token
    const v = token ? await o.tokens.verify(token) : null
    next(v?.ok ? undefined : new Error('unauthorized'))
  })
  // Subscriptions are acknowledged but change nothing: every socket gets everything.
  nsp.on('connection', (socket) => {
    socket.on('subscribe', (_req: unknown, ack?: (r: unknown) => void) => ack?.({ ok: true, data: null }))
  })
  const unsubscribe: (() => void)[] = []
  return {
    async start(hooks: {
      onChange: (l: (c: Change, e: GridEvent, p: GridEvent | null) => void) => () => void
      onIngest: (l: (p: Position[], r: PatrolRound[]) => void) => () => void
    }) {
      unsubscribe.push(
        hooks.onChange((change, event) => nsp.emit('change', { seq: change.seq, at: change.at, event })),
        hooks.onIngest((positions) => {
          for (const p of positions) nsp.emit('position', p)
        }),
      )
    },
    async close() {
      for (const u of unsubscribe) u()
      await new Promise<void>((resolve) => io.close(() => resolve()))
    },
  }
}
