/**
 * One client process of `npm run bench:fanout` (the benchmark starts several, pinned away from the
 * server's cores): opens INTERNAL officer sockets and PUBLIC public sockets with the real
 * socket.io-client, round-robin over URLS, subscribes each to REGION and counts what arrives.
 *
 * Per audience: frames, payload bytes (the engine.io packet as received: UTF-8 bytes for change
 * frames, characters for the others, which are ASCII) and items (a change, a kpis frame or an alert
 * is one; a grids frame one per grid; a positions frame one per worker). Client-side latency (it
 * includes this process's own queue, unlike the server's figures): for change frames, receive time −
 * the frame's `at`; for SAMPLE_PUBLIC public sockets, the first kpis/grids frame whose seq covers a
 * change. Talks to the parent over IPC: `reset`, `report`, `quit`.
 */
import { io, type Socket } from 'socket.io-client'

const urls = (process.env.URLS ?? '').split(',').filter(Boolean)
const region = process.env.REGION ?? '430602'
const internal = Number(process.env.INTERNAL ?? 0)
const pub = Number(process.env.PUBLIC ?? 0)
const officerToken = process.env.OFFICER_TOKEN!
const publicToken = process.env.PUBLIC_TOKEN!
const offset = Number(process.env.INDEX ?? 0)
const samplePublic = Number(process.env.SAMPLE_PUBLIC ?? 20)
/** How long this process goes on opening sockets; each socket waits as long for its handshake. */
const connectSeconds = Number(process.env.CONNECT_SECONDS ?? 300)

type Kind = 'internal' | 'public'
const send = (msg: unknown) => process.send?.(msg)
const zero = () => ({ frames: 0, bytes: 0, items: 0 })
let counted = { internal: zero(), public: zero() }
/** Client-observed change latency on internal sockets (ms). */
let changeLatency: number[] = []
/** seq → the change's `at` (ms), from the change frames seen here. */
const atOf = new Map<number, number>()
/** Sampled public sockets: (seq, receive time) of each kpis/grids frame. */
const publicSeen: [number, number][][] = []
const sockets: Socket[] = []
let connected = 0
let disconnected = 0

function open(kind: Kind, n: number): Promise<void> {
  return new Promise((resolve) => {
    const s = io(`${urls[(n + offset) % urls.length]}/live`, {
      auth: { token: kind === 'internal' ? officerToken : publicToken },
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      // A busy server answers a handshake late, not never: the client's default 20 s would count a
      // slow admission as a socket that cannot connect (the naive server was cut to 323 of 1,000).
      timeout: connectSeconds * 1000,
    })
    sockets.push(s)
    const c = () => counted[kind]
    // The manager opens its engine at once (autoConnect): its packets are the socket's only.
    s.io.engine.on('packet', (p: { type: string; data?: unknown }) => {
      if (p.type !== 'message' || typeof p.data !== 'string') return
      c().bytes += p.data.startsWith('2/live,["change"') ? Buffer.byteLength(p.data) : p.data.length
    })
    const sampleIndex = kind === 'public' && n % Math.max(1, Math.floor(pub / samplePublic)) === 0
    const mine: [number, number][] | null = sampleIndex ? [] : null
    if (mine) publicSeen.push(mine)
    s.onAny((event: string, frame: { seq?: number; at?: string; workers?: number[]; grids?: unknown[] }) => {
      if (event === 'synced') return
      const k = c()
      k.frames++
      k.items +=
        event === 'positions'
          ? (frame.workers?.length ?? 0) / 3
          : event === 'grids'
            ? (frame.grids?.length ?? 0)
            : 1
      const now = Date.now()
      if (event === 'change' && typeof frame.seq === 'number' && frame.at) {
        const at = Date.parse(frame.at)
        atOf.set(frame.seq, at)
        changeLatency.push(now - at)
      }
      if (mine && (event === 'kpis' || event === 'grids') && typeof frame.seq === 'number')
        mine.push([frame.seq, now])
    })
    let pending = kind === 'internal' ? 2 : 1
    const done = () => --pending === 0 && resolve()
    s.on('synced', () => {
      if (kind === 'internal') done()
    })
    s.on('connect', () => {
      connected++
      s.emit('subscribe', { region }, () => done())
    })
    s.on('disconnect', () => disconnected++)
    s.on('connect_error', (e) => {
      send({ type: 'error', message: e.message })
      resolve()
    })
  })
}

function publicLatency(): number[] {
  const out: number[] = []
  for (const list of publicSeen) {
    let covered = -1
    for (const [seq, t] of list) {
      if (covered < 0) covered = seq
      for (let s = covered + 1; s <= seq; s++) {
        const at = atOf.get(s)
        if (at !== undefined) out.push(t - at)
      }
      covered = Math.max(covered, seq)
    }
  }
  return out
}

async function main() {
  const batch = 100
  const deadline = Date.now() + connectSeconds * 1000
  const plan: Kind[] = [...Array<Kind>(internal).fill('internal'), ...Array<Kind>(pub).fill('public')]
  for (let i = 0; i < plan.length && Date.now() < deadline; i += batch) {
    await Promise.all(plan.slice(i, i + batch).map((k, j) => open(k, i + j)))
    send({ type: 'progress', connected })
  }
  send({ type: 'connected', connected })
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'reset') {
      counted = { internal: zero(), public: zero() }
      changeLatency = []
      for (const list of publicSeen) list.length = 0
    } else if (m.cmd === 'report') {
      send({
        type: 'report',
        counted,
        changeLatency,
        publicLatency: publicLatency(),
        connected: connected - disconnected,
        cpu: process.cpuUsage(),
      })
    } else if (m.cmd === 'quit') {
      for (const s of sockets) s.close()
      process.exit(0)
    }
  })
}

void main()
