/**
 * `/api/docs` (a readable page) and `/api/openapi.json` (OpenAPI 3.1), generated from the same
 * zod schemas that validate requests, so the documentation cannot drift from the code.
 */
import { Hono } from 'hono'
import { html, raw } from 'hono/html'
import { z } from 'zod'
import {
  actionSchema,
  briefQuerySchema,
  changesQuerySchema,
  embedTokenRequestSchema,
  eventsQuerySchema,
  kpisQuerySchema,
  positionsSchema,
  rankingsQuerySchema,
  reportEventSchema,
  tokenRequestSchema,
} from '../../../shared/schemas.ts'
import type { AppEnv } from '../context.ts'
import { reportLangSchema } from './reports.ts'

type Op = {
  method: 'get' | 'post' | 'delete'
  path: string
  summary: { zh: string; en: string }
  roles: string
  query?: z.ZodType
  body?: z.ZodType
}

const OPS: Op[] = [
  { method: 'get', path: '/healthz', summary: { zh: '存活检查', en: 'Liveness' }, roles: '—' },
  {
    method: 'get',
    path: '/readyz',
    summary: { zh: '就绪检查（回填完成后）', en: 'Readiness (after the backfill)' },
    roles: '—',
  },
  {
    method: 'get',
    path: '/metrics',
    summary: { zh: 'Prometheus 指标', en: 'Prometheus metrics' },
    roles: '—',
  },
  {
    method: 'get',
    path: '/api/v1/regions/{code}',
    summary: { zh: '区域及其下级', en: 'A region with its children' },
    roles: 'any',
  },
  {
    method: 'get',
    path: '/api/v1/regions/{code}/geo',
    summary: { zh: '下级区域 GeoJSON', en: 'GeoJSON of its children' },
    roles: 'any',
  },
  {
    method: 'get',
    path: '/api/v1/categories',
    summary: { zh: '事件类别与处置时限', en: 'Event categories and time limits' },
    roles: 'any',
  },
  {
    method: 'get',
    path: '/api/v1/events',
    summary: { zh: '事件列表（游标分页）', en: 'Events (cursor paging)' },
    roles: 'admin, officer, leader',
    query: eventsQuerySchema,
  },
  {
    method: 'get',
    path: '/api/v1/events/{id}',
    summary: {
      zh: '事件详情与全流程时间线（每步含操作者 actor）',
      en: 'One event with its timeline (each step names its actor)',
    },
    roles: 'admin, officer, leader',
  },
  {
    method: 'post',
    path: '/api/v1/events',
    summary: {
      zh: '上报事件（支持 Idempotency-Key）；reportedAt 早于 REPORT_MAX_AGE_HOURS（默认 72）小时前返回 422 invalid_field',
      en: 'Report an event (honours Idempotency-Key); a reportedAt more than REPORT_MAX_AGE_HOURS (default 72) hours back is 422 invalid_field',
    },
    roles: 'admin, officer, ingest',
    body: reportEventSchema,
  },
  {
    method: 'post',
    path: '/api/v1/events/{id}/actions',
    summary: {
      zh: '流程操作；非法流转返回 409 invalid_transition，包括期限之后的延期（extend），以及派遣后超过 RETURN_WINDOW_HOURS（默认 2）个工作小时或期限之后的回退（return）',
      en: 'A lifecycle action; 409 invalid_transition for a forbidden move, including an extend after the deadline in force and a return more than RETURN_WINDOW_HOURS (default 2) working hours after the latest dispatch or after the deadline',
    },
    roles: 'admin, officer, ingest',
    body: actionSchema,
  },
  {
    method: 'get',
    path: '/api/v1/changes',
    summary: {
      zh: '持久变更日志（seq 连续递增）；actor 为操作者：{kind:"token",id,role}（固定管理员令牌 id 为 admin）、{kind:"system",id:"simulator",source} 或 null（记录操作者之前的变更）',
      en: 'The durable change log (gap-free seq); actor names who made each change: {kind:"token",id,role} (the fixed admin token has id admin), {kind:"system",id:"simulator",source}, or null (changes logged before actors were recorded)',
    },
    roles: 'admin, officer, leader',
    query: changesQuerySchema,
  },
  {
    method: 'get',
    path: '/api/v1/kpis',
    summary: {
      zh: '绩效指标（默认今日）；?at= 按该时刻及之前的变更计算，未给时段时为 at 所在的本地自然日，seq 为 at 及之前的最后一条变更',
      en: 'KPIs (default: today); ?at= counts the changes made at or before at, over the local day of at when no period is given, and seq is the last change at or before at',
    },
    roles: 'any',
    query: kpisQuerySchema,
  },
  {
    method: 'get',
    path: '/api/v1/rankings',
    summary: { zh: '街道/社区排名（默认本月）', en: 'Street/community ranking (default: this month)' },
    roles: 'any',
    query: rankingsQuerySchema,
  },
  {
    method: 'get',
    path: '/api/v1/brief',
    summary: {
      zh: '领导简报：区域某时段的指标、环比、同比、走势、下级排名与超期事件（默认本月；?at= 回溯到该时刻）',
      en: 'The briefing: a region’s figures over a period with 环比 (vs the previous period), 同比 (vs a year before), their course, its units ranked and the worst overdue events (default: this month; ?at= as it stood then)',
    },
    roles: 'admin, officer, leader',
    query: briefQuerySchema,
  },
  {
    method: 'get',
    path: '/api/v1/reports/brief.pdf',
    summary: {
      zh: '领导决策简报 A4 PDF（与 /api/v1/brief 相同的查询参数，另加 lang=zh|en，默认 zh）；附件下载，带 Content-Length',
      en: 'The leadership briefing as an A4 PDF (the query of /api/v1/brief plus lang=zh|en, default zh); an attachment with its Content-Length',
    },
    roles: 'admin, officer, leader',
    // The refinements of the brief's query (a custom period needs from and to) are the route's to check.
    query: z.object({ ...briefQuerySchema.shape, ...reportLangSchema.shape }),
  },
  {
    method: 'post',
    path: '/api/v1/positions',
    summary: { zh: '网格员位置上报', en: 'Patrol positions' },
    roles: 'admin, ingest',
    body: positionsSchema,
  },
  {
    method: 'post',
    path: '/api/v1/tokens',
    summary: { zh: '签发令牌', en: 'Mint a token' },
    roles: 'admin',
    body: tokenRequestSchema,
  },
  {
    method: 'post',
    path: '/api/v1/embed-tokens',
    summary: {
      zh: '签发门户嵌入令牌（面板、区域、可嵌入的来源；key 最长 365 天，signed 最长 24 小时）→ {token, url, id, …}',
      en: 'Mint a portal embed token (panels, region, the origins that may frame it; a key lives at most 365 days, a signed URL 24 hours) → {token, url, id, …}',
    },
    roles: 'admin',
    body: embedTokenRequestSchema,
  },
  {
    method: 'get',
    path: '/api/v1/embed-tokens',
    summary: {
      zh: '列出未过期的嵌入令牌（不含令牌本身）',
      en: 'List the embed tokens not expired (never a token itself)',
    },
    roles: 'admin',
  },
  {
    method: 'delete',
    path: '/api/v1/embed-tokens/{id}',
    summary: {
      zh: '吊销嵌入令牌：页面立即拒绝，已打开的实时连接数秒内断开',
      en: 'Revoke an embed token: its pages are refused at once, its open live sockets dropped within seconds',
    },
    roles: 'admin',
  },
]

const jsonSchema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' })

function openApi() {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const op of OPS) {
    const params = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }))
    const q = op.query
      ? (jsonSchema(op.query) as { properties?: Record<string, unknown>; required?: string[] })
      : null
    for (const [name, schema] of Object.entries(q?.properties ?? {}))
      params.push({ name, in: 'query', required: q?.required?.includes(name) ?? false, schema } as never)
    ;(paths[op.path] ??= {})[op.method] = {
      summary: op.summary.en,
      description: `${op.summary.zh}. Roles: ${op.roles}`,
      ...(params.length ? { parameters: params } : {}),
      ...(op.body
        ? {
            requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(op.body) } } },
          }
        : {}),
      responses: {
        '200': { description: 'OK' },
        '4XX': { description: '{"error":{"code","message","details"?}}' },
      },
    }
  }
  return {
    openapi: '3.1.0',
    info: { title: 'City Brain API', version: '1' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  }
}

export function docsRoutes() {
  const doc = openApi()
  return new Hono<AppEnv>()
    .get('/api/openapi.json', (c) => c.json(doc))
    .get('/api/docs', (c) => {
      const en = c.get('lang') === 'en'
      const rows = OPS.map(
        (op) =>
          `<tr><td><code>${op.method.toUpperCase()}</code></td><td><code>${op.path}</code></td><td>${en ? op.summary.en : op.summary.zh}</td><td>${op.roles}</td></tr>`,
      ).join('')
      return c.html(
        html`<!doctype html>
          <html lang="${en ? 'en' : 'zh-CN'}">
            <head>
              <meta charset="utf-8" />
              <title>${en ? 'City Brain API' : '城市大脑接口文档'}</title>
              <style>
                body {
                  font-family: system-ui, sans-serif;
                  background: #0b1220;
                  color: #e6edf7;
                  margin: 2rem auto;
                  max-width: 70rem;
                  padding: 0 1rem;
                }
                td,
                th {
                  border-bottom: 1px solid #243049;
                  padding: 0.4rem 0.6rem;
                  text-align: left;
                }
                a {
                  color: #5cc8ff;
                }
                table {
                  border-collapse: collapse;
                  width: 100%;
                }
              </style>
            </head>
            <body>
              <h1>${en ? 'City Brain API' : '城市大脑接口文档'}</h1>
              <p>
                ${en ? 'Send the token as Authorization: Bearer …, or ?token= on page URLs. Errors are JSON {"error":{"code","message","details"?}}; add ?lang=en for English messages. Live updates: Socket.IO namespace /live.' : '令牌通过 Authorization: Bearer … 或页面地址的 ?token= 传递。错误统一为 JSON {"error":{"code","message","details"?}}，加 ?lang=en 返回英文。实时推送：Socket.IO 命名空间 /live。'}
                <a href="/api/openapi.json">OpenAPI 3.1</a>
              </p>
              <table>
                <thead>
                  <tr>
                    <th>${en ? 'Method' : '方法'}</th>
                    <th>${en ? 'Path' : '路径'}</th>
                    <th>${en ? 'What' : '说明'}</th>
                    <th>${en ? 'Roles' : '角色'}</th>
                  </tr>
                </thead>
                <tbody>
                  ${raw(rows)}
                </tbody>
              </table>
            </body>
          </html>`,
      )
    })
}
