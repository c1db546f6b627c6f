// Numbered schema migrations. A migration is never edited once released; changes are new entries.
// Times are milliseconds since the epoch; bodies are encoded by recorder/codec.

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'history',
    sql: `
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

-- One row per object identity (uid). The head columns (last_*) hold the last recorded state,
-- which the recorder diffs against; chain is the number of patches since the last snapshot.
CREATE TABLE objects (
  id          INTEGER PRIMARY KEY,
  uid         TEXT NOT NULL UNIQUE,
  api_group   TEXT NOT NULL,
  api_version TEXT NOT NULL,
  kind        TEXT NOT NULL,
  resource    TEXT NOT NULL,
  namespace   TEXT NOT NULL,
  name        TEXT NOT NULL,
  created_at  INTEGER,
  deleted_at  INTEGER,
  deletion    TEXT CHECK (deletion IN ('observed', 'inferred')),
  owner_uid   TEXT,
  owner_kind  TEXT,
  owner_name  TEXT,
  node_name   TEXT,
  labels      TEXT,
  services    TEXT,
  managers    TEXT,
  last_rv     TEXT NOT NULL,
  last_seq    INTEGER NOT NULL,
  last_time   INTEGER NOT NULL,
  last_body   BLOB NOT NULL,
  chain       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX objects_by_name ON objects (namespace, kind, name);
CREATE INDEX objects_alive ON objects (api_group, resource, namespace) WHERE deleted_at IS NULL;
CREATE INDEX objects_by_owner ON objects (owner_uid) WHERE owner_uid IS NOT NULL;

-- One row per recorded change, keyed by the global sequence. body_kind 0 = full snapshot,
-- 1 = JSON patch against the previous version of the object.
CREATE TABLE versions (
  seq        INTEGER PRIMARY KEY,
  object_id  INTEGER NOT NULL,
  rv         TEXT NOT NULL,
  time       INTEGER NOT NULL,
  type       TEXT NOT NULL CHECK (type IN ('added', 'modified', 'deleted')),
  inferred   INTEGER NOT NULL DEFAULT 0,
  actor      TEXT,
  paths      TEXT,
  body_kind  INTEGER NOT NULL,
  body       BLOB NOT NULL,
  keep_until INTEGER NOT NULL
);
CREATE UNIQUE INDEX versions_by_object ON versions (object_id, rv);
CREATE INDEX versions_by_time ON versions (time);
CREATE INDEX versions_by_expiry ON versions (keep_until);

-- Kubernetes Events (core/v1 and events.k8s.io/v1 as one model) and each time they occurred.
CREATE TABLE events (
  id                 INTEGER PRIMARY KEY,
  uid                TEXT NOT NULL UNIQUE,
  namespace          TEXT NOT NULL,
  name               TEXT NOT NULL,
  involved_group     TEXT,
  involved_kind      TEXT,
  involved_namespace TEXT,
  involved_name      TEXT,
  involved_uid       TEXT,
  reason             TEXT,
  type               TEXT,
  message            TEXT,
  source             TEXT,
  first_time         INTEGER NOT NULL,
  last_time          INTEGER NOT NULL,
  count              INTEGER NOT NULL,
  last_rv            TEXT NOT NULL
);
CREATE INDEX events_by_involved ON events (involved_uid);
CREATE INDEX events_by_namespace ON events (namespace, last_time);

CREATE TABLE event_occurrences (
  seq        INTEGER PRIMARY KEY,
  event_id   INTEGER NOT NULL,
  rv         TEXT NOT NULL,
  time       INTEGER NOT NULL,
  count      INTEGER NOT NULL,
  message    TEXT,
  keep_until INTEGER NOT NULL
);
CREATE UNIQUE INDEX occurrences_by_event ON event_occurrences (event_id, rv);
CREATE INDEX occurrences_by_time ON event_occurrences (time);
CREATE INDEX occurrences_by_expiry ON event_occurrences (keep_until);

-- Intervals in which the history of a watch may be incomplete.
CREATE TABLE gaps (
  id        INTEGER PRIMARY KEY,
  watch     TEXT NOT NULL,
  api_group TEXT NOT NULL,
  resource  TEXT NOT NULL,
  namespace TEXT NOT NULL,
  start     INTEGER NOT NULL,
  end       INTEGER NOT NULL,
  reason    TEXT NOT NULL
);
CREATE INDEX gaps_by_time ON gaps (end);

-- The resourceVersion each watch has recorded up to, and when it was last known current.
CREATE TABLE checkpoints (
  watch TEXT PRIMARY KEY,
  rv    TEXT NOT NULL,
  time  INTEGER NOT NULL
) WITHOUT ROWID;

-- Counters shown in each HistoryPolicy's status; they survive restarts.
CREATE TABLE policy_stats (
  policy        TEXT PRIMARY KEY,
  changes       INTEGER NOT NULL DEFAULT 0,
  events        INTEGER NOT NULL DEFAULT 0,
  excluded      INTEGER NOT NULL DEFAULT 0,
  rule_errors   INTEGER NOT NULL DEFAULT 0,
  last_recorded INTEGER
) WITHOUT ROWID;
`,
  },
];

export const LATEST_SCHEMA = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
