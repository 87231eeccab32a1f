/** Liveness, readiness and Prometheus metrics. */
import { Hono } from 'hono'
import type { AppDeps, AppEnv } from '../context.ts'

export function healthRoutes(deps: AppDeps) {
  return new Hono<AppEnv>()
    .get('/healthz', (c) => c.json({ status: 'ok' }))
    .get('/readyz', async (c) => {
      if (!deps.isReady())
        return c.json(
          {
            status: 'starting',
            error: {
              code: 'not_ready',
              message:
                c.get('lang') === 'en'
                  ? 'starting: store opening or backfill running'
                  : '正在启动：存储打开或历史数据回填中',
            },
          },
          503,
        )
      return c.json({ status: 'ready', seq: await deps.store.lastSeq(), store: deps.store.kind })
    })
    .get('/metrics', async (c) => {
      c.header('content-type', deps.registry.contentType)
      return c.body(await deps.registry.metrics())
    })
}
