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
  { version: 7, capability: 'events', name: 'event browser indexes', statements: sqliteEventBrowserIndexes },
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
