/**
 * Versioned schema for the PostgreSQL store. Append new steps; never edit a released one.
 *
 * Each step runs inside `migrate()`'s transaction, with `search_path` set to the store's schema, so
 * the names are unqualified. Version 1 is the whole schema of SQLite's latest version (9, see
 * sqlite-migrations.ts) at once, plus what only PostgreSQL needs: the one-row `log_head` that
 * allocates `seq` in commit order (see pg-store.ts) and the sequence event ids are taken from.
 *
 * Types: epoch ms and seq are BIGINT (parsed to numbers by the store), coordinates DOUBLE PRECISION,
 * JSON is kept as TEXT exactly as written (as in SQLite: jsonb would reorder keys). Every key and
 * code column is `COLLATE "C"`: a region filter is a prefix range [region, region || ':') on digit
 * strings, and ids and jtis are ordered as SQLite orders them (by code point), under whatever
 * collation the database defaults to.
 */
export const PG_MIGRATIONS: readonly string[] = [
  // 1: the whole schema (SQLite 1–9) and the log head
  `
  CREATE TABLE events (
    id TEXT COLLATE "C" PRIMARY KEY,
    seq BIGINT NOT NULL,
    status TEXT COLLATE "C" NOT NULL,
    category TEXT COLLATE "C" NOT NULL,
    description TEXT NOT NULL,
    lat DOUBLE PRECISION NOT NULL,
    lng DOUBLE PRECISION NOT NULL,
    grid_code TEXT COLLATE "C" NOT NULL,
    source TEXT COLLATE "C" NOT NULL,
    reporter TEXT,
    reported_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    first_dispatched_at BIGINT,
    dispatched_at BIGINT,
    deadline BIGINT,
    handled_at BIGINT,
    late_handled INTEGER NOT NULL DEFAULT 0,
    closed_at BIGINT,
    cancelled_at BIGINT,
    department TEXT,
    rework_count INTEGER NOT NULL DEFAULT 0,
    extension_count INTEGER NOT NULL DEFAULT 0,
    return_count INTEGER NOT NULL DEFAULT 0,
    satisfaction TEXT COLLATE "C",
    evaluated_at BIGINT
  );
  CREATE INDEX events_reported ON events (reported_at DESC, id DESC);
  CREATE INDEX events_grid_reported ON events (grid_code, reported_at);
  CREATE INDEX events_first_dispatched ON events (first_dispatched_at);
  CREATE INDEX events_evaluated ON events (evaluated_at);
  CREATE INDEX events_status ON events (status);
  CREATE INDEX events_reported_grid_category ON events (reported_at, grid_code, category);
  CREATE INDEX events_handled_grid ON events (handled_at, grid_code);
  CREATE INDEX events_closed_grid ON events (closed_at, grid_code);
  CREATE INDEX events_updated ON events (updated_at);

  CREATE TABLE changes (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    event_id TEXT COLLATE "C" NOT NULL,
    grid_code TEXT COLLATE "C" NOT NULL,
    action TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL,
    actor TEXT,
    data TEXT,
    payload TEXT
  );
  CREATE INDEX changes_event ON changes (event_id, seq);

  -- The head of the log: the last seq handed out, row-locked by each appending transaction until it
  -- commits (pg-store.ts), so seq is gap-free and in commit order.
  CREATE TABLE log_head (
    id BOOLEAN PRIMARY KEY DEFAULT true CHECK (id),
    seq BIGINT NOT NULL
  );
  INSERT INTO log_head (id, seq) VALUES (true, 0);
  -- Event ids ('E' + 8 digits); a rolled-back report leaves a gap, which is fine (ids are opaque).
  CREATE SEQUENCE event_ids AS BIGINT START 1;

  CREATE TABLE idempotency (
    key TEXT COLLATE "C" PRIMARY KEY,
    event_id TEXT COLLATE "C" NOT NULL,
    fingerprint TEXT,
    created_at BIGINT
  );
  CREATE INDEX idempotency_created ON idempotency (created_at);

  CREATE TABLE workers (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    grid_code TEXT COLLATE "C" NOT NULL,
    last_ping_at BIGINT,
    last_lat DOUBLE PRECISION,
    last_lng DOUBLE PRECISION
  );
  CREATE INDEX workers_grid ON workers (grid_code);

  CREATE TABLE positions (
    worker_id TEXT COLLATE "C" NOT NULL,
    at BIGINT NOT NULL,
    lat DOUBLE PRECISION NOT NULL,
    lng DOUBLE PRECISION NOT NULL
  );
  CREATE INDEX positions_at ON positions (at);
  CREATE INDEX positions_worker_at ON positions (worker_id, at);

  CREATE TABLE patrol_rounds (
    worker_id TEXT COLLATE "C" NOT NULL,
    grid_code TEXT COLLATE "C" NOT NULL,
    started_at BIGINT NOT NULL,
    ended_at BIGINT NOT NULL,
    pings INTEGER NOT NULL,
    PRIMARY KEY (worker_id, started_at)
  );
  CREATE INDEX patrol_rounds_grid ON patrol_rounds (grid_code, ended_at);

  CREATE TABLE patrol_runs (
    worker_id TEXT COLLATE "C" PRIMARY KEY,
    grid_code TEXT COLLATE "C" NOT NULL,
    started_at BIGINT NOT NULL,
    last_at BIGINT NOT NULL,
    pings INTEGER NOT NULL
  );

  CREATE TABLE meta (key TEXT COLLATE "C" PRIMARY KEY, value TEXT NOT NULL);

  CREATE TABLE revoked_tokens (jti TEXT COLLATE "C" PRIMARY KEY, expires_at BIGINT NOT NULL);

  CREATE TABLE issued_tokens (
    jti TEXT COLLATE "C" PRIMARY KEY,
    role TEXT COLLATE "C" NOT NULL,
    region TEXT COLLATE "C",
    aud TEXT COLLATE "C" NOT NULL,
    actions TEXT,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
  );
  CREATE INDEX issued_tokens_expires ON issued_tokens (expires_at);
  `,
  // 2 (SQLite 10; issue 13, portal embeds): an embed token's panels, origins and kind in the registry
  //    (JSON EmbedClaims; null for a bearer token)
  `
  ALTER TABLE issued_tokens ADD COLUMN embed TEXT;
  `,
]
