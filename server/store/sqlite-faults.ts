/**
 * SQLite's failures that mean "not now" (another connection holds the lock, the disk is full, the
 * file is read-only or failing) as the store port's StoreUnavailable, each reported once.
 */
import { StoreUnavailable } from './store.ts'

/** The engine's error code (better-sqlite3 names the extended code, e.g. SQLITE_IOERR_WRITE). */
export function sqliteCode(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : null
}

/** Why a code means the store is unavailable for now, or null when it does not. */
export function unavailableReason(code: string): StoreUnavailable['reason'] | null {
  if (/^SQLITE_(BUSY|LOCKED)/.test(code)) return 'busy'
  if (/^SQLITE_FULL/.test(code)) return 'full'
  if (/^SQLITE_(READONLY|IOERR|CANTOPEN)/.test(code)) return 'io'
  return null
}

export const isBusy = (err: unknown): boolean => unavailableReason(sqliteCode(err) ?? '') === 'busy'

/**
 * `store` with every method guarded: an engine error becomes StoreUnavailable when it means "not
 * now" (else it is kept), and `onFailure(op, err)` hears it once, named by the outermost method it
 * was first seen in (a write inside a batch is reported as itself, not again as the batch).
 * Errors that are not the engine's (a refusal, a caller's callback throwing) pass through unheard.
 */
export function guardStore<S extends object>(store: S, onFailure: (op: string, err: unknown) => void): S {
  const heard = new WeakSet<object>()
  const classify = (op: string, err: unknown): unknown => {
    if (typeof err !== 'object' || err === null || heard.has(err)) return err
    const code = sqliteCode(err)
    if (!code) return err
    const reason = unavailableReason(code)
    const out = reason ? new StoreUnavailable(op, code, reason, { cause: err }) : err
    heard.add(out as object)
    onFailure(op, out)
    return out
  }
  const guarded: Record<string, unknown> = {}
  for (const [op, value] of Object.entries(store)) {
    if (typeof value !== 'function') {
      guarded[op] = value
      continue
    }
    const method = value as (...args: unknown[]) => unknown
    guarded[op] = (...args: unknown[]): unknown => {
      let out: unknown
      try {
        out = method.apply(store, args)
      } catch (err) {
        throw classify(op, err)
      }
      return out instanceof Promise
        ? out.catch((err: unknown) => {
            throw classify(op, err)
          })
        : out
    }
  }
  return guarded as S
}
