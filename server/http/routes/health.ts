/** Liveness, readiness (with the start's progress while not ready) and Prometheus metrics. */
import { Hono } from 'hono'
import type { AppDeps, AppEnv, StartupProgress } from '../context.ts'

/** The progress `/readyz` reports while starting; `percent` is whole and reaches 100 only when done. */
export function progressOf(p: StartupProgress | null): (StartupProgress & { percent: number }) | null {
  if (!p) return null
  const percent = p.total > 0 ? Math.min(100, Math.floor((p.done / p.total) * 100)) : 100
  return { ...p, percent }
}

export function healthRoutes(deps: AppDeps) {
  return new Hono<AppEnv>()
    .get('/healthz', (c) => c.json({ status: 'ok' }))
    .get('/readyz', async (c) => {
      // A store that is failing (busy, full, read-only) takes the process out of a load balancer
      // until housekeeping finds it writable again.
      if (deps.storeHealthy?.() === false) {
        c.header('retry-after', '5')
        return c.json(
          {
            status: 'unavailable',
            error: {
              code: 'store_unavailable',
              message:
                c.get('lang') === 'en'
                  ? 'the store is temporarily unavailable (busy, full or read-only)'
                  : '存储暂时不可用（繁忙、磁盘已满或只读）',
            },
          },
          503,
        )
      }
      if (!deps.isReady())
        return c.json(
          {
            status: 'starting',
            progress: progressOf(deps.startup?.() ?? null),
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
