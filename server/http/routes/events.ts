/** Events: list, one with its timeline, report, act; the change log. */
import type { ChangeView, ChangesPage, EventDetail, EventsPage } from '../../../shared/api.ts'
import { Hono } from 'hono'
import {
  actionSchema,
  changesQuerySchema,
  eventsQuerySchema,
  reportEventSchema,
} from '../../../shared/schemas.ts'
import type { Actor, Change, EventAction } from '../../../shared/types.ts'
import type { Principal } from '../../auth/tokens.ts'
import { AppError, notFound } from '../../errors.ts'
import type { AppDeps, AppEnv } from '../context.ts'
import { assertRegionAllowed, jsonBody, parse, requireRole } from '../middleware.ts'
import { renderChange, renderEvent } from '../render.ts'

const READERS = ['admin', 'officer', 'leader'] as const
const WRITERS = ['admin', 'officer', 'ingest'] as const

const encodeCursor = (reportedAt: number, id: string): string =>
  Buffer.from(`${reportedAt}:${id}`).toString('base64url')
function decodeCursor(cursor: string): { reportedAt: number; id: string } {
  const m = /^(\d+):(E\d+)$/.exec(Buffer.from(cursor, 'base64url').toString())
  if (!m) throw new AppError(400, 'invalid_query', { zh: '分页游标无效', en: 'invalid cursor' })
  return { reportedAt: Number(m[1]), id: m[2]! }
}

/** Who a request's token is, as recorded on the changes it makes (the fixed admin token is `admin`). */
const actorOf = (p: Principal): Actor => ({ kind: 'token', id: p.jti ?? 'admin', role: p.role })

/** Whether a principal may take `action`: an ingest source only those its token names. */
const mayTake = (p: Principal, action: EventAction): boolean =>
  p.role !== 'ingest' || (p.actions ?? []).includes(action)

export function eventRoutes(deps: AppDeps) {
  const tz = deps.calendar.timeZone
  const readers = requireRole(deps.tokens, READERS)
  const writers = requireRole(deps.tokens, WRITERS)
  /** A change of the log or a timeline, with who made it (null for changes logged before actors were). */
  const change = (ch: Change): ChangeView => ({ ...renderChange(ch, tz), actor: ch.actor })
  return new Hono<AppEnv>()
    .get('/events', readers, async (c) => {
      const q = parse(eventsQuerySchema, c.req.query(), 'invalid_query')
      const scope = c.get('principal').region
      const region = q.region ?? scope
      if (region) assertRegionAllowed(c, region)
      if (region && !deps.city.region(region))
        throw notFound({ zh: `区域 ${region}`, en: `region ${region}` })
      const rows = await deps.store.listEvents({
        ...(region ? { region } : {}),
        ...(q.status ? { statuses: q.status } : {}),
        ...(q.category ? { categories: q.category } : {}),
        ...(q.source ? { sources: q.source } : {}),
        ...(q.overdue ? { overdueAt: deps.clock.now() } : {}),
        ...(q.from !== undefined ? { from: q.from } : {}),
        ...(q.to !== undefined ? { to: q.to } : {}),
        ...(q.cursor ? { before: decodeCursor(q.cursor) } : {}),
        limit: q.limit + 1,
      })
      const page = rows.slice(0, q.limit)
      const last = page.at(-1)
      const now = deps.clock.now()
      const role = c.get('principal').role
      return c.json({
        events: page.map((e) => renderEvent(e, role, tz, now)),
        next: rows.length > q.limit && last ? encodeCursor(last.reportedAt, last.id) : null,
      } satisfies EventsPage)
    })
    .get('/events/:id', readers, async (c) => {
      const id = c.req.param('id')
      const e = await deps.store.getEvent(id)
      if (!e) throw notFound({ zh: `事件 ${id}`, en: `event ${id}` })
      assertRegionAllowed(c, e.gridCode)
      const timeline = await deps.store.timeline(id)
      return c.json({
        ...renderEvent(e, c.get('principal').role, tz, deps.clock.now()),
        timeline: timeline.map(change),
      } satisfies EventDetail)
    })
    .post('/events', writers, async (c) => {
      const body = parse(reportEventSchema, await jsonBody(c), 'invalid_body')
      const key = c.req.header('idempotency-key')
      if (key !== undefined && (key.length === 0 || key.length > 200))
        throw new AppError(400, 'bad_request', {
          zh: 'Idempotency-Key 长度须为 1–200',
          en: 'Idempotency-Key must be 1–200 characters',
        })
      const p = c.get('principal')
      // A key belongs to the principal that used it: another cannot read that event by guessing it.
      const scopedKey = key === undefined ? undefined : `${p.jti ?? 'admin'}:${key}`
      const r = await deps.events.report(body, scopedKey, {
        ...(p.region ? { scope: p.region } : {}),
        actor: actorOf(p),
      })
      return c.json(renderEvent(r.event, p.role, tz, deps.clock.now()), r.created ? 201 : 200)
    })
    .post('/events/:id/actions', writers, async (c) => {
      const body = parse(actionSchema, await jsonBody(c), 'invalid_body')
      if (!mayTake(c.get('principal'), body.action))
        throw new AppError(403, 'forbidden', {
          zh: `此令牌无权执行操作 ${body.action}`,
          en: `this token may not take the action ${body.action}`,
        })
      const id = c.req.param('id')
      const current = await deps.store.getEvent(id)
      if (!current) throw notFound({ zh: `事件 ${id}`, en: `event ${id}` })
      assertRegionAllowed(c, current.gridCode)
      const r = await deps.events.act(id, body, undefined, actorOf(c.get('principal')))
      return c.json(renderEvent(r.event, c.get('principal').role, tz, deps.clock.now()))
    })
    .get('/changes', readers, async (c) => {
      const q = parse(changesQuerySchema, c.req.query(), 'invalid_query')
      const scope = c.get('principal').region
      const rows = await deps.store.listChanges(q.after, q.limit)
      const last = rows.at(-1)
      return c.json({
        changes: rows.filter((ch) => !scope || ch.gridCode.startsWith(scope)).map(change),
        next: last ? last.seq : q.after,
      } satisfies ChangesPage)
    })
}
