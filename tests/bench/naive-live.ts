/**
 * The naive baseline of `npm run bench:fanout`, and only of it: what the Socket.IO examples do —
 * every change and every position emitted to every socket as it happens, with no rooms, coalescing,
 * audience filtering or limits. Run as a script, it is `server/main.ts` with this live stream in
 * place of the real one (the benchmark starts it as its own server process).
 */
import { pathToFileURL } from 'node:url'
import { Server } from 'socket.io'
import { parseConfig } from '../../server/config.ts'
import type { LiveServerOptions } from '../../server/live/live-server.ts'
import { createSystem } from '../../server/system.ts'
import type { ChangeFeed } from '../../server/store/change-feed.ts'
import type { PatrolRound, Position } from '../../shared/types.ts'

export function createNaiveLiveServer(o: Pick<LiveServerOptions, 'httpServer' | 'tokens' | 'store'>) {
  const io = new Server(o.httpServer, { serveClient: false })
  const nsp = io.of('/live')
  nsp.use((socket, next) => {
    const token = (socket.handshake.auth as { token?: string }).token
    void (token ? o.tokens.verify(token) : Promise.resolve(null)).then(
      (v) => next(v?.ok ? undefined : new Error('unauthorized')),
      () => next(new Error('unauthorized')),
    )
  })
  // Subscriptions are acknowledged but change nothing: every socket gets everything.
  nsp.on('connection', (socket) => {
    socket.on('subscribe', (_req: unknown, ack?: (r: unknown) => void) => ack?.({ ok: true, data: null }))
  })
  const unsubscribe: (() => void)[] = []
  return {
    async start(hooks: {
      feed: ChangeFeed
      onIngest: (l: (p: Position[], r: PatrolRound[]) => void) => () => void
    }) {
      unsubscribe.push(
        hooks.feed.subscribe((items) => {
          for (const { change, event } of items) nsp.emit('change', { seq: change.seq, at: change.at, event })
        }),
        hooks.onIngest((positions) => {
          for (const p of positions) nsp.emit('position', p)
        }),
      )
      hooks.feed.start(await o.store.lastSeq())
    },
    async close() {
      for (const u of unsubscribe) u()
      await new Promise<void>((resolve) => io.close(() => resolve()))
    },
  }
}

async function main(): Promise<void> {
  const parsed = parseConfig(process.env)
  if (!parsed.ok) throw new Error(parsed.errors.join('; '))
  const system = await createSystem(parsed.config, { live: createNaiveLiveServer })
  await system.listen()
  process.on('SIGTERM', () => void system.stop().then(() => process.exit(0)))
  await system.startSimulation()
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  void main().catch((err: unknown) => {
    console.error(err)
    process.exit(1)
  })
