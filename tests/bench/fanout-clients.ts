/**
 * Client side of `npm run bench:fanout` (a separate process so the server is measured alone):
 * opens INTERNAL officer sockets and PUBLIC public sockets with the real socket.io-client,
 * subscribes each to the district, counts frames and records when probe events arrive.
 * Talks to the parent over stdout (one JSON object a line) and stdin ('report', 'quit').
 */
import { io, type Socket } from 'socket.io-client'

const url = process.env.URL!
const region = process.env.REGION ?? '430602'
const internal = Number(process.env.INTERNAL ?? 0)
const pub = Number(process.env.PUBLIC ?? 0)
const officerToken = process.env.OFFICER_TOKEN!
const publicToken = process.env.PUBLIC_TOKEN!

const send = (msg: unknown) => process.stdout.write(JSON.stringify(msg) + '\n')
const frames = { internal: 0, public: 0 }
/** Item-level updates: a positions frame carries one per worker, a grids frame one per grid. */
const updates = { internal: 0, public: 0 }
/** probe event id → receive times (ms) on internal sockets */
const probeSeen = new Map<string, number[]>()
/** probe seq → receive times of the first frame covering it on public sockets */
const publicSeen: { seq: number; at: number }[] = []
const sockets: Socket[] = []
let connected = 0

function open(kind: 'internal' | 'public'): Promise<void> {
  return new Promise((resolve) => {
    const s = io(`${url}/live`, {
      auth: { token: kind === 'internal' ? officerToken : publicToken },
      transports: ['websocket'],
      reconnection: false,
    })
    sockets.push(s)
    s.onAny(
      (
        event: string,
        frame: {
          seq?: number
          event?: { id?: string; description?: string }
          workers?: number[]
          grids?: unknown[]
        },
      ) => {
        frames[kind]++
        updates[kind] +=
          event === 'positions'
            ? (frame.workers?.length ?? 0) / 3
            : event === 'grids'
              ? (frame.grids?.length ?? 0)
              : 1
        const now = Date.now()
        if (
          kind === 'internal' &&
          event === 'change' &&
          frame.event?.description?.startsWith('BENCH-PROBE')
        ) {
          const id = frame.event.description
          const list = probeSeen.get(id) ?? []
          list.push(now)
          probeSeen.set(id, list)
        }
        if (kind === 'public' && typeof frame.seq === 'number' && publicSeen.length < 200_000)
          publicSeen.push({ seq: frame.seq, at: now })
      },
    )
    s.on('connect', () => {
      connected++
      s.emit('subscribe', { region }, () => resolve())
    })
    s.on('connect_error', (e) => {
      send({ type: 'error', message: e.message })
      resolve()
    })
  })
}

async function main() {
  const batch = 200
  // A server that cannot keep up (the naive baseline) may never take them all: stop trying after this.
  const deadline = Date.now() + Number(process.env.CONNECT_SECONDS ?? 180) * 1000
  const plan: ('internal' | 'public')[] = [...Array(internal).fill('internal'), ...Array(pub).fill('public')]
  for (let i = 0; i < plan.length && Date.now() < deadline; i += batch) {
    await Promise.all(plan.slice(i, i + batch).map(open))
    send({ type: 'progress', connected })
  }
  send({ type: 'connected', connected })
  process.stdin.setEncoding('utf8')
  let buf = ''
  process.stdin.on('data', (d) => {
    buf += d
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const cmd = buf.slice(0, nl).trim()
      buf = buf.slice(nl + 1)
      if (cmd === 'reset') {
        frames.internal = frames.public = 0
        updates.internal = updates.public = 0
        probeSeen.clear()
        publicSeen.length = 0
      } else if (cmd === 'report') {
        send({ type: 'report', frames, updates, probes: Object.fromEntries(probeSeen), publicSeen })
      } else if (cmd === 'quit') {
        for (const s of sockets) s.close()
        process.exit(0)
      }
    }
  })
}

void main()
