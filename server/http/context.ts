/** What the HTTP layer is built from, and the per-request variables it sets. */
import type { Registry } from 'prom-client'
import type { Logger } from 'pino'
import type { ScoreWeights } from '../../shared/kpis.ts'
import type { Clock } from '../../shared/types.ts'
import type { WorkCalendar } from '../../shared/working-time.ts'
import type { Principal, TokenService } from '../auth/tokens.ts'
import type { CityIndex } from '../city/city-index.ts'
import type { EventService } from '../domain/event-service.ts'
import type { KpiService } from '../domain/kpi-service.ts'
import type { PatrolService } from '../domain/patrol-service.ts'
import type { Store } from '../store/store.ts'

export interface AppDeps {
  store: Store
  clock: Clock
  calendar: WorkCalendar
  weights: ScoreWeights
  city: CityIndex
  events: EventService
  kpis: KpiService
  patrol: PatrolService
  tokens: TokenService
  registry: Registry
  logger: Logger
  /** False until the store is open and the backfill has finished. */
  isReady: () => boolean
  /** False while the store fails to take writes (`Store.health`): /readyz should answer 503 then. */
  storeHealthy?: () => boolean
  /** How far the start has got while not ready (null before the simulator's first report). */
  startup?: () => StartupProgress | null
  /** How fast the product's clock runs against real time (SIM_SPEED with the simulator, else 1). */
  clockSpeed: number
  /** Public base URL used in links (e.g. http://localhost:8080). */
  baseUrl: () => string
  /** Live clients connected to every process (through the adapter), by role; null before the live stream starts. */
  liveClients?: () => Promise<LiveClients | null>
}

/** See `AppDeps.liveClients`. */
export interface LiveClients {
  total: number
  byRole: Record<string, number>
  /** Processes that answered (1 without the Redis adapter). */
  processes: number
}

/** The simulator's start: simulated ms done of the total to backfill or catch up. */
export interface StartupProgress {
  phase: 'backfill' | 'catch-up'
  done: number
  total: number
}

export type Lang = 'zh' | 'en'

export interface AppEnv {
  Variables: {
    principal: Principal
    lang: Lang
    /**
     * Who may frame an embed page (`frame-ancestors`), set by the embed page gate once it has read
     * the token; unset, the page may not be framed at all (see `securityHeaders`).
     */
    frameAncestors: readonly string[] | undefined
  }
}
