/**
 * The live contract (Socket.IO namespace `/live`, DESIGN.md §3), declared once: the server's
 * `Server<…>` and the web's `Socket<…>` both import these maps.
 */
import type { KpiValues } from './kpis.ts'
import type { ActionData, ChangeAction, EventSource, EventStatus, Reporter, Role } from './types.ts'

/** Handshake `auth`. `since` is the last seq the client applied. */
export interface LiveAuth {
  token: string
  since?: number
}

/** The event as a change frame carries it (descriptions and reporters only for internal roles). */
export interface LiveEvent {
  id: string
  gridCode: string
  category: string
  source: EventSource
  lat: number
  lng: number
  status: EventStatus
  /** The action of the change that carries it (absent in snapshot lists). */
  action?: ChangeAction
  reportedAt: string
  description?: string
  reporter?: Reporter
  data?: Omit<ActionData, 'until'> & { until?: string; deadline?: string }
}

export interface ChangeFrame {
  seq: number
  at: string
  event: LiveEvent
}

export interface KpiFrame {
  seq: number
  region: string
  /** Start and end of the period the values cover (today, local). */
  from: string
  to: string
  /**
   * The instant the values hold for (ISO, city offset): they equal
   * `GET /api/v1/kpis?region=&from=&to=&at=` with this frame's region, period and `at`.
   */
  at: string
  values: KpiValues
}

/**
 * Per-grid figures: [gridCode, open, overdue, reportedToday, patrolRoundsToday]. patrolRoundsToday
 * counts the rounds started today (`shared/patrol.ts`; 双巡 also needs their times). It is null
 * for the public: one worker patrols a grid, so it describes one person (`shared/privacy.ts`).
 */
export type GridAggregate = [string, number, number, number, number | null]

export interface GridsFrame {
  seq: number
  region: string
  /** The instant the figures hold for (ISO, city offset), as a kpis frame's `at`. */
  at: string
  /** Only the grids that changed since the last frame (all of them in a snapshot). */
  grids: GridAggregate[]
}

/**
 * Positions, compact: `workers` is a flat array [index, lng×1e5, lat×1e5, …] where `index` points
 * into the `workerIds` list of the subscribe snapshot; `at` is the batch time (ISO).
 */
export interface PositionsFrame {
  at: string
  workers: number[]
}

export type AlertFrame =
  | {
      kind: 'overdue'
      at: string
      seq: number
      eventId: string
      gridCode: string
      category: string
      deadline: string
    }
  | { kind: 'surge'; at: string; gridCode: string; lastHour: number; baseline: number }

/** The answer to `subscribe`: everything a screen needs to draw, at one seq. */
export interface Snapshot {
  seq: number
  region: string
  kpis: KpiFrame
  grids: GridAggregate[]
  /** Open events, newest first, capped (internal roles only). */
  openEvents?: LiveEvent[]
  /** Worker ids, indexed by the `positions` frames (internal roles only). */
  workerIds?: string[]
  /** Latest known positions, same encoding as a positions frame (internal roles only). */
  positions?: PositionsFrame
  /**
   * Events overdue now, as the overdue alerts they raised (at = their deadline), most recent first,
   * capped (internal roles only): a screen that connects later still lists what is flashing red.
   */
  alerts?: AlertFrame[]
  /**
   * The region's last changes up to `seq`, newest first, capped (internal roles only): the ticker
   * of a screen that connects shows what just happened, not an empty list.
   */
  recent?: ChangeFrame[]
}

export type Response<T> = { ok: true; data: T } | { ok: false; error: { code: string; message: string } }

export interface ServerToClientEvents {
  change: (frame: ChangeFrame) => void
  kpis: (frame: KpiFrame) => void
  grids: (frame: GridsFrame) => void
  positions: (frame: PositionsFrame) => void
  alert: (frame: AlertFrame) => void
  /** Replay after `since` is complete: from here on frames are live. */
  synced: (info: { seq: number }) => void
}

export interface ClientToServerEvents {
  subscribe: (req: { region: string }, ack: (res: Response<Snapshot>) => void) => void
}

export interface SocketData {
  role: Role
  /** The token's region scope: the district when the token has none. */
  scope: string
  expiresAt?: number
  jti?: string
  /** Highest seq delivered (or queued) to this socket. */
  sent: number
  subscribed: string | null
  /** Replaying from the log (not in the live rooms). */
  replaying: boolean
}

/** Roles that may see people, descriptions and positions on the live stream. */
export const INTERNAL_ROLES: readonly Role[] = ['admin', 'officer', 'leader']

/**
 * The `code` of a live refusal: a `connect_error`'s `data.code` or a `subscribe` error. `rate_limited`:
 * too many failed handshakes from the address, sockets on the token or subscribes on the socket;
 * retry later (a socket that floods `subscribe` is cut).
 */
export type LiveErrorCode =
  'unauthorized' | 'forbidden' | 'invalid_query' | 'not_found' | 'not_ready' | 'rate_limited' | 'internal'
