/**
 * Bytes held in this process for one client, measured through engine.io's public socket events,
 * so that frames, acknowledgements and pings all count, in bytes, whatever queued them: a packet
 * counts from its creation (`packetCreate`) until the transport has written out the batch it was
 * flushed in (`flush`, then the transport's `drain`; a transport writes one batch at a time).
 */
import type { Socket } from 'socket.io'

type Conn = Socket['conn']
type Transport = Conn['transport']
interface Packet {
  data?: unknown
}

const sizeOf = (p: Packet): number =>
  typeof p.data === 'string'
    ? Buffer.byteLength(p.data)
    : p.data instanceof ArrayBuffer || ArrayBuffer.isView(p.data)
      ? p.data.byteLength
      : 0

export interface OutputMeter {
  /** Bytes created for the client and not yet written out by its transport. */
  pending(): number
  /** Resolves once `pending()` is at most `bytes`, or the connection has closed. */
  below(bytes: number): Promise<void>
}

/** Meter `conn`; `onOver` is called (once a packet) while more than `limit` bytes are pending. */
export function meterOutput(conn: Conn, limit: number, onOver: () => void): OutputMeter {
  let queued = 0
  let inFlight = 0
  let open = true
  let waiters: { bytes: number; resolve: () => void }[] = []
  const pending = () => queued + inFlight
  const settle = () => {
    waiters = waiters.filter((w) => (!open || pending() <= w.bytes ? (w.resolve(), false) : true))
  }
  const written = () => {
    inFlight = 0
    settle()
  }
  let transport: Transport = conn.transport
  transport.on('drain', written)

  conn.on('packetCreate', (p: Packet) => {
    queued += sizeOf(p)
    if (pending() > limit) onOver()
  })
  conn.on('flush', (batch: Packet[]) => {
    const n = batch.reduce((sum, p) => sum + sizeOf(p), 0)
    // Packets created before the meter was attached are in the batch but were never counted.
    queued = Math.max(0, queued - n)
    inFlight += n
  })
  conn.on('upgrade', (next: Transport) => {
    transport.off('drain', written)
    transport = next
    transport.on('drain', written)
    written()
  })
  conn.once('close', () => {
    transport.off('drain', written)
    open = false
    queued = inFlight = 0
    settle()
  })

  return {
    pending,
    below: (bytes) =>
      new Promise<void>((resolve) => {
        waiters.push({ bytes, resolve })
        settle()
      }),
  }
}
