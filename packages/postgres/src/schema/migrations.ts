import { streamLifecycleFunctionsSql, streamLifecycleSql } from '../eventStore/postgresStreamLifecycle.js';
import { checkpointTablesSql } from '../processing/checkpointTables.js';
import { postgresEventBrowserIndexesSql } from '../queries/postgresEventBrowserIndexes.js';
import { assertValidSchemaName, quoteIdentifier } from './schemaName.js';

/** One step of the schema's history. Applied in order, once, under an advisory lock. */
export interface Migration {
  version: number;
  /** The capability whose tables the step creates or changes: `events`, `checkpoints`, … */
  capability: string;
  name: string;
  sql: string;
}

/**
 * Positions encode the writing transaction: `((xid8 + offset) << 20) + k`, k counting the events
 * that transaction appended so far (so at most 2^20 events per transaction), `offset` the store's
 * row in position_offset (migration 4; see positionSql).
 *
 * Bound: a bigint holds it while xid8 + offset < 2^43 — 8.8 × 10^12 writing transactions over
 * the store's whole life (on every cluster it lived on, since a move keeps the offset above
 * what the old cluster reached): about 27.9 years at 10,000 writing transactions/s cluster-wide.
 */
export const positionSequenceBits = 20;
export const maxEventsPerTransaction = 2 ** positionSequenceBits;

/**
 * The position base of a transaction id: `((xid + offset) << 20)`. The offset is read in the same
 * statement from the one-row table: a scalar subquery on a one-page table, an init plan run once
 * per statement. The table is locked ACCESS EXCLUSIVE while the offset changes
 * (rebasePositions.ts), so a statement reading it waits for the rebase and then sees the new one.
 */
export function positionSql(quotedSchema: string, xid: string): string {
  return `((${xid}::text::bigint + (SELECT xid_offset FROM ${quotedSchema}.position_offset)) << ${positionSequenceBits})`;
}

/** Encodings of the non-numeric expected versions passed to append_to_stream. */
export const expectedVersionSentinels = { any: -1, no_stream: -2, stream_exists: -3 } as const;

/** What append_to_stream reports in its `status` column. */
export const appendStatus = {
  written: 0,
  /** The stream is not at the expected version; `version` holds the actual one. Nothing written. */
  wrongVersion: 1,
  /** Some supplied ids are stored already; `found_*` describe them. Nothing written. */
  idsFound: 2,
  /** The transaction would exceed maxEventsPerTransaction; `version` holds its count so far. */
  transactionFull: 3,
  /**
   * A younger transaction already appended to the stream; this one's events would sort before
   * its in the global log. `version` holds the actual version. Nothing written.
   */
  outOfOrder: 4,
} as const;

/**
 * The whole schema of a store, as versioned steps: the registry of every table tidemark owns.
 * Each capability (events, checkpoints, and later outbox, inbox, timers, snapshots, keys)
 * adds its steps at the END, with the next version — a store remembers the versions it has,
 * so steps are never reordered or edited once released. Every object is schema-qualified: no
 * step relies on search_path. Exported so that a raw-`pg` baseline (or a DBA) can build the
 * same tables; the statements are idempotent only through the version table.
 */
export function migrations(schema: string): Migration[] {
  assertValidSchemaName(schema);
  const s = quoteIdentifier(schema);
  return [
    {
      version: 1,
      capability: 'events',
      name: 'events',
      sql: `
CREATE TABLE ${s}.events (
  -- (xid8 << ${positionSequenceBits}) + k: sparse, strictly increasing in commit-safe order (see readAll).
  -- Since migration 4: ((xid8 + xid_offset) << ${positionSequenceBits}) + k, bigint in the API (see positionSequenceBits).
  position bigint PRIMARY KEY,
  id uuid NOT NULL UNIQUE,
  stream_id text NOT NULL,
  version bigint NOT NULL,
  type text NOT NULL,
  schema_version integer NOT NULL,
  -- The stream id's prefix before the first '-' (streamCategory), for category filters.
  category text GENERATED ALWAYS AS (split_part(stream_id, '-', 1)) STORED,
  -- json, not jsonb: kept byte for byte as serialised (key order, and \\u0000 that jsonb refuses),
  -- and returned without a jsonb-to-text conversion, which keeps aggregation fast.
  data json NOT NULL,
  metadata json NOT NULL,
  recorded_at timestamptz NOT NULL,
  UNIQUE (stream_id, version)
);

CREATE INDEX events_type_position ON ${s}.events (type, position);
CREATE INDEX events_category_position ON ${s}.events (category, position);
`,
    },
    { version: 2, capability: 'events', name: 'append_to_stream', sql: appendToStreamSql(schema, false) },
    { version: 3, capability: 'events', name: 'append_to_stream single-event insert', sql: appendToStreamSql(schema, true) },
    { version: 4, capability: 'checkpoints', name: 'checkpoints and dead letters', sql: checkpointTablesSql(schema) },
    {
      version: 5,
      capability: 'leases',
      name: 'projector leases',
      // One row per lease (see processing/postgresLease.ts): deadlines are the server's clock,
      // the token grows with every change of hands and fences the holder's batch transactions.
      sql: `
CREATE TABLE ${s}.tidemark_leases (
  name text PRIMARY KEY,
  holder text NOT NULL,
  token bigint NOT NULL,
  expires_at timestamptz NOT NULL
);
`,
    },
    {
      version: 6,
      capability: 'events',
      name: 'position offset',
      sql: `
-- Positions are ((xid8 + xid_offset) << ${positionSequenceBits}) + k. 0 on the cluster the store was created on
-- (existing positions keep their values); raised by rebasePositions when the store was restored
-- into a cluster whose transaction ids are lower than those its positions were made from.
CREATE TABLE ${s}.position_offset (
  one_row boolean PRIMARY KEY DEFAULT true CHECK (one_row),
  xid_offset bigint NOT NULL CHECK (xid_offset >= 0)
);
INSERT INTO ${s}.position_offset (xid_offset) VALUES (0);
${appendToStreamSql(schema, true, true)}`,
    },
    {
      version: 7,
      capability: 'outbox',
      name: 'transactional outbox',
      // The relay reads the oldest unpublished rows (partial index) and deletes published ones
      // after the retention period (partial index on published_at). json keeps data byte for byte.
      sql: `
CREATE TABLE ${s}.tidemark_outbox (
  sequence bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  message_id text NOT NULL,
  type text NOT NULL,
  schema_version integer NOT NULL,
  key text NOT NULL,
  data json NOT NULL,
  headers json NOT NULL,
  occurred_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL,
  published_at timestamptz
);
CREATE INDEX tidemark_outbox_unpublished ON ${s}.tidemark_outbox (sequence) WHERE published_at IS NULL;
CREATE INDEX tidemark_outbox_published ON ${s}.tidemark_outbox (published_at) WHERE published_at IS NOT NULL;
`,
    },
    {
      version: 8,
      capability: 'inbox',
      name: 'inbox of idempotent consumers',
      sql: `
CREATE TABLE ${s}.tidemark_inbox (
  consumer text NOT NULL,
  message_id text NOT NULL,
  processed_at timestamptz NOT NULL,
  PRIMARY KEY (consumer, message_id)
);
CREATE INDEX tidemark_inbox_processed_at ON ${s}.tidemark_inbox (processed_at);
`,
    },
    {
      version: 9,
      capability: 'idempotency_keys',
      name: 'idempotency keys of commands',
      sql: `
CREATE TABLE ${s}.tidemark_idempotency_keys (
  scope text NOT NULL,
  key text NOT NULL,
  request_hash text NOT NULL,
  result json NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (scope, key)
);
CREATE INDEX tidemark_idempotency_keys_created_at ON ${s}.tidemark_idempotency_keys (created_at);
`,
    },
    {
      version: 10,
      capability: 'event_schemas',
      name: 'schema registry of event types and versions',
      // fingerprint: sha-256 of the canonical JSON Schema, NULL when the schema cannot produce one.
      sql: `
CREATE TABLE ${s}.tidemark_event_schemas (
  type text NOT NULL,
  version integer NOT NULL,
  fingerprint text,
  json_schema jsonb,
  registered_at timestamptz NOT NULL,
  PRIMARY KEY (type, version)
);
`,
    },
    { version: 11, capability: 'stream_lifecycle', name: 'tombstoned and archived streams', sql: streamLifecycleSql(schema) },
    {
      version: 12,
      capability: 'snapshots',
      name: 'snapshots of stream states',
      // Every snapshot is kept (a temporal load wants the latest before its target); the key
      // makes that lookup one backward index seek.
      sql: `
CREATE TABLE ${s}.tidemark_snapshots (
  stream_id text NOT NULL,
  name text NOT NULL,
  stream_version bigint NOT NULL,
  position bigint NOT NULL,
  recorded_at timestamptz NOT NULL,
  schema_version integer NOT NULL,
  payload bytea NOT NULL,
  PRIMARY KEY (stream_id, name, stream_version)
);
`,
    },
    {
      version: 13,
      capability: 'subject_keys',
      name: 'crypto-shredding keys of data subjects',
      // One row per data subject. Forgetting sets key_id and material to NULL and keeps the row
      // (the subject id and when), so that a second forget knows it was done.
      sql: `
CREATE TABLE ${s}.tidemark_subject_keys (
  subject_id text PRIMARY KEY,
  key_id uuid,
  material bytea,
  created_at timestamptz NOT NULL,
  forgotten_at timestamptz,
  CHECK ((key_id IS NULL) = (material IS NULL))
);
`,
    },
    { version: 14, capability: 'events', name: 'event browser indexes', sql: postgresEventBrowserIndexesSql(schema) },
  ];
}

/**
 * The append_to_stream function. Version 4 (offset) adds the store's position offset. Version 2 inserted every batch through unnest(...) WITH
 * ORDINALITY; version 3 (singleEventInsert) inserts a one-event append — the common case of a
 * command handler — with a plain VALUES row of the arrays' first elements: no function scan over
 * five arrays, no projection of its rows. Measured with 32 concurrent writers, each appending one
 * event to a new stream, both bodies side by side with raw autocommit INSERTs in the same run
 * (six runs on a loaded 2-core machine): the VALUES body was ahead in five, by 0.08 of raw at the
 * median (e.g. 0.84 against 0.76, 0.93 against 0.75), behind in one (0.59 against 0.65).
 * Same checks, same lock, same row.
 *
 * An autocommit append without hooks or caller-supplied ids tries one plain INSERT statement
 * first and comes here only when that wrote nothing (eventStore/autocommitAppend.ts).
 */
function appendToStreamSql(schema: string, singleEventInsert: boolean, offset = false): string {
  const s = quoteIdentifier(schema);
  return `
-- One round trip per append. Checks and writes under the stream's lock, so optimistic
-- concurrency is decided by the database, never by a client's read-then-write.
-- Expected version: n >= 0 exact, -1 any, -2 no_stream, -3 stream_exists.
-- Conflicts are reported through status (see appendStatus) rather than raised, so a caller's
-- transaction stays usable after a ConcurrencyError, as with the other stores.
CREATE OR REPLACE FUNCTION ${s}.append_to_stream(
  p_stream_id text,
  p_expected bigint,
  p_ids uuid[],
  p_types text[],
  p_schema_versions integer[],
  p_data text[],
  p_metadata text[],
  p_recorded_at timestamptz,
  p_check_ids boolean,
  OUT status integer,
  OUT version bigint,
  OUT first_position bigint,
  OUT found_ids uuid[],
  OUT found_streams text[],
  OUT found_versions bigint[],
  OUT found_positions bigint[]
) LANGUAGE plpgsql AS $fn$
DECLARE
  n integer := cardinality(p_ids);
  seq bigint;
  current_version bigint;
  stream_last_position bigint;
BEGIN
  -- Events this transaction appended so far; transaction-local, so a rolled-back savepoint
  -- takes its increments with it. '' once the setting has existed in this session.
  seq := coalesce(nullif(current_setting('tidemark.seq', true), '')::bigint, 0);
  IF seq + n > ${maxEventsPerTransaction} THEN
    status := ${appendStatus.transactionFull};
    version := seq;
    RETURN;
  END IF;

  -- The per-stream lock. An advisory lock and not SELECT … FOR UPDATE on the stream row: a
  -- transaction that waits for a row its holder has UPDATEd is given its transaction id
  -- BEFORE waiting (heap_lock_updated_tuple), so it could write the next version with an
  -- older id — a lower position — than the version written before it, and readAll would
  -- deliver a stream's versions out of order. Waiting on an advisory lock assigns no id, so
  -- an autocommit append's id (taken below, after the lock) is younger than every earlier
  -- writer's of this stream. Keyed by schema and stream; a hash collision only serialises two
  -- streams.
  PERFORM pg_advisory_xact_lock(hashtextextended('${schema}:' || p_stream_id, 0));

  -- The stream's head, from the (stream_id, version) index: no separate streams row to update,
  -- which measured 10-20% more appends/s with 8 writers (one heap write and WAL record less).
  SELECT e.version, e.position INTO current_version, stream_last_position
    FROM ${s}.events e WHERE e.stream_id = p_stream_id ORDER BY e.version DESC LIMIT 1;
  IF NOT FOUND THEN
    current_version := 0;
  END IF;

  -- Ids are looked up under the lock, so a concurrent identical retry sees the first one's rows.
  IF p_check_ids THEN
    SELECT array_agg(e.id ORDER BY e.position), array_agg(e.stream_id ORDER BY e.position),
           array_agg(e.version ORDER BY e.position), array_agg(e.position ORDER BY e.position)
      INTO found_ids, found_streams, found_versions, found_positions
      FROM ${s}.events e WHERE e.id = ANY (p_ids);
    IF found_ids IS NOT NULL THEN
      status := ${appendStatus.idsFound};
      version := current_version;
      RETURN;
    END IF;
  END IF;

  IF NOT (p_expected = ${expectedVersionSentinels.any}
          OR (p_expected = ${expectedVersionSentinels.no_stream} AND current_version = 0)
          OR (p_expected = ${expectedVersionSentinels.stream_exists} AND current_version > 0)
          OR p_expected = current_version) THEN
    status := ${appendStatus.wrongVersion};
    version := current_version;
    RETURN;
  END IF;

  -- Takes this transaction's id if it has none yet (the usual case: after the lock).
  first_position := ${offset ? positionSql(s, 'pg_current_xact_id()') : `(pg_current_xact_id()::text::bigint << ${positionSequenceBits})`} + seq;
  -- A transaction that got its id earlier (it wrote before this append) may find the stream
  -- already written by a younger transaction: its events would sort before that one's. Only a
  -- retry of the whole transaction, with a new id, can append in order.
  IF stream_last_position >= first_position THEN
    status := ${appendStatus.outOfOrder};
    version := current_version;
    RETURN;
  END IF;

  PERFORM set_config('tidemark.seq', (seq + n)::text, true);

  ${singleEventInsert ? singleEventInsertSql(s) : ''}INSERT INTO ${s}.events (position, id, stream_id, version, type, schema_version, data, metadata, recorded_at)
  SELECT first_position + t.ord - 1, t.id, p_stream_id, current_version + t.ord, t.type, t.schema_version,
         t.data::json, t.metadata::json, p_recorded_at
    FROM unnest(p_ids, p_types, p_schema_versions, p_data, p_metadata)
         WITH ORDINALITY AS t(id, type, schema_version, data, metadata, ord);
  ${singleEventInsert ? 'END IF;' : ''}

  -- No pg_notify here: see commitNotifier.ts (a NOTIFY in the transaction serialises commits).
  status := ${appendStatus.written};
  version := current_version + n;
END
$fn$;
`;
}

/** One event: a VALUES row, cheaper to execute than the unnest of the general case (see above). */
function singleEventInsertSql(s: string): string {
  return `IF n = 1 THEN
    INSERT INTO ${s}.events (position, id, stream_id, version, type, schema_version, data, metadata, recorded_at)
    VALUES (first_position, p_ids[1], p_stream_id, current_version + 1, p_types[1], p_schema_versions[1],
            p_data[1]::json, p_metadata[1]::json, p_recorded_at);
  ELSE
  `;
}

/** The functions of a store at the latest version: their bodies name its schema (storeFunctionsSql). */
export const storeFunctionNames = ['append_to_stream', 'tidemark_refuse_deleted', 'tidemark_stream_readable'] as const;

/**
 * The store's functions as the latest migrations define them, CREATE OR REPLACE. Their bodies name
 * the schema (tables, the stream-lock key), and ALTER SCHEMA … RENAME does not rewrite them: migrate
 * runs this for a store whose functions name another schema (foreignSchemasSql). As plain SQL for
 * a DBA too; it keeps the functions' ids, so the events trigger keeps calling the new body.
 */
export function storeFunctionsSql(schema: string): string {
  assertValidSchemaName(schema);
  return `${appendToStreamSql(schema, true, true)}${streamLifecycleFunctionsSql(schema)}`;
}

/** The migrations as one script, for a raw-`pg` baseline or a DBA: schema, tables, function. */
export function schemaSql(schema: string): string {
  const s = quoteIdentifier(schema);
  return [`CREATE SCHEMA IF NOT EXISTS ${s};`, ...migrations(schema).map((m) => m.sql)].join('\n');
}
