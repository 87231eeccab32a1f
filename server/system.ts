/**
 * The composition root: wires the system from a config (store, city, services, simulator, HTTP
 * server), picking the store (PostgreSQL or SQLite) and the adapters (Redis or none) by
 * configuration. `createSystem` only builds: it opens and migrates the store, reads what it needs from
 * it and wires the parts. `start()` starts what then runs by itself (the lease, the revocation poll,
 * the ingest bus reader, the housekeeping), so that building a system leaves no timer behind.
 * `server/main.ts` is the only caller that reads env, starts the system, opens the port and handles
 * signals; tests call this directly.
 */
import { serve, type ServerType } from '@hono/node-server'
import { randomBytes } from 'node:crypto'
import type { Server as HttpServer } from 'node:http'
import type { Socket as NetSocket } from 'node:net'
import { existsSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import pino, { type Logger } from 'pino'
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import { calendarSet } from '../shared/calendars.ts'
import type { Clock } from '../shared/types.ts'
import { startOfLocalDay, zoneOffset } from '../shared/working-time.ts'
import { createTokenService, type TokenService } from './auth/tokens.ts'
import { createCityIndex, loadCityFile, type CityIndex } from './city/city-index.ts'
import type { Config } from './config.ts'
import { createEventService, type EventService } from './domain/event-service.ts'
import { createKpiOffload } from './domain/kpi-offload.ts'
import { createKpiService } from './domain/kpi-service.ts'
import { createPatrolService } from './domain/patrol-service.ts'
import { createApp } from './http/app.ts'
import type { StartupProgress } from './http/context.ts'
import { createLiveServer, type LiveServer, type LiveServerOptions } from './live/live-server.ts'
import { createLiveState } from './live/live-state.ts'
import { createSimulator, type SimProgress, type Simulator } from './sim/simulator.ts'
import { createFaultReporter, startHousekeeping } from './faults.ts'
import { lockDataDir } from './store/data-dir.ts'
import { createSqliteStore } from './store/sqlite-store.ts'
import { createChangeFeed, type ChangeFeed } from './store/change-feed.ts'
import type { Store } from './store/store.ts'
import { createPgStore } from './store/pg-store.ts'
import { createAdapter } from '@socket.io/redis-streams-adapter'
import { Redis } from 'ioredis'
import { createRedisIngestBus } from './cluster/ingest-bus.ts'
import { createLocalLease, createPgLease, type Lease } from './cluster/lease.ts'

const here = dirname(fileURLToPath(import.meta.url))

export interface System {
  store: Store
  /** The change log as this process follows it (the live stream and the metrics hear it here). */
  feed: ChangeFeed
  city: CityIndex
  clock: Clock
  events: EventService
  tokens: TokenService
  simulator: Simulator | null
  app: ReturnType<typeof createApp>
  logger: Logger
  /**
   * Start what runs by itself: contend for the lease, poll the store for other processes'
   * revocations (PostgreSQL), read the ingest bus (Redis) and run the housekeeping. Idempotent (a
   * second call resolves with the first); rejects after `stop()`. Until it has been called the system
   * runs no timer of its own, and `listen` and `startSimulation` refuse.
   */
  start(): Promise<void>
  /** Listen on config.port; resolves with the bound port. Rejects before `start()`. */
  listen(): Promise<number>
  /** Backfill / catch up, then start the live simulator (when enabled). Rejects before `start()`. */
  startSimulation(onProgress?: SimProgress): Promise<void>
  /** Log and count an error the process survives (city_brain_store_errors_total). */
  reportError(op: string, err: unknown): void
  /**
   * Stop gracefully; `onPhase` hears each step as it begins (a stuck shutdown can say where). Safe
   * whether or not `start()` was called: it stops what was started and closes what was built.
   */
  stop(onPhase?: (phase: string) => void): Promise<void>
}

/**
 * How long a stop waits for the connections still open after the live transports are closed (a
 * request in flight, a WebSocket whose client never answers the close frame) before cutting them.
 */
export const SHUTDOWN_GRACE_MS = 3000

/** The simulated clock: real time, accelerated by `speed` from `origin`, never going back. */
export function createSimClock(speed: number, origin: number, realNow: () => number = Date.now): Clock {
  const realStart = realNow()
  return { now: () => Math.floor(origin + (realNow() - realStart) * speed) }
}

export async function createSystem(
  config: Config,
  opts: {
    logger?: Logger
    clock?: Clock
    /** The live stream's implementation (a benchmark composes its baseline here). */
    live?: (o: LiveServerOptions) => Pick<LiveServer, 'start' | 'close'>
    /** The lease on the simulator and the housekeeping (a test composes one it controls). */
    lease?: Lease
  } = {},
): Promise<System> {
  const logger = opts.logger ?? pino({ level: config.logLevel })
  const cityPath = join(here, 'cities', `${config.city}.json`)
  if (!existsSync(cityPath))
    throw new Error(
      `no city file for ${config.city} at ${cityPath}: generate it with npm run city -- ${config.city}`,
    )
  const city = createCityIndex(loadCityFile(cityPath))
  const faults = createFaultReporter(logger)
  // The store by configuration: PostgreSQL (any number of processes on one database) with
  // DATABASE_URL, else the embedded SQLite file, one process per data directory (a second would
  // number changes from its own view of the log).
  const dataDir = config.databaseUrl ? null : lockDataDir(config.dataDir)
  const store: Store = config.databaseUrl
    ? createPgStore({
        connectionString: config.databaseUrl,
        schema: config.databaseSchema,
        onError: (err, op) => faults.report(op ?? 'store', err),
      })
    : createSqliteStore(join(config.dataDir, 'city-brain.sqlite'), { onError: faults.report })
  await store.migrate().catch(async (err: unknown) => {
    await store.close()
    dataDir?.release()
    throw err
  })
  // Exactly one process runs the simulator and the housekeeping: the holder of the lease (with
  // SQLite the only process, which always holds it).
  const lease: Lease =
    opts.lease ??
    (config.databaseUrl
      ? createPgLease({
          connectionString: config.databaseUrl,
          name: `${config.databaseSchema}:simulator`,
          onError: (err) => faults.report('lease', err),
        })
      : createLocalLease())
  await store.upsertWorkers(city.workers())

  // The simulated clock resumes from where it stopped so time never runs backwards across restarts.
  const savedSimTime = Number((await store.getMeta('sim.until')) ?? 0)
  // A fixed origin (SIM_CLOCK_START) makes a run independent of the hour it is started at.
  const speed = config.simulate ? config.simSpeed : 1
  const clock =
    opts.clock ??
    (config.clockStart !== undefined
      ? createSimClock(speed, Math.max(config.clockStart, savedSimTime))
      : speed !== 1
        ? createSimClock(speed, Math.max(Date.now(), savedSimTime))
        : { now: () => Date.now() })

  // Every process on the store signs with one secret: the first written wins.
  const secret =
    (await store.getMeta('token.secret')) ??
    (await store.initMeta('token.secret', randomBytes(32).toString('base64')))
  const tokens = createTokenService({
    secret: Buffer.from(secret, 'base64'),
    revoked: await store.revokedTokens(Date.now()),
    persistRevocation: (jti, expiresAt) => store.revokeToken(jti, expiresAt),
    record: (t) => store.recordIssuedToken(t),
    ...(config.adminToken ? { adminToken: config.adminToken } : {}),
  })

  const calendar = config.calendar
  const tz = calendar.timeZone
  const events = createEventService({
    store,
    clock,
    calendars: calendarSet(calendar),
    city,
    returnWindowHours: config.returnWindowHours,
    reportMaxAgeHours: config.reportMaxAgeHours,
  })
  const patrol = createPatrolService({ store, clock, city, retentionDays: config.positionRetentionDays })
  // Several processes: each one's pings and rounds reach the others' live state (the store holds the
  // record; the bus carries the news), and Socket.IO reaches sockets on other processes.
  const prefix = `city-brain:${config.databaseSchema}`
  const bus = config.redisUrl
    ? createRedisIngestBus({
        url: config.redisUrl,
        key: `${prefix}:ingest`,
        onError: (err) => faults.report('ingest-bus', err),
      })
    : null
  if (bus) patrol.onIngest((p, r) => bus.publish(p, r))
  // Connected by start(), not here: a client connects (and reconnects) by itself once it is built.
  const adapterClient = config.redisUrl ? new Redis(config.redisUrl, { lazyConnect: true }) : null
  adapterClient?.on('error', (err) => faults.report('socket.io-adapter', err))
  // KPI reads run in a worker thread over a read-only connection: they never block the event loop.
  const kpis = createKpiService({
    store,
    clock,
    calendar,
    city,
    weights: config.weights,
    patrolMidday: config.patrolMidday,
    positionRetentionDays: config.positionRetentionDays,
    // (PostgreSQL reads do not block the loop; the worker reads the SQLite file.)
    ...(config.databaseUrl
      ? {}
      : {
          offload: createKpiOffload({
            dbFile: join(config.dataDir, 'city-brain.sqlite'),
            cityFile: cityPath,
            calendar,
            weights: config.weights,
            patrolMidday: config.patrolMidday,
          }),
        }),
  })

  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  registry.registerMetric(faults.counter)
  const lastSeq = new Gauge({
    name: 'city_brain_change_seq',
    help: 'Last committed change seq',
    registers: [registry],
  })
  const simLag = new Gauge({
    name: 'city_brain_sim_lag_seconds',
    help: 'Simulator lag behind the clock',
    registers: [registry],
  })
  new Gauge({
    name: 'city_brain_live_sockets',
    help: 'Live sockets connected to this process',
    registers: [registry],
    collect() {
      this.set(live && 'localCount' in live ? (live as LiveServer).localCount() : 0)
    },
  })
  const leaseGauge = new Gauge({
    name: 'city_brain_simulator_lease',
    help: '1 while this process holds the lease on the simulator and the housekeeping',
    registers: [registry],
  })
  leaseGauge.set(lease.held ? 1 : 0)
  lease.onChange((held) => leaseGauge.set(held ? 1 : 0))
  const feed = createChangeFeed(store, { onError: (err) => faults.report('feed', err) })
  feed.subscribe((items) => lastSeq.set(items.at(-1)!.change.seq))

  // Ready (/readyz 200) once the store is settled (after the backfill, with the simulator) and, on
  // a port, once the live stream serves too.
  let ready = !config.simulate
  let startup: StartupProgress | null = null
  const stopStart = new AbortController()
  let starting: Promise<void> = Promise.resolve()
  let port = config.port
  const app = createApp(
    {
      store,
      clock,
      calendar,
      weights: config.weights,
      city,
      events,
      kpis,
      patrol,
      tokens,
      registry,
      logger,
      isReady: () => ready,
      storeHealthy: () => store.health().ok,
      startup: () => startup,
      clockSpeed: opts.clock ? 1 : speed,
      baseUrl: () => config.publicUrl ?? `http://localhost:${port}`,
      liveClients: async () => (live && 'clients' in live ? (live as LiveServer).clients() : null),
    },
    { rateLimits: config.rateLimits },
  )

  const simulator = config.simulate
    ? createSimulator({
        store,
        clock,
        calendars: calendarSet(calendar),
        city,
        events,
        patrol,
        seed: config.simSeed,
        eventsPerDay: config.simEventsPerDay,
        backfillDays: config.backfillDays,
        returnWindowHours: config.returnWindowHours,
        tickMs: 1000,
        dayStartOf: (ms) => startOfLocalDay(ms, tz),
        localHour: (ms) => new Date(ms + zoneOffset(ms, tz)).getUTCHours(),
        onError: (err, retryInMs) => faults.retrying('simulator', err, retryInMs),
        onRefusal: (r) => logger.error({ refusal: r }, 'the lifecycle refused a simulated move'),
      })
    : null

  let server: ServerType | null = null
  const connections = new Set<NetSocket>()
  let live: Pick<LiveServer, 'start' | 'close'> | null = null
  let stopSim: (() => Promise<void>) | null = null
  const liveState = createLiveState({
    store,
    clock,
    calendar,
    city,
    weights: config.weights,
    dayOf: kpis.dayOf,
  })
  const startLive = async (): Promise<void> => {
    if (!live) return
    await live.start({
      feed,
      onIngest: (l) => {
        const local = patrol.onIngest(l)
        const remote = bus?.subscribe(l)
        return () => {
          local()
          remote?.()
        }
      },
    })
  }
  // The holder of the lease alone prunes (the health probe is every process's own).
  const leased = (task: () => Promise<unknown>) => (): Promise<unknown> =>
    lease.held ? task() : Promise.resolve()

  // What start() started, for stop() to stop: nothing until it is called.
  let started: Promise<void> | null = null
  let stopped = false
  let revocations: ReturnType<typeof setInterval> | null = null
  let stopHousekeeping: (() => Promise<void>) | null = null
  let lagTimer: ReturnType<typeof setInterval> | null = null
  // Listening or simulating without the lease, the bus reader and the housekeeping would look like a
  // healthy process that never prunes, never runs the simulator and never hears the other processes.
  const requireStarted = (what: string): void => {
    if (!started) throw new Error(`system.${what}() called before system.start(): start() first`)
  }

  return {
    store,
    feed,
    city,
    clock,
    events,
    tokens,
    simulator,
    app,
    logger,
    start() {
      if (stopped) return Promise.reject(new Error('system.start() called after system.stop()'))
      started ??= (async () => {
        lease.start()
        // On a shared store other processes revoke too: learn their revocations within seconds (the
        // store is the record; each process drops its own sockets holding a revoked token).
        if (config.databaseUrl) {
          revocations = setInterval(() => {
            store
              .revokedTokens(Date.now())
              .then(tokens.learnRevoked, (err: unknown) => faults.report('revocations', err))
          }, 2000)
          revocations.unref()
        }
        // Its failures are reported through the 'error' listener, and ioredis reconnects by itself.
        adapterClient?.connect().catch(() => undefined)
        await bus?.start()
        // Hourly; after a failure, or while the store fails, sooner: a successful write clears the
        // failure.
        stopHousekeeping = startHousekeeping({
          tasks: [
            () =>
              store.health().ok ? Promise.resolve() : store.setMeta('store.checked', String(Date.now())),
            leased(patrol.prune),
            leased(store.pruneIdempotencyKeys),
          ],
          healthy: () => store.health().ok,
          everyMs: 3_600_000,
          retryMs: 1000,
          maxRetryMs: 60_000,
          onError: (err, retryInMs) => faults.retrying('housekeeping', err, retryInMs),
        })
      })()
      return started
    },
    listen: () =>
      new Promise((resolve, reject) => {
        requireStarted('listen')
        // Not ready before the live stream is: a wall sent here by /readyz would be refused.
        if (!config.simulate) ready = false
        server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
          // Every connection, upgraded ones included: a stop cuts those still open after its grace.
          ;(server as unknown as HttpServer).on('connection', (socket: NetSocket) => {
            connections.add(socket)
            socket.once('close', () => connections.delete(socket))
          })
          port = info.port
          live = (opts.live ?? createLiveServer)({
            httpServer: server as unknown as HttpServer,
            state: liveState,
            store,
            tokens,
            city,
            clock,
            timeZone: tz,
            logger,
            allowedOrigins: config.allowedOrigins,
            trustProxy: config.rateLimits.trustProxy,
            ...(adapterClient
              ? { adapter: createAdapter(adapterClient, { streamName: `${prefix}:socket.io` }) }
              : {}),
            ...config.liveLimits,
            onError: (op, err) => faults.report(`live.${op}`, err),
          })
          // The live stream starts once the store is settled: now, or after the backfill.
          ;(config.simulate ? Promise.resolve() : startLive().then(() => void (ready = true))).then(
            () => resolve(info.port),
            reject,
          )
        })
        server.once('error', reject)
      }),
    async startSimulation(onProgress) {
      requireStarted('startSimulation')
      if (!simulator) return
      const report = (p: Parameters<SimProgress>[0]) => {
        startup = { phase: p.phase, done: p.done, total: p.total }
        onProgress?.(p)
      }
      if (lagTimer) clearInterval(lagTimer)
      lagTimer = setInterval(() => simLag.set((clock.now() - simulator.until) / 1000), 5000)
      lagTimer.unref()
      // Whoever takes the lease catches up from where the last holder stopped (the simulator plans
      // from the store, as after a restart) and runs; whoever loses it stops after its slice.
      let turn: Promise<void> = Promise.resolve()
      const take = (held: boolean): void => {
        turn = turn.then(async () => {
          if (stopStart.signal.aborted) return
          if (!held) {
            await stopSim?.()
            stopSim = null
            logger.warn('simulator lease lost: the simulator stops here')
            return
          }
          if (stopSim || !lease.held) return
          logger.info('simulator lease taken: catching up and running the simulator here')
          starting = simulator.start(report, stopStart.signal)
          await starting
          if (stopStart.signal.aborted || !lease.held) return
          stopSim = simulator.run()
        })
      }
      // The first start waits for the lease's first answer. The holder backfills before it serves
      // (the walls show its progress); a follower serves at once what the holder writes.
      const first = lease.held
        ? Promise.resolve(true)
        : new Promise<boolean>((resolve) => {
            // Whichever comes first ends the wait, and clears the other (no timer outlives it).
            const off = lease.onChange((held) => {
              off()
              clearTimeout(wait)
              resolve(held)
            })
            const wait = setTimeout(() => {
              off()
              resolve(lease.held)
            }, 3000)
            wait.unref()
          })
      if (await first) {
        starting = simulator.start(report, stopStart.signal)
        await starting
        // Stopped during the backfill (SIGTERM): the store is closing, nothing more may start.
        if (stopStart.signal.aborted) return
        await startLive()
        ready = true
        if (lease.held) stopSim = simulator.run()
      } else {
        await startLive()
        ready = true
      }
      // The lease may have changed hands while the live stream started, before anyone listened:
      // act on where it stands now, as if the change had been heard.
      lease.onChange(take)
      if (lease.held !== Boolean(stopSim)) take(lease.held)
    },
    reportError: faults.report,
    async stop(onPhase = () => undefined) {
      // A backfill or catch-up still running ends after its slice in progress has committed.
      onPhase('start')
      stopped = true
      stopStart.abort()
      // A start() still connecting the bus finishes first, so that what it starts is stopped below.
      await started?.catch(() => undefined)
      await starting.catch(() => undefined)
      onPhase('housekeeping')
      if (revocations) clearInterval(revocations)
      if (lagTimer) clearInterval(lagTimer)
      await stopHousekeeping?.()
      // 1. Stop accepting: the port is free for the next process at once. The callback comes when
      // the last connection has ended; keep-alive connections are closed as soon as they are idle
      // (else each would hold the exit for its keep-alive timeout).
      const http = server as unknown as HttpServer | null
      const closed = new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()))
      const idle = setInterval(() => http?.closeIdleConnections(), 50)
      // 2. Finish writes: the simulator's slice in progress commits, and its changes still go out.
      onPhase('simulator')
      await stopSim?.()
      await lease.stop()
      // 3. Close the live transports (no disconnect packet: the clients reconnect by themselves),
      // then wait for the requests in flight to be answered.
      // Not longer than the grace: a WebSocket whose client never answers the close frame (a frozen
      // network, a client that stopped reading) would hold the stop for the ws library's 30 s.
      const cut = setTimeout(() => {
        if (connections.size)
          logger.warn(
            { connections: connections.size },
            'connections still open after the grace: cutting them',
          )
        for (const c of connections) c.destroy()
      }, SHUTDOWN_GRACE_MS)
      onPhase('live')
      await live?.close()
      onPhase('feed')
      await feed.stop()
      onPhase('http')
      await closed
      clearTimeout(cut)
      clearInterval(idle)
      onPhase('redis')
      await bus?.stop()
      adapterClient?.disconnect()
      onPhase('store')
      await kpis.close()
      await store.close()
      dataDir?.release()
    },
  }
}
