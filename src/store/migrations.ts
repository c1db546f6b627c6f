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
  {
    version: 2,
    name: 'read-indexes',
    sql: `
-- One object's history in sequence order, carrying what timelines, "as of" lookups and version
-- counts read, so they never touch the table, whose pages are mostly bodies.
CREATE INDEX versions_by_object_seq ON versions (object_id, seq, time, type);

-- Objects of a namespace alive in a window. The second column is a lifespan class (alive;
-- deleted after less than 1 min, 5 min, 30 min, 2 h, 8 h, 1 d, 4 d, 16 d; longer; start
-- unknown): within a class whose lifespans are shorter than L, the objects alive in [from, to]
-- were deleted in [from, to + L), one bounded range, wherever the window lies in the past.
-- store/queries/lifespan.ts writes the same expression, which is what makes SQLite use it.
-- It carries what timelines read, so they never touch the table, whose rows hold whole bodies.
CREATE INDEX objects_by_lifespan ON objects (namespace, (CASE WHEN deleted_at IS NULL THEN 0 WHEN created_at IS NULL THEN 99
  WHEN deleted_at - created_at < 60000 THEN 1 WHEN deleted_at - created_at < 300000 THEN 2
  WHEN deleted_at - created_at < 1800000 THEN 3 WHEN deleted_at - created_at < 7200000 THEN 4
  WHEN deleted_at - created_at < 28800000 THEN 5 WHEN deleted_at - created_at < 86400000 THEN 6
  WHEN deleted_at - created_at < 345600000 THEN 7 WHEN deleted_at - created_at < 1382400000 THEN 8
  ELSE 98 END), deleted_at, created_at, kind, name, uid, api_group, resource, owner_uid, owner_kind,
  owner_name, deletion);

-- Events with an occurrence in a window, most recent first, in a namespace or in all of them.
-- Like objects, by span class (last occurrence minus first: under 1 min, 10 min, 1 h, 6 h, 1 d,
-- 4 d; longer): within a class of spans under L, they last occurred in [from, to + L).
-- store/queries/events.ts writes the same expression.
CREATE INDEX events_by_span ON events (namespace, (CASE WHEN last_time - first_time < 60000 THEN 1
  WHEN last_time - first_time < 600000 THEN 2 WHEN last_time - first_time < 3600000 THEN 3
  WHEN last_time - first_time < 21600000 THEN 4 WHEN last_time - first_time < 86400000 THEN 5
  WHEN last_time - first_time < 345600000 THEN 6 ELSE 98 END), last_time);
CREATE INDEX events_by_span_time ON events ((CASE WHEN last_time - first_time < 60000 THEN 1
  WHEN last_time - first_time < 600000 THEN 2 WHEN last_time - first_time < 3600000 THEN 3
  WHEN last_time - first_time < 21600000 THEN 4 WHEN last_time - first_time < 86400000 THEN 5
  WHEN last_time - first_time < 345600000 THEN 6 ELSE 98 END), last_time);
`,
  },
  {
    version: 3,
    name: 'timeline-indexes',
    sql: `
-- The Event heatmap of a namespace timeline reads every occurrence in its window (180,000 in a
-- busy namespace's day): from indexes alone, not a table row per Event and per occurrence. The
-- same events_by_span, carrying what the heatmap reads (store/queries/events.ts).
DROP INDEX events_by_span;
CREATE INDEX events_by_span ON events (namespace, (CASE WHEN last_time - first_time < 60000 THEN 1
  WHEN last_time - first_time < 600000 THEN 2 WHEN last_time - first_time < 3600000 THEN 3
  WHEN last_time - first_time < 21600000 THEN 4 WHEN last_time - first_time < 86400000 THEN 5
  WHEN last_time - first_time < 345600000 THEN 6 ELSE 98 END), last_time, first_time, type,
  count, involved_uid);
-- An Event's occurrences in a window, with their counts, without the table.
CREATE INDEX occurrences_by_event_time ON event_occurrences (event_id, time, count);
`,
  },
  {
    version: 4,
    name: 'heads',
    sql: `
-- The last state of each alive object, which the recorder reads and rewrites on every change,
-- moved out of objects: rewriting a ~1.5 KB compressed body inside objects rows left their pages
-- half empty (rows shrink when an object is deleted, grow and shrink with every change), and
-- made every change rewrite the whole objects row. objects.last_body is now empty for every
-- object: the state at its last version rebuilds from versions like any other (readers already
-- did so for an empty last_body), or is read here by id while the object is alive.
CREATE TABLE heads (
  object_id INTEGER PRIMARY KEY,
  body      BLOB NOT NULL
);
INSERT INTO heads (object_id, body)
  SELECT id, last_body FROM objects WHERE deleted_at IS NULL AND length(last_body) > 0;
UPDATE objects SET last_body = x'' WHERE length(last_body) > 0;
`,
  },
  {
    version: 5,
    name: 'sinks',
    sql: `
-- A gap takes a place in the global sequence like a change or an occurrence, so a Sink exports it
-- in order. Gaps recorded before this migration have none (NULL) and are not exported.
ALTER TABLE gaps ADD COLUMN seq INTEGER;
CREATE UNIQUE INDEX gaps_by_seq ON gaps (seq) WHERE seq IS NOT NULL;

-- Each Sink's position in the global sequence: every record up to acked_seq is delivered (or, at
-- most once, handed to the destination). start_from is the spec.startFrom it was positioned by;
-- a different one repositions it.
CREATE TABLE sink_cursors (
  sink_uid   TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  start_from TEXT NOT NULL,
  acked_seq  INTEGER NOT NULL,
  delivered  INTEGER NOT NULL DEFAULT 0,
  last_time  INTEGER
) WITHOUT ROWID;

-- The batch a Sink is sending, planned and committed before it is sent: records after after_seq
-- up to end_seq. A retry after a crash sends the same records under the same identity (first_seq,
-- last_seq); payload is kept where the destination needs the same bytes again (webhook).
CREATE TABLE sink_batches (
  sink_uid  TEXT PRIMARY KEY,
  after_seq INTEGER NOT NULL,
  end_seq   INTEGER NOT NULL,
  first_seq INTEGER NOT NULL,
  last_seq  INTEGER NOT NULL,
  records   INTEGER NOT NULL,
  first_time INTEGER NOT NULL,
  payload   BLOB,
  attempts  INTEGER NOT NULL DEFAULT 0,
  planned_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Records retention removed before a Sink delivered them: the Sink's own gap, never silent.
CREATE TABLE sink_losses (
  id        INTEGER PRIMARY KEY,
  sink_uid  TEXT NOT NULL,
  from_seq  INTEGER NOT NULL,
  to_seq    INTEGER NOT NULL,
  records   INTEGER NOT NULL,
  reason    TEXT NOT NULL,
  time      INTEGER NOT NULL
);
CREATE INDEX sink_losses_by_sink ON sink_losses (sink_uid, from_seq);
`,
  },
  {
    version: 6,
    name: 'rollouts',
    sql: `
-- One row per rollout of a Deployment, StatefulSet or DaemonSet (a generation change) or per Job
-- run, derived from the recorded history (src/rollouts/derive.ts). outcome: in-progress, complete,
-- failed, superseded (a newer generation came first) or deleted. events and pods are JSON lists
-- (at most 50 each) of what happened in its tree meanwhile; problem is the last counted problem.
CREATE TABLE rollouts (
  id            INTEGER PRIMARY KEY,
  kind          TEXT NOT NULL,
  namespace     TEXT NOT NULL,
  name          TEXT NOT NULL,
  uid           TEXT NOT NULL,
  generation    INTEGER NOT NULL,
  started       INTEGER NOT NULL,
  ended         INTEGER,
  outcome       TEXT NOT NULL,
  reason        TEXT,
  message       TEXT,
  old_revision  TEXT,
  new_revision  TEXT,
  images_before TEXT NOT NULL,
  images_after  TEXT NOT NULL,
  actor         TEXT,
  start_seq     INTEGER NOT NULL,
  end_seq       INTEGER,
  problem       TEXT,
  events        TEXT NOT NULL DEFAULT '[]',
  pods          TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX rollouts_by_object ON rollouts (namespace, kind, name, started);
CREATE INDEX rollouts_by_time ON rollouts (started);
CREATE INDEX rollouts_open ON rollouts (uid) WHERE ended IS NULL;

-- What the derivation remembers between records: per workload its last generation, revision and
-- images; per ReplicaSet and Pod the workload it belongs to and when it was created.
CREATE TABLE rollout_objects (
  uid          TEXT PRIMARY KEY,
  workload_uid TEXT NOT NULL,
  generation   INTEGER,
  revision     TEXT,
  images       TEXT,
  created      INTEGER
) WITHOUT ROWID;

-- How far the derivation has read the global sequence.
CREATE TABLE rollout_cursor (
  id  INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL
);
INSERT INTO rollout_cursor (id, seq) SELECT 1, coalesce(max(seq), 0) FROM (
  SELECT max(seq) AS seq FROM versions UNION ALL SELECT max(seq) FROM event_occurrences
);
`,
  },
];

export const LATEST_SCHEMA = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
