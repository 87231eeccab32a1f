/**
 * What one client may take of `/live`: connections per address and per token, failed handshakes per
 * address, and `subscribe`s per socket. Counting windows are `rate-limiter-flexible`'s; open
 * connections are counted here, from the engine.io connection's own `close`.
 */
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible'
import type { Socket } from 'socket.io'

/** Defaults of the limits (the config's defaults too). */
export const LIVE_LIMITS = {
  /** Bytes held for one client before it is cut. */
  maxBufferedBytes: 2 * 1024 * 1024,
  /** Open engine.io connections from one address (a NAT or a reverse proxy shares one). */
  maxConnectionsPerIp: 256,
  /** Open `/live` sockets per token; a `public` token is shared by every embed of a portal. */
  maxConnectionsPerToken: 10_000,
  /** Failed handshakes from one address in HANDSHAKE_WINDOW_S before it is refused unverified. */
  maxFailedHandshakes: 10,
} as const

const HANDSHAKE_WINDOW_S = 60
/** Subscribes per socket answered in SUBSCRIBE_WINDOW_S (a wall's tour, a user drilling down). */
export const SUBSCRIBE_BURST = 20
/** Subscribes per socket in SUBSCRIBE_WINDOW_S past which it is cut (the ones between: `rate_limited`). */
const SUBSCRIBE_FLOOD = 100
const SUBSCRIBE_WINDOW_S = 10

type Conn = Socket['conn']

export type SubscribeVerdict = 'answer' | 'rate_limited' | 'cut'

export function createLiveLimits(o: {
  maxConnectionsPerIp: number
  maxConnectionsPerToken: number
  maxFailedHandshakes: number
}) {
  const byAddress = new Map<string, number>()
  const byToken = new Map<string, Set<string>>()
  const failures = new RateLimiterMemory({ points: o.maxFailedHandshakes, duration: HANDSHAKE_WINDOW_S })
  const subscribes = new RateLimiterMemory({ points: SUBSCRIBE_FLOOD, duration: SUBSCRIBE_WINDOW_S })

  return {
    /** Whether another connection from `address` may open (engine.io `allowRequest`). */
    addressAllowed: (address: string): boolean => (byAddress.get(address) ?? 0) < o.maxConnectionsPerIp,
    /** Count an open engine.io connection against its address until it closes. */
    trackConnection(conn: Conn, address: string): void {
      const a = address
      byAddress.set(a, (byAddress.get(a) ?? 0) + 1)
      conn.once('close', () => {
        const n = (byAddress.get(a) ?? 1) - 1
        if (n > 0) byAddress.set(a, n)
        else byAddress.delete(a)
      })
    },
    /** Whether `address` failed too many handshakes lately (refused before any verification). */
    async throttled(address: string): Promise<boolean> {
      const r = await failures.get(address)
      return (r?.consumedPoints ?? 0) >= o.maxFailedHandshakes
    },
    async failed(address: string): Promise<void> {
      await failures.penalty(address)
    },
    /** Hold a place for `socket` under `token` until it closes; false when the token's places are taken. */
    holdToken(token: string, socket: Socket): boolean {
      const held = byToken.get(token) ?? new Set<string>()
      if (held.size >= o.maxConnectionsPerToken) return false
      held.add(socket.id)
      byToken.set(token, held)
      const release = () => {
        held.delete(socket.id)
        if (held.size === 0 && byToken.get(token) === held) byToken.delete(token)
      }
      socket.conn.once('close', release)
      socket.once('disconnect', release)
      return true
    },
    async subscribe(socketId: string): Promise<SubscribeVerdict> {
      try {
        const r = await subscribes.consume(socketId)
        return r.consumedPoints <= SUBSCRIBE_BURST ? 'answer' : 'rate_limited'
      } catch (err) {
        if (err instanceof RateLimiterRes) return 'cut'
        throw err
      }
    },
    /** Forget a closed socket's subscribe window. */
    async forget(socketId: string): Promise<void> {
      await subscribes.delete(socketId)
    },
  }
}

export type LiveLimits = ReturnType<typeof createLiveLimits>
