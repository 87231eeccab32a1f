/**
 * The domain API for events: every source (HTTP ingestion, Open311, the simulator) reports and acts
 * through here; nothing writes the tables another way.
 */
import { CATEGORY_BY_CODE } from '../../shared/categories.ts'
import { transition, type ReportPayload, type StoredChangeData } from '../../shared/lifecycle.ts'
import { isWithin, parseRegionCode } from '../../shared/regions.ts'
import type {
  ActionData,
  Change,
  Clock,
  EventAction,
  EventSource,
  GridEvent,
  Reporter,
} from '../../shared/types.ts'
import { addWorkingTime, type WorkCalendar } from '../../shared/working-time.ts'
import type { CityIndex } from '../city/city-index.ts'
import { AppError, notFound } from '../errors.ts'
import { IdempotencyConflict, type CommitListener, type Store } from '../store/store.ts'

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
}

export interface EventService {
  report(
    input: ReportInput,
    idempotencyKey?: string,
    opts?: ReportOptions,
  ): Promise<{ event: GridEvent; change: Change; created: boolean }>
  act(id: string, input: ActionInput, at?: number): Promise<{ event: GridEvent; change: Change }>
  /** Listen to committed changes, in seq order (the live stream hooks in here). Returns unsubscribe. */
  onChange(listener: CommitListener): () => void
}

export interface EventServiceDeps {
  store: Store
  clock: Clock
  calendar: WorkCalendar
  city: CityIndex
}

/** Allowed clock skew of a source's reportedAt into the future. */
const FUTURE_SKEW_MS = 5 * 60_000

export function createEventService({ store, clock, calendar, city }: EventServiceDeps): EventService {
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
        return await store.createEvent(payload, at, idempotencyKey)
      } catch (err) {
        if (!(err instanceof IdempotencyConflict)) throw err
        throw new AppError(409, 'conflict', {
          zh: '该 Idempotency-Key 已用于另一内容不同的上报',
          en: 'this Idempotency-Key was already used for a different report',
        })
      }
    },

    async act(id, input, at = clock.now()) {
      const { action, ...fields } = input
      const result = await store.mutateEvent(id, at, (current, at) => {
        const t = transition(current, action, fields)
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
      })
      if ('notFound' in result) throw notFound({ zh: `事件 ${id}`, en: `event ${id}` })
      if (!result.ok) {
        const r = result.refusal
        throw new AppError(r.code === 'invalid_transition' ? 409 : 422, r.code, r.message)
      }
      return result
    },

    onChange: (listener) => store.onCommitted(listener),
  }
}
