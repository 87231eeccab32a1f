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
import type { Clock } from '../shared/types.ts'
import { startOfLocalDay, zoneOffset } from '../shared/working-time.ts'
import { createTokenService, type TokenService } from './auth/tokens.ts'
import { createCityIndex, loadCityFile, type CityIndex } from './city/city-index.ts'
import type { Config } from './config.ts'
import { createEventService, type EventService } from './domain/event-service.ts'
import { createKpiService } from './domain/kpi-service.ts'
import { createPatrolService } from './domain/patrol-service.ts'
import { createApp } from './http/app.ts'
import { createLiveServer, type LiveServer } from './live/live-server.ts'
import { createLiveState } from './live/live-state.ts'
import { createNaiveLiveServer } from './live/naive-live.ts'
import { createSimulator, type SimProgress, type Simulator } from './sim/simulator.ts'
import { createSqliteStore } from './store/sqlite-store.ts'
import type { Store } from './store/store.ts'

const here = dirname(fileURLToPath(import.meta.url))

export interface System {
  store: Store
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
  stop(): Promise<void>
}

/** The simulated clock: real time, accelerated by `speed` from `origin`, never going back. */
export function createSimClock(speed: number, origin: number, realNow: () => number = Date.now): Clock {
  const realStart = realNow()
  return { now: () => Math.floor(origin + (realNow() - realStart) * speed) }
}

export async function createSystem(
  config: Config,
  opts: { logger?: Logger; clock?: Clock } = {},
): Promise<System> {
  const logger = opts.logger ?? pino({ level: config.logLevel })
  const cityPath = join(here, 'cities', `${config.city}.json`)
  if (!existsSync(cityPath))
    throw new Error(
      `no city file for ${config.city} at ${cityPath}: generate it with npm run city -- ${config.city}`,
    )
  const city = createCityIndex(loadCityFile(cityPath))
  if (config.databaseUrl) throw new Error('DATABASE_URL (PostgreSQL) is not supported yet by this build')
  const store = createSqliteStore(join(config.dataDir, 'city-brain.sqlite'))
  await store.migrate()
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
    ...(config.adminToken ? { adminToken: config.adminToken } : {}),
  })

  const calendar = config.calendar
  const tz = calendar.timeZone
  const events = createEventService({ store, clock, calendar, city })
  const patrol = createPatrolService({ store, clock, city, retentionDays: config.positionRetentionDays })
  const kpis = createKpiService({ store, clock, calendar, city, weights: config.weights })

  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
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
  events.onChange((ch) => lastSeq.set(ch.seq))

  let ready = !config.simulate
  let port = config.port
  const app = createApp({
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
    clockSpeed: opts.clock ? 1 : speed,
    baseUrl: () => config.publicUrl ?? `http://localhost:${port}`,
  })

  const simulator = config.simulate
    ? createSimulator({
        store,
        clock,
        calendar,
        city,
        events,
        patrol,
        seed: config.simSeed,
        eventsPerDay: config.simEventsPerDay,
        backfillDays: config.backfillDays,
        tickMs: 1000,
        dayStartOf: (ms) => startOfLocalDay(ms, tz),
        localHour: (ms) => new Date(ms + zoneOffset(ms, tz)).getUTCHours(),
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
    await live.start({ onChange: events.onChange, onIngest: patrol.onIngest })
  }
  const housekeeping = setInterval(() => {
    void patrol.prune().catch((err) => logger.error({ err }, 'position pruning failed'))
  }, 3_600_000)
  housekeeping.unref()

  return {
    store,
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
          live =
            config.liveMode === 'naive'
              ? createNaiveLiveServer({ httpServer: server as unknown as HttpServer, tokens })
              : createLiveServer({
                  httpServer: server as unknown as HttpServer,
                  state: liveState,
                  store,
                  tokens,
                  city,
                  clock,
                  timeZone: tz,
                  logger,
                  allowedOrigins: config.allowedOrigins,
                })
          // The live stream starts once the store is settled: now, or after the backfill.
          ;(ready ? startLive() : Promise.resolve()).then(() => resolve(info.port), reject)
        })
        server.once('error', reject)
      }),
    async startSimulation(onProgress) {
      if (!simulator) return
      await simulator.start(onProgress)
      await startLive()
      ready = true
      stopSim = simulator.run()
      const lagTimer = setInterval(() => simLag.set((clock.now() - simulator.until) / 1000), 5000)
      lagTimer.unref()
    },
    async stop() {
      clearInterval(housekeeping)
      await stopSim?.()
      await live?.close()
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
      await store.close()
    },
  }
}
