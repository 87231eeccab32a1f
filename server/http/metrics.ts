/** Prometheus metrics: request counts and latencies by route. */
import type { MiddlewareHandler } from 'hono'
import { routePath } from 'hono/route'
import { Counter, Histogram, type Registry } from 'prom-client'
import type { AppEnv } from './context.ts'

export function httpMetrics(registry: Registry): MiddlewareHandler<AppEnv> {
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  })
  const latency = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  })
  return async function httpMetrics(c, next) {
    const start = performance.now()
    await next()
    const route = routePath(c) || 'unmatched'
    requests.inc({ method: c.req.method, route, status: String(c.res.status) })
    latency.observe({ method: c.req.method, route }, (performance.now() - start) / 1000)
  }
}
