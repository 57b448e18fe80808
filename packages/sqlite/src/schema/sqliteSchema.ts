import { sqliteStreamLifecycleTables } from '../eventStore/sqliteStreamLifecycle.js';
import { sqliteCheckpointTables } from '../processing/sqliteCheckpointTables.js';
import { sqliteEventBrowserIndexes } from '../queries/sqliteEventBrowserIndexes.js';

/**
 * The store's DDL, as ordered migrations. Each migration's statements run in the one
 * transaction that opens the file, so a file is always at exactly one schema version.
 */
export interface SqliteMigration {
  /** 1, 2, 3…: applied in order, each exactly once per file. */
  version: number;
  /** The capability whose tables the step creates or changes: `events`, `checkpoints`, … */
  capability: string;
  name: string;
  statements: readonly string[];
}

/**
 * Positions are the rowid (INTEGER PRIMARY KEY): dense, assigned in commit order because
 * SQLite has one writer at a time, and the cheapest possible key to append to.
 *
 * There is no separate streams table: a stream's version is the top entry of the
 * (stream_id, version) unique index, one index seek, and not maintaining a second table
 * keeps an append at one row write per event. The unique index also backs up the expected
 * version check against any writer that bypasses it.
 *
 * The category is a generated column so that every writer (including raw SQL) agrees with
 * `streamCategory` (the part before the first '-') and the category filter can use an index.
 */
const createEvents = `CREATE TABLE events (
  position INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  stream_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  type TEXT NOT NULL,
  schema_version INTEGER NOT NULL,
  data TEXT NOT NULL,
  metadata TEXT NOT NULL,
  recorded_at INTEGER NOT NULL,
  category TEXT GENERATED ALWAYS AS (
    CASE WHEN instr(stream_id, '-') = 0 THEN stream_id ELSE substr(stream_id, 1, instr(stream_id, '-') - 1) END
  ) VIRTUAL,
  UNIQUE (stream_id, version)
)`;

/**
 * Every table tidemark owns in the file, as versioned steps: the registry each capability
 * (events, checkpoints, and later outbox, inbox, timers, snapshots, keys) adds its steps to,
 * at the END with the next version. Released steps are never reordered or edited.
 */
export const sqliteMigrations: readonly SqliteMigration[] = [
  {
    version: 1,
    capability: 'events',
    name: 'event log',
    statements: [
      createEvents,
      // readAll filters page by position within one type / one category.
      'CREATE INDEX events_type_position ON events (type, position)',
      'CREATE INDEX events_category_position ON events (category, position)',
    ],
  },
  { version: 2, capability: 'checkpoints', name: 'checkpoints and dead letters', statements: sqliteCheckpointTables },
  {
    version: 3,
    capability: 'leases',
    name: 'projector leases',
    statements: [
      // Earlier versions created this table at run time, without a token: its rows are leases
      // that expire within seconds anyway, so it is simply made again.
      'DROP TABLE IF EXISTS tidemark_leases',
      // One row per lease (see processing/sqliteLease.ts): the token grows with every change of
      // hands and fences the holder's batch transactions.
      'CREATE TABLE tidemark_leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, token INTEGER NOT NULL, expires_at INTEGER NOT NULL) STRICT',
    ],
  },
  {
    version: 4,
    capability: 'outbox',
    name: 'transactional outbox',
    statements: [
      // AUTOINCREMENT: a sequence is never reused after published rows are deleted. Times are
      // milliseconds since the epoch. The partial indexes keep the relay's "oldest unpublished"
      // read and the retention delete off the published bulk.
      `CREATE TABLE tidemark_outbox (
        sequence INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id TEXT NOT NULL,
        type TEXT NOT NULL,
        schema_version INTEGER NOT NULL,
        key TEXT NOT NULL,
        data TEXT NOT NULL,
        headers TEXT NOT NULL,
        occurred_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        published_at INTEGER
      ) STRICT`,
      'CREATE INDEX tidemark_outbox_unpublished ON tidemark_outbox (sequence) WHERE published_at IS NULL',
      'CREATE INDEX tidemark_outbox_published ON tidemark_outbox (published_at) WHERE published_at IS NOT NULL',
    ],
  },
  {
    version: 5,
    capability: 'inbox',
    name: 'inbox of idempotent consumers',
    statements: [
      'CREATE TABLE tidemark_inbox (consumer TEXT NOT NULL, message_id TEXT NOT NULL, processed_at INTEGER NOT NULL, PRIMARY KEY (consumer, message_id)) STRICT, WITHOUT ROWID',
      'CREATE INDEX tidemark_inbox_processed_at ON tidemark_inbox (processed_at)',
    ],
  },
  {
    version: 6,
    capability: 'idempotency_keys',
    name: 'idempotency keys of commands',
    statements: [
      'CREATE TABLE tidemark_idempotency_keys (scope TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL, result TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (scope, key)) STRICT, WITHOUT ROWID',
      'CREATE INDEX tidemark_idempotency_keys_created_at ON tidemark_idempotency_keys (created_at)',
    ],
  },
  {
    version: 7,
    capability: 'event_schemas',
    name: 'schema registry of event types and versions',
    statements: [
      // One row per registered (type, version): the fingerprint of its JSON Schema (NULL when the
      // schema cannot produce one), the JSON Schema text, when it was registered (ms since the epoch).
      'CREATE TABLE tidemark_event_schemas (type TEXT NOT NULL, version INTEGER NOT NULL, fingerprint TEXT, json_schema TEXT, registered_at INTEGER NOT NULL, PRIMARY KEY (type, version)) STRICT, WITHOUT ROWID',
    ],
  },
  { version: 8, capability: 'stream_lifecycle', name: 'tombstoned and archived streams', statements: sqliteStreamLifecycleTables },
  {
    version: 9,
    capability: 'snapshots',
    name: 'snapshots of stream states',
    statements: [
      // Every snapshot is kept (a temporal load wants the latest before its target); the key
      // makes that lookup one descending seek. Times are milliseconds since the epoch.
      `CREATE TABLE tidemark_snapshots (
        stream_id TEXT NOT NULL,
        name TEXT NOT NULL,
        stream_version INTEGER NOT NULL,
        position INTEGER NOT NULL,
        recorded_at INTEGER NOT NULL,
        schema_version INTEGER NOT NULL,
        payload BLOB NOT NULL,
        PRIMARY KEY (stream_id, name, stream_version)
      ) STRICT, WITHOUT ROWID`,
    ],
  },
  {
    version: 10,
    capability: 'subject_keys',
    name: 'crypto-shredding keys of data subjects',
    statements: [
      // One row per data subject. Forgetting sets key_id and material to NULL and keeps the row
      // (the subject id and when): a second forget then knows it was done. Times in ms.
      `CREATE TABLE tidemark_subject_keys (
        subject_id TEXT PRIMARY KEY,
        key_id TEXT,
        material BLOB,
        created_at INTEGER NOT NULL,
        forgotten_at INTEGER,
        CHECK ((key_id IS NULL) = (material IS NULL))
      ) STRICT, WITHOUT ROWID`,
    ],
  },
  { version: 11, capability: 'events', name: 'event browser indexes', statements: sqliteEventBrowserIndexes },
];

/** The schema version this code writes and understands. */
export const sqliteSchemaVersion: number = sqliteMigrations[sqliteMigrations.length - 1]?.version ?? 0;

/**
 * Every DDL statement of the event log, in order: what a raw-driver baseline needs to create
 * the same table and indexes the store writes to.
 */
export const sqliteSchemaStatements: readonly string[] = sqliteMigrations
  .filter((migration) => migration.capability === 'events')
  .flatMap((migration) => migration.statements);

/** The exact row insert the store performs per event (positional parameters, in this order). */
export const sqliteInsertEventSql =
  'INSERT INTO events (id, stream_id, version, type, schema_version, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)';
