import type { AppendOptions, AppendResult, NewEvent } from '@tidemark/core';
import type pg from 'pg';
import { expectedVersionSentinels, positionSql } from '../schema/migrations.js';
import {
  type AppendRows,
  type AppendSettings,
  callAppendFunction,
  encodeExpectedVersion,
  mapAppendError,
  prepareAppendRows,
  writtenResult,
} from './appendEvents.js';
import { numericBigints } from './eventRows.js';

/**
 * An append outside any transaction, with no hooks: ONE plain SQL statement instead of the
 * append_to_stream function — no plpgsql, no SPI statements, no tidemark.seq setting. On the
 * 2-core machine the server's CPU per append is what limits concurrent writers, and the
 * function's cost per call (~45 µs) was about three times a plain INSERT's.
 *
 * Only the common, uncontended case is decided here. Whenever the statement writes nothing —
 * the expected version did not hold, or a concurrent writer took the version first — the
 * append is handed to append_to_stream, which decides every case under the stream's lock: a
 * real conflict becomes a ConcurrencyError with the version read under the lock, an `any` or
 * `stream_exists` append that merely lost a race is written after all. Appends with
 * caller-supplied ids go to the function directly, for its idempotency check.
 *
 * Why the global order stays right without the function's out-of-order check (positions are
 * `((xid8 + offset) << 20) + k`, so a stream's versions must get increasing transaction ids):
 * - In autocommit the statement is the whole transaction. Its snapshot is taken before it
 *   executes; its transaction id only when it first writes (or calls pg_current_xact_id()),
 *   i.e. after the snapshot. Ids come from one counter that only grows.
 * - The head version v it builds on was committed before that snapshot, so v's writer had
 *   its id before then: an older id, a lower position than ours.
 * - A version it cannot see (committed after the snapshot, or still running) is the version
 *   it tries to insert: the UNIQUE (stream_id, version) index waits for that writer and then
 *   refuses the row (23505), so it never writes a version twice or builds on a stale head.
 * pg_current_xact_id() is STABLE and, for every row and every call of one transaction, the
 * same id, so a batch's positions are that id's first k slots (k from 0: nothing else in this
 * transaction took any).
 *
 * The stream's advisory lock is still taken, although order does not need it: a transaction
 * appending through the function must never meet an uncommitted row of this statement in the
 * unique index — it would wait for it and then fail with a raw unique violation, aborting the
 * caller's transaction where the function promises a ConcurrencyError that leaves it usable
 * (and an `any` append would fail instead of going after it). Holding the same lock until
 * commit keeps every function call out of the stream while this statement's row is in doubt.
 * The statement's snapshot predates the lock, so after waiting for another writer it may
 * build on the version before that writer's: the unique index refuses it, and the function
 * takes over, as for any lost race.
 *
 * The head comes from max(version), which the planner turns into a backward index-only scan
 * of (stream_id, version) stopping at the first entry.
 */
export async function appendAutocommit(
  pool: pg.Pool,
  settings: AppendSettings,
  streamId: string,
  events: readonly NewEvent[],
  options: AppendOptions | undefined,
): Promise<AppendResult> {
  return appendRowsAutocommit(pool, settings, prepareAppendRows(settings, streamId, events, options));
}

/** appendAutocommit for an append already validated and laid out as rows. */
export async function appendRowsAutocommit(pool: pg.Pool, settings: AppendSettings, rows: AppendRows): Promise<AppendResult> {
  if (rows.prepared.anyIdSupplied) return callAppendFunction(pool, settings, rows);
  const written = await tryAppendStatement(pool, settings, rows);
  return written ?? callAppendFunction(pool, settings, rows);
}

interface WrittenRow {
  /** As text: positions pass 2^53. */
  first_position: string | null;
  last_version: number | null;
}

/** The statement; undefined when it wrote nothing (expected version not met, or a lost race). */
async function tryAppendStatement(pool: pg.Pool, settings: AppendSettings, rows: AppendRows): Promise<AppendResult | undefined> {
  const { prepared, recordedAt } = rows;
  const single = prepared.events.length === 1;
  const expected = encodeExpectedVersion(prepared.expectedVersion);
  let row: WrittenRow | undefined;
  try {
    const result = await pool.query<WrittenRow>(
      single
        ? {
            name: `${settings.statementName}:append1`,
            text: singleEventStatement(settings),
            values: [
              prepared.streamId,
              expected,
              rows.ids[0],
              rows.types[0],
              rows.schemaVersions[0],
              rows.data[0],
              rows.metadata[0],
              recordedAt,
            ],
            types: numericBigints,
          }
        : {
            name: `${settings.statementName}:appendN`,
            text: batchStatement(settings),
            values: [prepared.streamId, expected, rows.ids, rows.types, rows.schemaVersions, rows.data, rows.metadata, recordedAt],
            types: numericBigints,
          },
    );
    row = result.rows[0];
  } catch (error) {
    // Another writer committed this version first: the function decides what that means.
    if (isVersionTaken(error)) return undefined;
    throw mapAppendError(error, prepared.streamId);
  }
  if (row?.first_position == null || row.last_version == null) return undefined;
  return writtenResult(rows, BigInt(row.first_position), row.last_version);
}

function isVersionTaken(error: unknown): boolean {
  const pgError = error as { code?: string; constraint?: string };
  return pgError.code === '23505' && pgError.constraint === 'events_stream_id_version_key';
}

/**
 * The lock (same key as append_to_stream's) and the head, once. $1 stream, $2 expected
 * version. The CTE calls a volatile function, so it is evaluated once and before any row of
 * the INSERT is produced.
 */
function headCte(settings: AppendSettings): string {
  return `WITH head AS MATERIALIZED (
  SELECT pg_advisory_xact_lock(hashtextextended('${settings.schema}:' || $1::text, 0)) AS locked,
         coalesce((SELECT max(e.version) FROM ${settings.quotedSchema}.events e WHERE e.stream_id = $1::text), 0) AS v
)`;
}

/** The expected-version check of append_to_stream, on the head the statement sees. */
const expectedVersionHolds = `($2::bigint = ${expectedVersionSentinels.any}
       OR ($2::bigint = ${expectedVersionSentinels.no_stream} AND head.v = 0)
       OR ($2::bigint = ${expectedVersionSentinels.stream_exists} AND head.v > 0)
       OR $2::bigint = head.v)`;

const insertColumns = 'position, id, stream_id, version, type, schema_version, data, metadata, recorded_at';

/** One event: scalars in a one-row SELECT, as migration 3 does in the function. */
function singleEventStatement(settings: AppendSettings): string {
  return `${headCte(settings)}
INSERT INTO ${settings.quotedSchema}.events (${insertColumns})
SELECT ${positionSql(settings.quotedSchema, 'pg_current_xact_id()')}, $3::uuid, $1::text, head.v + 1, $4::text, $5::integer, $6::text::json, $7::text::json, $8::timestamptz
  FROM head
 WHERE ${expectedVersionHolds}
RETURNING position::text AS first_position, version AS last_version`;
}

/** Several events: the arrays unnested in order; one row back, nulls when nothing was written. */
function batchStatement(settings: AppendSettings): string {
  return `${headCte(settings)}, written AS (
  INSERT INTO ${settings.quotedSchema}.events (${insertColumns})
  SELECT ${positionSql(settings.quotedSchema, 'pg_current_xact_id()')} + t.ord - 1, t.id, $1::text, head.v + t.ord, t.type, t.schema_version, t.data::json, t.metadata::json, $8::timestamptz
    FROM head, unnest($3::uuid[], $4::text[], $5::integer[], $6::text[], $7::text[])
               WITH ORDINALITY AS t(id, type, schema_version, data, metadata, ord)
   WHERE ${expectedVersionHolds}
  RETURNING position, version
)
SELECT min(position)::text AS first_position, max(version) AS last_version FROM written`;
}
