/**
 * The store port. SQLite is the embedded default; a PostgreSQL implementation satisfies the same
 * interface (hence every method is async even where better-sqlite3 is synchronous).
 *
 * Invariant: every change to an event is appended to the change log with the next gap-free `seq`
 * in the same transaction as the event's new state, so the events table is always a fold of the log.
 */
import type { EmbedClaims } from '../../shared/embed.ts'
import type {
  Actor,
  Change,
  ChangeAction,
  EventAction,
  EventStatus,
  GridEvent,
  PatrolRound,
  Position,
  Role,
  Worker,
} from '../../shared/types.ts'
import type { ReportPayload, StoredChangeData } from '../../shared/lifecycle.ts'
import type { OpenRun, RoundSpan } from '../../shared/patrol.ts'

/** What the caller decides, given the current state, inside the store's transaction. */
export type Decision<R> =
  { ok: true; action: ChangeAction; status: EventStatus; data?: StoredChangeData } | { ok: false; refusal: R }

export type MutateResult<R> =
  | { ok: true; event: GridEvent; previous: GridEvent; change: Change }
  | { ok: false; refusal: R }
  | { ok: false; notFound: true }

/** An idempotency key reused for a different payload. */
export class IdempotencyConflict extends Error {
  constructor(readonly key: string) {
    super(`idempotency key ${key} was used for a different payload`)
  }
}

/**
 * The store cannot serve the operation for now, and nothing of it was written (its transaction rolled
 * back): the database is locked by another connection past the busy timeout, the disk is full, or the
 * file is read-only or failing. Retrying later can succeed; `code` is the engine's own error code.
 */
export class StoreUnavailable extends Error {
  /** Seconds a client should wait before retrying (the HTTP `Retry-After`). */
  readonly retryAfterSeconds: number
  constructor(
    readonly op: string,
    readonly code: string,
    readonly reason: 'busy' | 'full' | 'io',
    options?: { cause?: unknown },
  ) {
    super(`store unavailable (${code}) in ${op}`, options)
    this.name = 'StoreUnavailable'
    this.retryAfterSeconds = reason === 'busy' ? 1 : 5
  }
}

/** Whether the store takes writes: failing since the first of a run of failures, until a write succeeds. */
export type StoreHealth = { ok: true } | { ok: false; code: string; since: number }

/** An idempotency key stops matching this long after its first use (real time: a client's retry window). */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000

/** A committed change with the event after it and, except for a report, before it. */
export type CommitListener = (change: Change, event: GridEvent, previous: GridEvent | null) => void

export interface EventQuery {
  /** Region code prefix: the event's gridCode starts with it. */
  region?: string
  statuses?: string[]
  categories?: string[]
  sources?: string[]
  /** Only events overdue at this instant: dispatched, with a deadline before it. */
  overdueAt?: number
  /** reportedAt ≥ from */
  from?: number
  /** reportedAt < to */
  to?: number
  /** Exclusive keyset cursor: events strictly older than (reportedAt, id). */
  before?: { reportedAt: number; id: string }
  limit: number
}

/** Everything a KPI computation for one region needs, read at one `seq`. */
export interface KpiSnapshot {
  seq: number
  /** Events of the region that any KPI of [from, to) or overdueOpen can count, and every open event. */
  events: GridEvent[]
  /**
   * The patrol rounds per grid that started on the local day [day.start, day.end) (what 一日双巡,
   * `hasTwoRounds` in shared/patrol.ts, needs), each worker's round with its extent so far (as of
   * `at`: up to `at`).
   */
  roundsByGrid: Map<string, SnapshotRound[]>
  /** Workers per grid with a ping at or after `onlineSince`. */
  onlineByGrid: Map<string, number>
  /** Each worker's last ping at or after `onlineSince`. */
  positions: Position[]
}

/** A patrol round in a snapshot; `${workerId}|${startedAt}` identifies it as it grows. */
export interface SnapshotRound extends RoundSpan {
  workerId: string
}

/** A worker's open patrol run (shared/patrol.ts `OpenRun`), kept between pings and across restarts. */
export interface StoredRun extends OpenRun {
  workerId: string
  gridCode: string
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres'
  /** Apply pending schema migrations; returns the schema version. */
  migrate(): Promise<number>
  close(): Promise<void>
  /** Run `fn` in one transaction: every write inside commits together (used for bulk work). */
  batch<T>(fn: () => Promise<T>): Promise<T>
  /**
   * A hint that changes may have been appended to the log, by this process or (PostgreSQL) any other:
   * the listener reads the log itself (`listChanges`, server/store/change-feed.ts). Heard after the
   * commit, possibly late, more than once or not at all (a lost connection): never a promise of
   * order or delivery, so a follower also polls.
   */
  onAppended(listener: () => void): () => void
  /** Run `fn` right after the current batch commits (at once outside a batch; never on rollback). */
  afterCommit(fn: () => void): void
  /**
   * Run `fn` if the current batch rolls back (never outside a batch, never after a commit): what a
   * caller changed in memory on the strength of the batch's writes is put back.
   */
  afterRollback(fn: () => void): void

  /** See `StoreHealth`: false while writes fail with `StoreUnavailable`. */
  health(): StoreHealth

  /**
   * A key reused within IDEMPOTENCY_TTL_MS returns the first event; with a different payload it throws
   * IdempotencyConflict. After the TTL the key is free again: a reuse creates a new event.
   * `actor` (who reports) is recorded on the report change (null without one).
   */
  createEvent(
    payload: ReportPayload,
    at: number,
    idempotencyKey?: string,
    actor?: Actor,
  ): Promise<{ event: GridEvent; change: Change; created: boolean }>
  /**
   * `decide` gets the current state and the change's time: `at`, or the last change's if later.
   * `actor` (who acts) is recorded on the change (null without one).
   */
  mutateEvent<R>(
    id: string,
    at: number,
    decide: (current: GridEvent, at: number) => Decision<R>,
    actor?: Actor,
  ): Promise<MutateResult<R>>
  /** The payload of the event's `report` change (with the changes, the log alone rebuilds it). */
  reportPayload(id: string): Promise<ReportPayload | null>
  getEvent(id: string): Promise<GridEvent | null>
  eventsByIds(ids: string[]): Promise<Map<string, GridEvent>>
  timeline(id: string): Promise<Change[]>
  listEvents(query: EventQuery): Promise<GridEvent[]>
  /** Events whose lifecycle may still move: not closed or cancelled, or closed since `closedSince` and not yet evaluated. */
  openEvents(closedSince: number): Promise<GridEvent[]>
  listChanges(after: number, limit: number): Promise<Change[]>
  lastSeq(): Promise<number>
  countEvents(): Promise<number>
  /**
   * The KPI inputs of a region, now; or, with `at` (a past instant, inside `day`), as they stood at
   * `at`: each event's state is the fold of its changes at or before `at` (events reported later are
   * absent; those changed since `at` are all listed, counted or not), rounds are those that had lasted 15 minutes by `at`, and a worker is online with a raw
   * ping in [onlineSince, at] (raw pings are kept for the retention only).
   */
  kpiSnapshot(
    region: string,
    from: number,
    to: number,
    day: { start: number; end: number },
    onlineSince: number,
    at?: number,
  ): Promise<KpiSnapshot>

  /** When the earliest event in the store was reported (null when there is none): where the data reaches. */
  firstReportedAt(): Promise<number | null>
  /** Events reported per grid since `since` (the surge baseline). */
  reportCountsSince(since: number): Promise<Map<string, number>>

  upsertWorkers(workers: Worker[]): Promise<void>
  /** Bumps each worker's last ping; keeps the raw ping when `at >= keepRawAfter`. */
  insertPositions(positions: Position[], keepRawAfter: number): Promise<void>
  /** Upserts rounds by (workerId, startedAt): a round is written as it grows. */
  insertRounds(rounds: PatrolRound[]): Promise<void>
  /** The open patrol runs of these workers (those without one absent). */
  openRuns(workerIds: string[]): Promise<Map<string, StoredRun>>
  /** Upsert open runs and delete those of `deletes` (worker ids); in the batch of the pings that moved them. */
  saveRuns(upserts: StoredRun[], deletes: string[]): Promise<void>
  /** Deletes open runs whose last ping is before `before`; returns how many. */
  pruneRuns(before: number): Promise<number>
  /** Deletes raw positions older than `before`; returns how many. */
  prunePositions(before: number): Promise<number>
  /** Deletes idempotency keys past IDEMPOTENCY_TTL_MS; returns how many. */
  pruneIdempotencyKeys(): Promise<number>

  revokeToken(jti: string, expiresAt: number): Promise<void>
  /** jti of revoked tokens not yet expired at `now`. */
  revokedTokens(now: number): Promise<string[]>
  /** Remember an issued token in the registry (its claims, never the token itself). */
  recordIssuedToken(t: IssuedToken): Promise<void>
  /** Issued tokens not expired at `now`, newest first, each with whether it is revoked. */
  issuedTokens(now: number): Promise<IssuedTokenState[]>
  /** One issued token by id, or null. */
  issuedToken(jti: string): Promise<IssuedTokenState | null>

  getMeta(key: string): Promise<string | null>
  setMeta(key: string, value: string): Promise<void>
  /**
   * Set `key` to `value` unless it is set already; returns the value it holds. Processes starting at
   * once on one database agree on the first value written (e.g. the token secret).
   */
  initMeta(key: string, value: string): Promise<string>

  /**
   * The wall's activity figures of a region, read at one `seq`: events reported per category on
   * [day.start, day.end), and the reportedAt / handledAt / closedAt instants within [window.start,
   * window.end). handledAt and closedAt are the events' current values (a rework clears handledAt).
   */
  activitySnapshot(
    region: string,
    day: { start: number; end: number },
    window: { start: number; end: number },
  ): Promise<ActivitySnapshot>
}

/** See `Store.activitySnapshot`. */
export interface ActivitySnapshot {
  seq: number
  /** Events reported on the day, per category (categories without events absent). */
  reportedToday: Array<{ category: string; count: number }>
  reportedAt: number[]
  handledAt: number[]
  closedAt: number[]
}

/** An entry of the token registry (see `Store.recordIssuedToken`). Times are epoch ms. */
export interface IssuedToken {
  jti: string
  role: Role
  region: string | null
  /** The token's kind (its JWT `aud`). */
  aud: string
  actions: EventAction[] | null
  /** An embed token's panels, origins and kind (absent for a bearer token). */
  embed?: EmbedClaims
  issuedAt: number
  expiresAt: number
}

export interface IssuedTokenState extends IssuedToken {
  revoked: boolean
}
