/**
 * The domain API for events: every source (HTTP ingestion, Open311, the simulator) reports and acts
 * through here; nothing writes the tables another way.
 */
import { calendarOf, type CalendarSet } from '../../shared/calendars.ts'
import { CATEGORY_BY_CODE } from '../../shared/categories.ts'
import {
  transition,
  type Refusal,
  type ReportPayload,
  type StoredChangeData,
} from '../../shared/lifecycle.ts'
import { isWithin, parseRegionCode } from '../../shared/regions.ts'
import type {
  ActionData,
  Actor,
  Change,
  Clock,
  EventAction,
  EventSource,
  GridEvent,
  Reporter,
} from '../../shared/types.ts'
import { addWorkingTime } from '../../shared/working-time.ts'
import type { CityIndex } from '../city/city-index.ts'
import { AppError, notFound } from '../errors.ts'
import { IdempotencyConflict, type Decision, type Store } from '../store/store.ts'

export interface ReportInput {
  category: string
  description: string
  lat: number
  lng: number
  source: EventSource
  reporter?: Reporter
  gridCode?: string
  reportedAt?: number
}

export interface ActionInput extends ActionData {
  action: EventAction
}

export interface ReportOptions {
  /** A region the report must lie in (the reporting token's scope): 403 before anything is written. */
  scope?: string
  /** Who reports it (recorded on the change). */
  actor?: Actor
  /**
   * History replayed by a system source (the simulator's backfill): `reportedAt` may lie further back
   * than the report age limit. Never set for a client's report.
   */
  backfill?: boolean
}

export interface EventService {
  report(
    input: ReportInput,
    idempotencyKey?: string,
    opts?: ReportOptions,
  ): Promise<{ event: GridEvent; change: Change; created: boolean }>
  /** `actor`: who acts (recorded on the change). */
  act(
    id: string,
    input: ActionInput,
    at?: number,
    actor?: Actor,
  ): Promise<{ event: GridEvent; change: Change }>
}

export interface EventServiceDeps {
  store: Store
  clock: Clock
  /** Deadlines and the return window count on the calendar of the event's category (`calendarOf`). */
  calendars: CalendarSet
  city: CityIndex
  /** 回退 only within this many working hours of the latest dispatch (RETURN_WINDOW_HOURS). */
  returnWindowHours?: number
  /**
   * A report dated more than this many hours back is refused, so a closed period cannot silently
   * change (REPORT_MAX_AGE_HOURS).
   */
  reportMaxAgeHours?: number
}

/** Allowed clock skew of a source's reportedAt into the future. */
const FUTURE_SKEW_MS = 5 * 60_000
export const DEFAULT_RETURN_WINDOW_HOURS = 2
export const DEFAULT_REPORT_MAX_AGE_HOURS = 72

export function createEventService({
  store,
  clock,
  calendars,
  city,
  returnWindowHours = DEFAULT_RETURN_WINDOW_HOURS,
  reportMaxAgeHours = DEFAULT_REPORT_MAX_AGE_HOURS,
}: EventServiceDeps): EventService {
  const resolveGrid = (input: ReportInput): string => {
    if (input.gridCode !== undefined) {
      const parsed = parseRegionCode(input.gridCode)
      if (!parsed.ok || parsed.level !== 'grid' || !city.region(parsed.code)) {
        throw new AppError(422, 'invalid_field', {
          zh: `网格编码 ${input.gridCode} 不是本区的网格`,
          en: `gridCode ${input.gridCode} is not a grid of this district`,
        })
      }
      return parsed.code
    }
    const grid = city.gridAt(input.lng, input.lat)
    if (!grid) {
      throw new AppError(422, 'invalid_field', {
        zh: '事件位置不在本区任何网格内',
        en: 'the location lies outside every grid of this district',
      })
    }
    return grid
  }

  const limitOf = (category: string) => CATEGORY_BY_CODE.get(category)!.limit

  return {
    async report(input, idempotencyKey, opts = {}) {
      if (!CATEGORY_BY_CODE.has(input.category)) {
        throw new AppError(422, 'invalid_field', {
          zh: `未知的事件类别 ${input.category}`,
          en: `unknown category ${input.category}`,
        })
      }
      const now = clock.now()
      const at = input.reportedAt ?? now
      if (at > now + FUTURE_SKEW_MS) {
        throw new AppError(422, 'invalid_field', {
          zh: '上报时间晚于当前时间',
          en: 'reportedAt lies in the future',
        })
      }
      if (!opts.backfill && at < now - reportMaxAgeHours * 3_600_000) {
        throw new AppError(422, 'invalid_field', {
          zh: `上报时间早于 ${reportMaxAgeHours} 小时前：已结束时段的数据不能再补报`,
          en: `reportedAt lies more than ${reportMaxAgeHours} hours in the past: a closed period cannot take late reports`,
        })
      }
      // The grid the report resolves to (from gridCode or the location) is what the scope bounds.
      const gridCode = resolveGrid(input)
      if (opts.scope && !isWithin(gridCode, opts.scope)) {
        throw new AppError(403, 'forbidden', {
          zh: `令牌仅限区域 ${opts.scope}，该事件位于网格 ${gridCode}`,
          en: `the token is limited to region ${opts.scope}; the event lies in grid ${gridCode}`,
        })
      }
      const payload: ReportPayload = {
        category: input.category,
        description: input.description,
        lat: input.lat,
        lng: input.lng,
        gridCode,
        source: input.source,
        ...(input.reporter && (input.reporter.name || input.reporter.phone)
          ? { reporter: input.reporter }
          : {}),
      }
      try {
        return await store.createEvent(payload, at, idempotencyKey, opts.actor)
      } catch (err) {
        if (!(err instanceof IdempotencyConflict)) throw err
        throw new AppError(409, 'conflict', {
          zh: '该 Idempotency-Key 已用于另一内容不同的上报',
          en: 'this Idempotency-Key was already used for a different report',
        })
      }
    },

    async act(id, input, at = clock.now(), actor) {
      const { action, ...fields } = input
      const decide = (current: GridEvent, at: number): Decision<Refusal> => {
        // The category's calendar: its limit, its extensions and its return window count on it.
        const calendar = calendarOf(calendars, current.category)
        const t = transition(current, action, fields, { at, returnWindowHours, calendar })
        if (!t.ok) return { ok: false, refusal: t }
        const data: StoredChangeData = { ...fields }
        const limit = limitOf(current.category)
        if (action === 'dispatch' || (action === 'verify' && !fields.passed)) {
          data.deadline = addWorkingTime(at, limit, calendar)
        } else if (action === 'extend') {
          data.deadline =
            fields.until ?? addWorkingTime(Math.max(at, current.deadline ?? at), limit, calendar)
        }
        return { ok: true, action, status: t.status, data }
      }
      const result = await store.mutateEvent(id, at, decide, actor)
      if ('notFound' in result) throw notFound({ zh: `事件 ${id}`, en: `event ${id}` })
      if (!result.ok) {
        const r = result.refusal
        throw new AppError(r.code === 'invalid_transition' ? 409 : 422, r.code, r.message)
      }
      return result
    },
  }
}
