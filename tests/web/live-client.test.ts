/**
 * createLiveClient's retries, with a fake socket and fake timers: socket.io-client comes back by
 * itself after a lost transport, so the client leaves that to it (with its own jitter set); a
 * disconnect by the server and a middleware refusal are retried here with full-jitter exponential
 * back-off; while the server starts, `/readyz` is polled for its progress and the socket connects
 * as soon as it is ready; a refused token is never retried.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { mulberry32 } from '../../shared/random.ts'
import { fullJitter, spread } from '../../web/src/realtime/backoff.ts'
import {
  createLiveClient,
  type LiveClientOptions,
  type LiveConnectionState,
  type LiveSocket,
} from '../../web/src/realtime/live-client.ts'

type Listener = (...args: unknown[]) => void

/** The part of a socket.io-client socket the live client uses; `fire` plays the server's side. */
class FakeSocket {
  listeners = new Map<string, Listener[]>()
  connected = false
  active = true
  connects: number[] = []
  constructor(readonly opts: Record<string, unknown>) {}
  on(event: string, fn: Listener) {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), fn])
    return this
  }
  /** Every `subscribe` the client sent, with its acknowledgement (to answer it as the server). */
  subscribes: ((res: unknown) => void)[] = []
  emit(event: string, _payload: unknown, ack?: (res: unknown) => void) {
    if (event === 'subscribe' && ack) this.subscribes.push(ack)
    return this
  }
  connect() {
    this.connects.push(Date.now())
    this.active = true
    return this
  }
  close() {
    this.active = false
    return this
  }
  removeAllListeners() {
    this.listeners.clear()
    return this
  }
  fire(event: string, ...args: unknown[]) {
    if (event === 'connect') this.connected = true
    if (event === 'disconnect') this.connected = false
    for (const fn of this.listeners.get(event) ?? []) fn(...args)
  }
  /** A refusal by the server's middleware: final for socket.io-client (the socket is no longer active). */
  refuse(code: string) {
    this.active = false
    this.fire('connect_error', Object.assign(new Error(code), { data: { code } }))
  }
  /** A lost transport: socket.io-client keeps trying by itself. */
  drop() {
    this.fire('disconnect', 'transport close')
  }
}

const readyz = (status: number, body: unknown) =>
  Promise.resolve(new Response(JSON.stringify(body), { status }))
const starting = (percent: number) =>
  readyz(503, { status: 'starting', progress: { phase: 'backfill', done: percent, total: 100, percent } })

function setup(o: Partial<LiveClientOptions> = {}) {
  let socket!: FakeSocket
  const states: LiveConnectionState[] = []
  const fetched: string[] = []
  const answers: (() => Promise<Response>)[] = []
  const client = createLiveClient({
    url: 'http://wall.test',
    token: 't',
    region: '430602',
    random: () => 0.5,
    handlers: { state: (s) => states.push(s) },
    createSocket: (_url, opts) => (socket = new FakeSocket(opts)) as unknown as LiveSocket,
    fetch: (url) => {
      fetched.push(url)
      return (answers.shift() ?? (() => readyz(200, { status: 'ready', seq: 1 })))()
    },
    ...o,
  })
  const live = (seq = 10) => {
    socket.fire('connect')
    socket.fire('synced', { seq })
  }
  return { client, socket, states, fetched, answers, live }
}

beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }))
afterEach(() => vi.useRealTimers())

describe('backoff', () => {
  it('doubles the window from the base up to the cap, and waits a random part of it', () => {
    const top = () => 0.999999
    expect([0, 1, 2, 3, 4, 5, 6, 40].map((n) => fullJitter(n, { baseMs: 1000, maxMs: 30_000 }, top))).toEqual(
      [999, 1999, 3999, 7999, 15_999, 29_999, 29_999, 29_999],
    )
    expect(fullJitter(3, { baseMs: 1000, maxMs: 30_000 }, () => 0)).toBe(0)
    expect(spread(2000, () => 0)).toBe(1000)
    expect(spread(2000, top)).toBe(2999)
  })
})

describe('createLiveClient reconnection', () => {
  it("sets socket.io-client's own reconnection jitter and leaves a lost transport to it", async () => {
    const { socket, states, live } = setup()
    expect(socket.opts).toMatchObject({
      reconnectionDelay: 1000,
      reconnectionDelayMax: 5000,
      randomizationFactor: 0.5,
    })
    live()
    socket.drop()
    await vi.advanceTimersByTimeAsync(60_000)
    expect(socket.connects).toEqual([])
    expect(states.at(-1)).toMatchObject({ status: 'reconnecting', staleSince: 1_000_000 })
  })

  it('connects again after a disconnect by the server, after a back-off that grows until live', async () => {
    const { socket, states, live } = setup()
    live()
    socket.fire('disconnect', 'io server disconnect')
    expect(states.at(-1)!.status).toBe('reconnecting')
    // random 0.5: half of the 1 s window.
    await vi.advanceTimersByTimeAsync(499)
    expect(socket.connects).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    expect(socket.connects).toEqual([1_000_500])
    // Refused again (not by the token): the next window is twice as long.
    socket.refuse('internal')
    await vi.advanceTimersByTimeAsync(1000)
    expect(socket.connects).toEqual([1_000_500, 1_001_500])
    socket.refuse('internal')
    await vi.advanceTimersByTimeAsync(2000)
    expect(socket.connects.at(-1)).toBe(1_003_500)
    // Live again: the back-off starts over.
    live(12)
    socket.fire('disconnect', 'io server disconnect')
    await vi.advanceTimersByTimeAsync(500)
    expect(socket.connects.at(-1)).toBe(1_004_000)
  })

  it('spreads a thousand walls disconnected at once over the whole first window', async () => {
    const random = mulberry32(42).next
    const sockets = Array.from({ length: 1000 }, () => setup({ random }))
    for (const s of sockets) s.live()
    for (const s of sockets) s.socket.fire('disconnect', 'io server disconnect')
    const perTenth = Array.from({ length: 10 }, () => 0)
    for (let i = 0; i < 10; i++) {
      const before = sockets.filter((s) => s.socket.connects.length > 0).length
      await vi.advanceTimersByTimeAsync(100)
      perTenth[i] = sockets.filter((s) => s.socket.connects.length > 0).length - before
    }
    expect(perTenth.reduce((a, b) => a + b)).toBe(1000)
    // Uniform over [0, 1 s): about 100 in every tenth of a second, never a crowd in one.
    for (const n of perTenth) expect(n).toBeGreaterThan(60)
    for (const n of perTenth) expect(n).toBeLessThan(140)
  })

  it('never retries a refused token, also after a disconnect by the server', async () => {
    const first = setup()
    first.socket.refuse('unauthorized')
    await vi.advanceTimersByTimeAsync(120_000)
    expect(first.socket.connects).toEqual([])
    expect(first.states.at(-1)!.status).toBe('unauthorized')

    // Live, then the token is revoked: the server disconnects, the retry is refused for good.
    const second = setup()
    second.live()
    second.socket.fire('disconnect', 'io server disconnect')
    await vi.advanceTimersByTimeAsync(1000)
    expect(second.socket.connects.length).toBe(1)
    second.socket.refuse('unauthorized')
    await vi.advanceTimersByTimeAsync(120_000)
    expect(second.socket.connects.length).toBe(1)
    expect(second.states.at(-1)!.status).toBe('unauthorized')
  })

  it('while the server starts, shows its progress from /readyz and connects once it is ready', async () => {
    const { socket, states, fetched, answers, live } = setup({ startingPollMs: 2000 })
    answers.push(
      () => starting(42),
      () => starting(57),
    )
    socket.refuse('not_ready')
    expect(states.at(-1)!.status).toBe('starting')
    // The first poll at once, so the figure shows without waiting.
    await vi.advanceTimersByTimeAsync(0)
    expect(fetched).toEqual(['http://wall.test/readyz'])
    expect(states.at(-1)).toMatchObject({ status: 'starting', starting: { phase: 'backfill', percent: 42 } })
    // Then every 2 s ± 50 % (random 0.5: 2 s).
    await vi.advanceTimersByTimeAsync(1999)
    expect(fetched.length).toBe(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(states.at(-1)!.starting!.percent).toBe(57)
    expect(socket.connects).toEqual([])
    // Ready: the socket connects at once and the stream goes live.
    await vi.advanceTimersByTimeAsync(2000)
    expect(fetched.length).toBe(3)
    expect(socket.connects.length).toBe(1)
    live()
    expect(states.at(-1)).toMatchObject({ status: 'live', staleSince: null, starting: null, error: null })
  })

  it('a wall that was live stays stale since the drop while the restarted server catches up', async () => {
    const { socket, states, answers, live } = setup()
    live()
    vi.setSystemTime(1_005_000)
    socket.drop()
    vi.setSystemTime(1_009_000)
    answers.push(() =>
      readyz(503, { status: 'starting', progress: { phase: 'catch-up', done: 1, total: 4, percent: 25 } }),
    )
    socket.refuse('not_ready')
    await vi.advanceTimersByTimeAsync(0)
    expect(states.at(-1)).toMatchObject({
      status: 'reconnecting',
      staleSince: 1_005_000,
      starting: { phase: 'catch-up', percent: 25 },
    })
    await vi.advanceTimersByTimeAsync(2000)
    expect(socket.connects.length).toBe(1)
  })

  it('backs off when /readyz cannot be reached, and close() cancels what is pending', async () => {
    const { client, socket, fetched, answers } = setup()
    answers.push(() => Promise.reject(new TypeError('fetch failed')))
    socket.refuse('not_ready')
    await vi.advanceTimersByTimeAsync(0)
    expect(fetched.length).toBe(1)
    await vi.advanceTimersByTimeAsync(500)
    expect(socket.connects.length).toBe(1)
    socket.refuse('internal')
    client.close()
    await vi.advanceTimersByTimeAsync(120_000)
    expect(socket.connects.length).toBe(1)
  })
})

describe('createLiveClient subscribe', () => {
  it('asks again after a jittered pause when the server answers rate_limited, and only then', async () => {
    const { socket, live } = setup()
    live()
    expect(socket.subscribes).toHaveLength(1)
    socket.subscribes[0]!({ ok: false, error: { code: 'rate_limited', message: 'too many subscribes' } })
    await vi.advanceTimersByTimeAsync(500)
    expect(socket.subscribes, 'not at once: that is what the limit refused').toHaveLength(1)
    await vi.advanceTimersByTimeAsync(10_000)
    expect(socket.subscribes).toHaveLength(2)
    socket.subscribes[1]!({ ok: false, error: { code: 'forbidden', message: 'outside the scope' } })
    await vi.advanceTimersByTimeAsync(60_000)
    expect(socket.subscribes, 'a refusal other than the limit is final').toHaveLength(2)
  })
})
