/** Errors that cross the HTTP boundary: a fixed code, a status and a bilingual message. */
import type { ErrorCode } from '../shared/schemas.ts'

export interface Bilingual {
  zh: string
  en: string
}

export class AppError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 422 | 500 | 503,
    readonly code: ErrorCode,
    readonly messages: Bilingual,
    readonly details?: unknown,
  ) {
    super(messages.en)
  }
}

export const notFound = (what: Bilingual): AppError =>
  new AppError(404, 'not_found', { zh: `${what.zh}不存在`, en: `${what.en} not found` })
