/**
 * Who may open `/live`: the handshake checks, in order of cost. An address that failed too many
 * handshakes lately is refused before its token is verified; a token holds at most so many sockets.
 * A bearer token or a portal's embed token is taken; an embed token's socket is a `public` one of
 * its region, opened from one of its portals' origins or this server's own (its iframe).
 * Refusals are `connect_error`s whose `data.code` says why (`rate_limited`: retry later).
 */
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'socket.io'
import type {
  ClientToServerEvents,
  LiveErrorCode,
  ServerToClientEvents,
  SocketData,
} from '../../shared/live.ts'
import type { TokenService, VerifyResult } from '../auth/tokens.ts'
import type { CityIndex } from '../city/city-index.ts'
import type { LiveLimits } from './live-limits.ts'

type LiveSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>

/** Same origin (Origin host = Host header), or one of the allowed origins. No Origin: not a browser. */
export function originAllowed(req: IncomingMessage, allowed: readonly string[]): boolean {
  const origin = req.headers.origin
  if (!origin) return true
  if (allowed.includes(origin)) return true
  try {
    return new URL(origin).host === req.headers.host
  } catch {
    return false
  }
}

/** A handshake refusal: the client sees `err.message` and `err.data.code`. */
export const fail = (code: LiveErrorCode, message: string) =>
  Object.assign(new Error(message), { data: { code } })

/**
 * A bearer token, else an embed token (its principal `public`, of its region). A token that is
 * neither is refused with the bearer kind's reason.
 */
async function verifyEither(tokens: TokenService, token: string): Promise<VerifyResult> {
  const bearer = await tokens.verify(token)
  if (bearer.ok || bearer.reason !== 'invalid') return bearer
  const embed = await tokens.verifyEmbed(token)
  return embed.ok ? embed : { ok: false, reason: embed.reason }
}

/** The handshake: resolves with the refusal, or undefined once `socket.data` is set. */
export function createAdmission(d: {
  tokens: TokenService
  city: CityIndex
  limits: LiveLimits
  isReady: () => boolean
  /** Where a socket without `since` starts. */
  headSeq: () => number
  /** The client's address (behind trusted proxies, the one they name). */
  addressOf?: (socket: LiveSocket) => string
}) {
  return async function admit(socket: LiveSocket): Promise<Error | undefined> {
    const auth = socket.handshake.auth as { token?: unknown; since?: unknown }
    const address = d.addressOf?.(socket) ?? socket.handshake.address
    if (!d.isReady()) return fail('not_ready', 'the server is starting')
    if (await d.limits.throttled(address))
      return fail('rate_limited', 'too many failed handshakes: retry later')
    if (typeof auth.token !== 'string') {
      await d.limits.failed(address)
      return fail('unauthorized', 'auth.token is required')
    }
    const v = await verifyEither(d.tokens, auth.token)
    if (!v.ok) {
      await d.limits.failed(address)
      return fail('unauthorized', `token ${v.reason}`)
    }
    const { role, region, expiresAt, jti, embed } = v.principal
    if (role === 'ingest') return fail('forbidden', 'ingest tokens cannot use the live stream')
    // The engine let only this server's own origin or ALLOWED_ORIGINS through; an embed token
    // narrows that to its own portals (and its iframe, which is of this server's origin).
    if (embed && !originAllowed(socket.request, embed.origins))
      return fail('forbidden', 'this embed token is not for the page this socket comes from')
    const since = auth.since === undefined || auth.since === null ? null : Number(auth.since)
    if (since !== null && !(Number.isInteger(since) && since >= 0))
      return fail('invalid_query', 'since must be a non-negative integer')
    if (socket.conn.readyState !== 'open') return fail('unauthorized', 'the connection closed')
    if (!d.limits.holdToken(jti ?? auth.token, socket))
      return fail('rate_limited', 'too many connections with this token')
    socket.data = {
      role,
      scope: region ?? d.city.district.code,
      ...(expiresAt ? { expiresAt } : {}),
      ...(jti ? { jti } : {}),
      sent: since ?? d.headSeq(),
      subscribed: null,
      replaying: false,
    }
    return undefined
  }
}
