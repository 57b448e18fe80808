import { type AppendOptions, type AppendResult, CommitOutcomeUnknownError, type NewEvent } from '@tidemark/core';
import type pg from 'pg';
import { expectedVersionSentinels, positionSql } from '../schema/migrations.js';
import {
  type AppendRows,
  type AppendSettings,
  callAppendFunction,
  encodeExpectedVersion,
  mapAppendError,
  prepareAppendRows,
  StaleSnapshotConflictError,
  writtenResult,
} from './appendEvents.js';
import { beginReadCommitted } from './beginReadCommitted.js';
import { endedIdle, isConnectionFailure, toTypedError, watchClient } from './connectionErrors.js';
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
 * Under READ COMMITTED (the server's default) the function's statements take fresh snapshots
 * after its lock, so it always decides. Under a role's or database's default of REPEATABLE READ
 * or SERIALIZABLE the whole autocommit call has ONE snapshot, taken before the lock: an append
 * that waited behind another writer of its stream fails in the function too (a unique violation,
 * StaleSnapshotConflictError; under SERIALIZABLE a serialization failure, 40001), and retrying
 * the same statement fails again as long as writers keep queueing on the stream. Such an append
 * runs again at once in an explicit READ COMMITTED transaction (appendRowsReadCommitted), which
 * cannot meet that conflict: same rows, same ids, the function deciding under the lock. Appends
 * under READ COMMITTED never take that path, and uncontended ones under the stricter levels
 * neither (without a wait the snapshot is current).
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
  try {
    if (rows.prepared.anyIdSupplied) return await callAppendFunction(pool, settings, rows);
    const written = await tryAppendStatement(pool, settings, rows);
    return written ?? (await callAppendFunction(pool, settings, rows));
  } catch (error) {
    // The statement aborted, so nothing was written: the append runs again where it can win.
    if (isStaleSnapshot(error)) return appendRowsReadCommitted(pool, settings, rows);
    throw error;
  }
}

/**
 * Whether an autocommit append failed because its snapshot, taken before the stream's lock, is
 * older than the head it found there (see above). A serialization failure of an autocommit
 * append means the same: it only inserts, so under REPEATABLE READ it never meets one, and under
 * SERIALIZABLE it meets one for a version a writer it waited for committed.
 */
function isStaleSnapshot(error: unknown): boolean {
  return error instanceof StaleSnapshotConflictError || (error as { code?: unknown } | null)?.code === '40001';
}

/**
 * The append as its own explicit READ COMMITTED transaction — BEGIN, append_to_stream, COMMIT on
 * one connection — for an autocommit append whose snapshot came too early. The function's
 * statements see what the stream's previous writer committed, so every case is decided as in a
 * transaction of the store: expected version, supplied ids (an identical earlier append is a
 * retry, `written: false`), positions in stream order. Errors are typed as the store's
 * transactions type them: a failure before COMMIT rolled back (a lost connection is
 * ConnectionLostError, safe to run again), a connection lost while COMMIT was in flight is
 * CommitOutcomeUnknownError.
 */
export async function appendRowsReadCommitted(pool: pg.Pool, settings: AppendSettings, rows: AppendRows): Promise<AppendResult> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw toTypedError(error);
  }
  const watched = watchClient(client);
  let result: AppendResult;
  try {
    await client.query(beginReadCommitted);
    result = await callAppendFunction(client, settings, rows);
  } catch (error) {
    watched.check(error);
    let broken = watched.lost;
    if (!broken) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
    }
    watched.release(broken);
    throw toTypedError(error, watched.lost);
  }
  let commit: pg.QueryResult;
  try {
    commit = await client.query('COMMIT');
  } catch (error) {
    watched.release(error as Error);
    // Ended by the server for idling before COMMIT reached it: rolled back, not in doubt.
    if (!endedIdle(error) && !endedIdle(watched.lost) && (watched.lost || isConnectionFailure(error))) {
      throw new CommitOutcomeUnknownError(
        'The connection was lost while COMMIT of the append was in flight: it may or may not have been written. Appends with supplied event ids can be retried safely.',
        {},
        { cause: error },
      );
    }
    throw toTypedError(error, watched.lost);
  }
  watched.release();
  // Unreachable: no statement of the transaction failed, so COMMIT does not answer ROLLBACK.
  if (commit.command !== 'COMMIT') throw new Error(`The transaction of the append was rolled back (COMMIT answered ${commit.command})`);
  return result;
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
