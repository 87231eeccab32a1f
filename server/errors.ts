/** Errors that cross the HTTP boundary: a fixed code, a status and a bilingual message. */
import type { ErrorCode } from '../shared/schemas.ts'
import type { StoreUnavailable } from './store/store.ts'

export interface Bilingual {
  zh: string
  en: string
}

export class AppError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 422 | 429 | 500 | 503,
    readonly code: ErrorCode,
    readonly messages: Bilingual,
    readonly details?: unknown,
  ) {
    super(messages.en)
  }
}

export const notFound = (what: Bilingual): AppError =>
  new AppError(404, 'not_found', { zh: `${what.zh}不存在`, en: `${what.en} not found` })

const UNAVAILABLE_WHY: Record<StoreUnavailable['reason'], Bilingual> = {
  busy: { zh: '数据库正被占用', en: 'the database is locked' },
  full: { zh: '磁盘已满', en: 'the disk is full' },
  io: { zh: '存储读写出错', en: 'the storage cannot be read or written' },
}

/** A store that cannot take the request for now: 503, with nothing of the request written. */
export function storeUnavailable(err: StoreUnavailable): AppError {
  const why = UNAVAILABLE_WHY[err.reason]
  const s = err.retryAfterSeconds
  return new AppError(
    503,
    'store_unavailable',
    {
      zh: `存储暂时不可用（${why.zh}），本次请求未写入任何数据，请 ${s} 秒后重试`,
      en: `the store is temporarily unavailable (${why.en}): nothing was written, retry in ${s} s`,
    },
    { reason: err.reason, retryAfterSeconds: s },
  )
}
