/** Versioned schema for the SQLite store. Append new steps; never edit a released one. */
export const SQLITE_MIGRATIONS: readonly string[] = [
  // 1: events, the change log, idempotency keys, workers, positions, patrol rounds, meta
  `
  CREATE TABLE events (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    status TEXT NOT NULL,
    category TEXT NOT NULL,
    description TEXT NOT NULL,
    lat REAL NOT NULL,
    lng REAL NOT NULL,
    grid_code TEXT NOT NULL,
    source TEXT NOT NULL,
    reporter TEXT,
    reported_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    first_dispatched_at INTEGER,
    dispatched_at INTEGER,
    deadline INTEGER,
    handled_at INTEGER,
    closed_at INTEGER,
    cancelled_at INTEGER,
    department TEXT,
    rework_count INTEGER NOT NULL DEFAULT 0,
    extension_count INTEGER NOT NULL DEFAULT 0,
    return_count INTEGER NOT NULL DEFAULT 0,
    satisfaction TEXT,
    evaluated_at INTEGER
  );
  CREATE INDEX events_reported ON events (reported_at DESC, id DESC);
  CREATE INDEX events_grid_reported ON events (grid_code, reported_at);
  CREATE INDEX events_first_dispatched ON events (first_dispatched_at);
  CREATE INDEX events_evaluated ON events (evaluated_at);
  CREATE INDEX events_status ON events (status);
  CREATE TABLE changes (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    grid_code TEXT NOT NULL,
    action TEXT NOT NULL,
    status TEXT NOT NULL,
    data TEXT
  );
  CREATE INDEX changes_event ON changes (event_id, seq);
  CREATE TABLE idempotency (key TEXT PRIMARY KEY, event_id TEXT NOT NULL);
  CREATE TABLE workers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    grid_code TEXT NOT NULL,
    last_ping_at INTEGER,
    last_lat REAL,
    last_lng REAL
  );
  CREATE INDEX workers_grid ON workers (grid_code);
  CREATE TABLE positions (worker_id TEXT NOT NULL, at INTEGER NOT NULL, lat REAL NOT NULL, lng REAL NOT NULL);
  CREATE INDEX positions_at ON positions (at);
  CREATE TABLE patrol_rounds (
    worker_id TEXT NOT NULL,
    grid_code TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at INTEGER NOT NULL,
    pings INTEGER NOT NULL,
    PRIMARY KEY (worker_id, started_at)
  );
  CREATE INDEX patrol_rounds_grid ON patrol_rounds (grid_code, ended_at);
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  `,
  // 2: revoked tokens (by jti) so a revocation survives restarts
  `
  CREATE TABLE revoked_tokens (jti TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
  `,
  // 3: the report's payload kept in the log (the events table is a fold of the log alone);
  //    idempotency keys remember what they were used for
  `
  ALTER TABLE changes ADD COLUMN payload TEXT;
  ALTER TABLE idempotency ADD COLUMN fingerprint TEXT;
  `,
  // 4: time-range indexes for the wall's activity figures (reported per category, handled, closed
  //    per hour), covering the region filter so no row is read for events outside the region
  `
  CREATE INDEX events_reported_grid_category ON events (reported_at, grid_code, category);
  CREATE INDEX events_handled_grid ON events (handled_at, grid_code);
  CREATE INDEX events_closed_grid ON events (closed_at, grid_code);
  `,
  // 5: KPIs as they stood at a past instant: the events changed since then, and a worker's pings
  //    around then (for the rounds still going on at that instant)
  `
  CREATE INDEX events_updated ON events (updated_at);
  CREATE INDEX positions_worker_at ON positions (worker_id, at);
  `,
  // 6: the registry of issued tokens (never the token itself), listed by GET /api/v1/tokens;
  //    whether one is revoked is read from revoked_tokens
  `
  CREATE TABLE issued_tokens (
    jti TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    region TEXT,
    aud TEXT NOT NULL,
    actions TEXT,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  );
  CREATE INDEX issued_tokens_expires ON issued_tokens (expires_at);
  `,
  // 7: idempotency keys expire 24 h after their first use (real time, ms); the keys from before
  //    this step count from the upgrade
  `
  ALTER TABLE idempotency ADD COLUMN created_at INTEGER;
  UPDATE idempotency SET created_at = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER);
  CREATE INDEX idempotency_created ON idempotency (created_at);
  `,
  // 8 (issue 10, lifecycle rules): whether any handling of an event came after the deadline in force
  //    when it was made (kept across rework), and who made each change (JSON Actor, null before).
  //    The flag is backfilled from the log: a handle is late when its time is past the deadline set
  //    by the last dispatch, extension or rework (a failed verify) before it that set one.
  `
  ALTER TABLE events ADD COLUMN late_handled INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE changes ADD COLUMN actor TEXT;
  UPDATE events SET late_handled = 1 WHERE id IN (
    SELECT h.event_id FROM changes h
    WHERE h.action = 'handle' AND h.at > (
      SELECT json_extract(d.data, '$.deadline') FROM changes d
      WHERE d.event_id = h.event_id AND d.seq < h.seq
        AND d.action IN ('dispatch', 'extend', 'verify')
        AND json_extract(d.data, '$.deadline') IS NOT NULL
      ORDER BY d.seq DESC LIMIT 1
    )
  );
  `,
  // 9 (issue 10, patrol rounds): each worker's open run of pings inside its own grid, persisted in
  //    the same transaction as the pings so a restart mid-walk continues the same round
  `
  CREATE TABLE patrol_runs (
    worker_id TEXT PRIMARY KEY,
    grid_code TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    pings INTEGER NOT NULL
  );
  `,
  // 10 (issue 13, portal embeds): an embed token's panels, origins and kind in the registry (JSON
  //    EmbedClaims; null for a bearer token)
  `
  ALTER TABLE issued_tokens ADD COLUMN embed TEXT;
  `,
]
