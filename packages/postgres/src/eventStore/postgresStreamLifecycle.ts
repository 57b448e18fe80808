import {
  assertValidStreamId,
  checkTruncate,
  StreamDeletedError,
  StreamNotFoundError,
  StreamTruncatedError,
  type TruncateStreamOptions,
  type TruncateStreamResult,
} from '@tidemark/core';
import type pg from 'pg';
import { quoteIdentifier } from '../schema/schemaName.js';

const deletedMessage = 'tidemark: stream deleted';
const truncatedMessage = 'tidemark: stream truncated';

/**
 * The lifecycle table, the trigger refusing events for a tombstoned stream and the check every
 * per-stream read makes (migration "stream lifecycle").
 *
 * The trigger runs once per INSERT statement, not per row, over the statement's new rows (a
 * transition table), and returns at once while no stream is tombstoned: the append paths (the
 * single INSERT, append_to_stream, group commit) stay as they are and no writer gets past it.
 * Reads call tidemark_stream_readable in a scalar subquery, which PostgreSQL evaluates once as a
 * one-time filter before the scan: still one round trip, and it raises even when no row matches.
 */
export function streamLifecycleSql(schema: string): string {
  const s = quoteIdentifier(schema);
  return `
CREATE TABLE ${s}.tidemark_streams (
  stream_id text PRIMARY KEY,
  deleted_at timestamptz,
  first_version bigint NOT NULL DEFAULT 1
);
CREATE INDEX tidemark_streams_deleted ON ${s}.tidemark_streams (stream_id) WHERE deleted_at IS NOT NULL;
${streamLifecycleFunctionsSql(schema)}
CREATE TRIGGER tidemark_events_refuse_deleted AFTER INSERT ON ${s}.events
  REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION ${s}.tidemark_refuse_deleted();
`;
}

/**
 * The trigger function and the read check of the lifecycle migration. CREATE OR REPLACE, so that
 * migrate can re-create them for a renamed schema (storeFunctionsSql): their bodies name it.
 */
export function streamLifecycleFunctionsSql(schema: string): string {
  const s = quoteIdentifier(schema);
  return `
CREATE OR REPLACE FUNCTION ${s}.tidemark_refuse_deleted() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  deleted_stream text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM ${s}.tidemark_streams WHERE deleted_at IS NOT NULL) THEN
    RETURN NULL;
  END IF;
  SELECT n.stream_id INTO deleted_stream
    FROM new_events n JOIN ${s}.tidemark_streams t ON t.stream_id = n.stream_id AND t.deleted_at IS NOT NULL
    LIMIT 1;
  IF deleted_stream IS NOT NULL THEN
    RAISE EXCEPTION '${deletedMessage}' USING DETAIL = deleted_stream;
  END IF;
  RETURN NULL;
END
$fn$;

-- p_whole: the caller folds from the first event, so an archived beginning is an error too.
CREATE OR REPLACE FUNCTION ${s}.tidemark_stream_readable(p_stream_id text, p_whole boolean) RETURNS boolean
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
  found_row record;
BEGIN
  SELECT deleted_at, first_version INTO found_row FROM ${s}.tidemark_streams WHERE stream_id = p_stream_id;
  IF NOT FOUND THEN
    RETURN true;
  END IF;
  IF found_row.deleted_at IS NOT NULL THEN
    RAISE EXCEPTION '${deletedMessage}' USING DETAIL = p_stream_id;
  END IF;
  IF p_whole AND found_row.first_version > 1 THEN
    RAISE EXCEPTION '${truncatedMessage}' USING DETAIL = p_stream_id, HINT = found_row.first_version::text;
  END IF;
  RETURN true;
END
$fn$;
`;
}

/** The lifecycle errors the trigger and the read check raise, as tidemark's typed errors. */
export function toLifecycleError(error: unknown): StreamDeletedError | StreamTruncatedError | undefined {
  const raised = error as { code?: unknown; message?: unknown; detail?: unknown; hint?: unknown } | null;
  if (raised?.code !== 'P0001' || typeof raised.detail !== 'string') return undefined;
  if (raised.message === deletedMessage) return new StreamDeletedError(raised.detail);
  if (raised.message === truncatedMessage) return new StreamTruncatedError(raised.detail, Number(raised.hint));
  return undefined;
}

/** The lifecycle writes, in a transaction on `client`, under the stream's append lock. */
export async function tombstonePostgresStream(client: pg.ClientBase, schema: string, streamId: string, now: Date): Promise<void> {
  assertValidStreamId(streamId);
  const s = quoteIdentifier(schema);
  await lockStream(client, schema, streamId);
  if ((await streamVersion(client, s, streamId)) === 0) throw new StreamNotFoundError(streamId);
  await client.query(
    `INSERT INTO ${s}.tidemark_streams (stream_id, deleted_at) VALUES ($1, $2)
     ON CONFLICT (stream_id) DO UPDATE SET deleted_at = coalesce(${s}.tidemark_streams.deleted_at, excluded.deleted_at)`,
    [streamId, now],
  );
}

export async function truncatePostgresStream(
  client: pg.ClientBase,
  schema: string,
  streamId: string,
  options: TruncateStreamOptions,
): Promise<TruncateStreamResult> {
  assertValidStreamId(streamId);
  const s = quoteIdentifier(schema);
  await lockStream(client, schema, streamId);
  const found = await client.query<{ deleted: boolean; first_version: string }>(
    `SELECT deleted_at IS NOT NULL AS deleted, first_version FROM ${s}.tidemark_streams WHERE stream_id = $1`,
    [streamId],
  );
  const lifecycle = found.rows[0];
  const before = checkTruncate(streamId, options, await streamVersion(client, s, streamId), lifecycle?.deleted === true);
  const removed = await client.query(`DELETE FROM ${s}.events WHERE stream_id = $1 AND version < $2`, [streamId, before]);
  await client.query(
    `INSERT INTO ${s}.tidemark_streams (stream_id, first_version) VALUES ($1, $2)
     ON CONFLICT (stream_id) DO UPDATE SET first_version = greatest(${s}.tidemark_streams.first_version, excluded.first_version)`,
    [streamId, before],
  );
  return { removed: removed.rowCount ?? 0, firstVersion: Math.max(before, Number(lifecycle?.first_version ?? 1)) };
}

/** The advisory lock append_to_stream takes: lifecycle changes wait for appends in flight, and they for it. */
async function lockStream(client: pg.ClientBase, schema: string, streamId: string): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`${schema}:${streamId}`]);
}

async function streamVersion(client: pg.ClientBase, s: string, streamId: string): Promise<number> {
  const result = await client.query<{ version: string | null }>(`SELECT max(version) AS version FROM ${s}.events WHERE stream_id = $1`, [
    streamId,
  ]);
  return Number(result.rows[0]?.version ?? 0);
}
