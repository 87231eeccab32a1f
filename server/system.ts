/**
 * Wires the system from a config: store, city, services, simulator, HTTP server.
 * `server/main.ts` is the only caller that reads env and handles signals; tests call this directly.
 */
import { serve, type ServerType } from '@hono/node-server'
import { randomBytes } from 'node:crypto'
import type { Server as HttpServer } from 'node:http'
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
  /** Listen on config.port; resolves with the bound port. */
  listen(): Promise<number>
  /** Backfill / catch up, then start the live simulator (when enabled). */
  startSimulation(onProgress?: SimProgress): Promise<void>
  /** Log and count an error the process survives (city_brain_store_errors_total). */
  reportError(op: string, err: unknown): void
  /** Stop gracefully; `onPhase` hears each step as it begins (a stuck shutdown can say where). */
  stop(onPhase?: (phase: string) => void): Promise<void>
}

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
  } = {},
): Promise<System> {
  const logger = opts.logger ?? pino({ level: config.logLevel })
  const cityPath = join(here, 'cities', `${config.city}.json`)
  if (!existsSync(cityPath))
    throw new Error(
      `no city file for ${config.city} at ${cityPath}: generate it with npm run city -- ${config.city}`,
    )
  const city = createCityIndex(loadCityFile(cityPath))
  if (config.databaseUrl) throw new Error('DATABASE_URL (PostgreSQL) is not supported yet by this build')
  const faults = createFaultReporter(logger)
  // One process per data directory (a second would number changes from its own view of the log).
  const dataDir = lockDataDir(config.dataDir)
  const store = createSqliteStore(join(config.dataDir, 'city-brain.sqlite'), { onError: faults.report })
  await store.migrate().catch(async (err: unknown) => {
    await store.close()
    dataDir.release()
    throw err
  })
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

  let secret = await store.getMeta('token.secret')
  if (!secret) await store.setMeta('token.secret', (secret = randomBytes(32).toString('base64')))
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
  // KPI reads run in a worker thread over a read-only connection: they never block the event loop.
  const kpis = createKpiService({
    store,
    clock,
    calendar,
    city,
    weights: config.weights,
    patrolMidday: config.patrolMidday,
    positionRetentionDays: config.positionRetentionDays,
    offload: createKpiOffload({
      dbFile: join(config.dataDir, 'city-brain.sqlite'),
      cityFile: cityPath,
      calendar,
      weights: config.weights,
      patrolMidday: config.patrolMidday,
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
  const feed = createChangeFeed(store, { onError: (err) => faults.report('feed', err) })
  feed.subscribe((items) => lastSeq.set(items.at(-1)!.change.seq))

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
    await live.start({ feed, onIngest: patrol.onIngest })
  }
  // Hourly; after a failure, or while the store fails, sooner: a successful write clears the failure.
  const stopHousekeeping = startHousekeeping({
    tasks: [
      () => (store.health().ok ? Promise.resolve() : store.setMeta('store.checked', String(Date.now()))),
      patrol.prune,
      store.pruneIdempotencyKeys,
    ],
    healthy: () => store.health().ok,
    everyMs: 3_600_000,
    retryMs: 1000,
    maxRetryMs: 60_000,
    onError: (err, retryInMs) => faults.retrying('housekeeping', err, retryInMs),
  })

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
    listen: () =>
      new Promise((resolve, reject) => {
        server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
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
            ...config.liveLimits,
            onError: (op, err) => faults.report(`live.${op}`, err),
          })
          // The live stream starts once the store is settled: now, or after the backfill.
          ;(ready ? startLive() : Promise.resolve()).then(() => resolve(info.port), reject)
        })
        server.once('error', reject)
      }),
    async startSimulation(onProgress) {
      if (!simulator) return
      starting = simulator.start((p) => {
        startup = { phase: p.phase, done: p.done, total: p.total }
        onProgress?.(p)
      }, stopStart.signal)
      await starting
      // Stopped during the backfill (SIGTERM): the store is closing, nothing more may start.
      if (stopStart.signal.aborted) return
      await startLive()
      ready = true
      stopSim = simulator.run()
      const lagTimer = setInterval(() => simLag.set((clock.now() - simulator.until) / 1000), 5000)
      lagTimer.unref()
    },
    reportError: faults.report,
    async stop(onPhase = () => undefined) {
      // A backfill or catch-up still running ends after its slice in progress has committed.
      onPhase('start')
      stopStart.abort()
      await starting.catch(() => undefined)
      onPhase('housekeeping')
      await stopHousekeeping()
      // 1. Stop accepting: the port is free for the next process at once. The callback comes when
      // the last connection has ended; keep-alive connections are closed as soon as they are idle
      // (else each would hold the exit for its keep-alive timeout).
      const http = server as unknown as HttpServer | null
      const closed = new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()))
      const idle = setInterval(() => http?.closeIdleConnections(), 50)
      // 2. Finish writes: the simulator's slice in progress commits, and its changes still go out.
      onPhase('simulator')
      await stopSim?.()
      // 3. Close the live transports (no disconnect packet: the clients reconnect by themselves),
      // then wait for the requests in flight to be answered.
      onPhase('live')
      await live?.close()
      onPhase('feed')
      await feed.stop()
      onPhase('http')
      await closed
      clearInterval(idle)
      onPhase('store')
      await kpis.close()
      await store.close()
      dataDir.release()
    },
  }
}
