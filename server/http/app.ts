/** The HTTP application: sub-apps per domain, mounted on one Hono app. No ports opened here. */
import { briefRoutes } from './routes/brief.ts'
import { Hono } from 'hono'
import { AppError } from '../errors.ts'
import type { AppDeps, AppEnv } from './context.ts'
import { embedPageGate } from './embed.ts'
import { detectLang, errorHandler, headerTokenOnly } from './middleware.ts'
import { adminRoutes } from './routes/admin.ts'
import { docsRoutes } from './routes/docs.ts'
import { embedDemoRoutes } from './routes/embed-demo.ts'
import { embedDataRoutes } from './routes/embed-data.ts'
import { embedTokenRoutes } from './routes/embed-tokens.ts'
import { eventRoutes } from './routes/events.ts'
import { healthRoutes } from './routes/health.ts'
import { homeRoutes } from './routes/home.ts'
import { kpiRoutes } from './routes/kpis.ts'
import { regionRoutes } from './routes/regions.ts'
import { reportRoutes } from './routes/reports.ts'
import { staticRoutes } from './routes/static.ts'
import { wallDataRoutes } from './routes/wall-data.ts'
import { httpMetrics } from './metrics.ts'
import {
  DEFAULT_BODY_LIMIT_BYTES,
  DEFAULT_RATE_LIMITS,
  privateCaching,
  rateLimits,
  requestBodyLimit,
  securityHeaders,
  type RateLimitOptions,
} from './security.ts'

/** HTTP hardening settings (server/config.ts); defaults in security.ts. */
export interface AppOptions {
  rateLimits?: RateLimitOptions
  bodyLimitBytes?: number
}

export function createApp(deps: AppDeps, opts: AppOptions = {}) {
  const app = new Hono<AppEnv>()
  app.use(detectLang())
  app.use(httpMetrics(deps.registry))
  app.use(securityHeaders())
  app.use(privateCaching())
  app.use('/api/*', rateLimits(deps.tokens, opts.rateLimits ?? DEFAULT_RATE_LIMITS))
  app.use('/api/*', headerTokenOnly())
  app.use(requestBodyLimit(opts.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES))
  app.onError(errorHandler((err) => deps.logger.error({ err }, 'request failed')))
  app.notFound((c) => {
    const e = new AppError(404, 'not_found', {
      zh: `路径 ${c.req.path} 不存在`,
      en: `no route for ${c.req.path}`,
    })
    return c.json({ error: { code: e.code, message: e.messages[c.get('lang') ?? 'zh'] } }, 404)
  })
  app.route('/', healthRoutes(deps))
  app.route('/', homeRoutes(deps))
  app.route('/', docsRoutes())
  app.route('/', embedDemoRoutes(deps))
  app.route('/', staticRoutes({ embedGate: embedPageGate(deps) }))
  // Before the region routes: it answers `/regions/{code}/geo?level=` and passes the rest on.
  app.route('/api/v1', wallDataRoutes(deps))
  app.route('/api/v1', regionRoutes(deps))
  app.route('/api/v1', eventRoutes(deps))
  app.route('/api/v1', kpiRoutes(deps))
  app.route('/api/v1', briefRoutes(deps))
  app.route('/api/v1', reportRoutes(deps))
  app.route('/api/v1', adminRoutes(deps))
  app.route('/api/v1', embedTokenRoutes(deps))
  app.route('/api/v1', embedDataRoutes(deps))
  return app
}
