import type { AppendResult } from '@tidemark/core';
import type pg from 'pg';
import { expectedVersionSentinels, positionSql } from '../schema/migrations.js';
import { type AppendRows, type AppendSettings, encodeExpectedVersion, writtenResult } from './appendEvents.js';
import { numericBigints } from './eventRows.js';

interface GroupRow {
  /** 1-based index of the append in the batch. */
  i: number;
  /** As text: positions pass 2^53. Null when the append wrote nothing. */
  first_position: string | null;
  last_version: number | null;
}

/** Whether a batch can take the plain statement: no caller-supplied ids, and no stream twice. */
export function fitsPlainGroupAppend(batch: readonly AppendRows[]): boolean {
  const streams = new Set<string>();
  for (const rows of batch) {
    if (rows.prepared.anyIdSupplied || streams.has(rows.prepared.streamId)) return false;
    streams.add(rows.prepared.streamId);
  }
  return true;
}

/**
 * A group-commit batch of appends to DISTINCT streams, none with caller-supplied ids, as ONE
 * plain SQL statement — the batched form of autocommitAppend.ts's statement, with the same
 * reasoning about order (read it there): no plpgsql, whose cost per call (~45 µs of server
 * CPU) is what limits concurrent writers on a small server.
 *
 * - The streams' advisory locks are taken in stream-id order (the order every batch uses), in
 *   a materialised CTE evaluated before any head is read.
 * - Each stream's head is read once; an append whose expected version does not hold writes
 *   nothing and answers null — the caller runs it alone through append_to_stream, which decides
 *   it (a ConcurrencyError, or a write after all for `any` / `stream_exists`).
 * - Events get positions in the batch's order (by stream id): the transaction's slots, with
 *   unused ones (appends that wrote nothing) left as gaps, which positions allow.
 * - A version another writer took meanwhile raises a unique violation that rolls the whole
 *   statement back; the caller then runs each append alone, as for any batch that raises.
 *
 * Resolves per append (in batch order): its result, or undefined when it wrote nothing.
 */
export async function appendDistinctStreams(
  pool: pg.Pool,
  settings: AppendSettings,
  batch: readonly AppendRows[],
): Promise<Array<AppendResult | undefined>> {
  const streamIds: string[] = [];
  const expected: number[] = [];
  const appendIndex: number[] = [];
  const ordinal: number[] = [];
  const ids: string[] = [];
  const types: string[] = [];
  const schemaVersions: number[] = [];
  const data: string[] = [];
  const metadata: string[] = [];
  const recordedAt: Date[] = [];
  batch.forEach((rows, index) => {
    streamIds.push(rows.prepared.streamId);
    expected.push(encodeExpectedVersion(rows.prepared.expectedVersion));
    recordedAt.push(rows.recordedAt);
    for (let e = 0; e < rows.ids.length; e++) {
      appendIndex.push(index + 1);
      ordinal.push(e + 1);
      ids.push(rows.ids[e]!);
      types.push(rows.types[e]!);
      schemaVersions.push(rows.schemaVersions[e]!);
      data.push(rows.data[e]!);
      metadata.push(rows.metadata[e]!);
    }
  });
  const result = await pool.query<GroupRow>({
    name: `${settings.statementName}:groupPlain`,
    text: groupStatement(settings),
    values: [streamIds, expected, recordedAt, appendIndex, ordinal, ids, types, schemaVersions, data, metadata],
    types: numericBigints,
  });
  const outcomes: Array<AppendResult | undefined> = new Array(batch.length).fill(undefined);
  for (const row of result.rows) {
    if (row.first_position == null || row.last_version == null) continue;
    outcomes[row.i - 1] = writtenResult(batch[row.i - 1]!, BigInt(row.first_position), row.last_version);
  }
  return outcomes;
}

const statements = new Map<string, string>();

function groupStatement(settings: AppendSettings): string {
  let text = statements.get(settings.quotedSchema);
  if (text) return text;
  const events = `${settings.quotedSchema}.events`;
  const { any, no_stream, stream_exists } = expectedVersionSentinels;
  text = `WITH appends AS MATERIALIZED (
  SELECT sorted.i, sorted.stream_id, sorted.expected, sorted.recorded_at,
         pg_advisory_xact_lock(hashtextextended('${settings.schema}:' || sorted.stream_id, 0)) AS locked
    FROM (SELECT a.i, a.stream_id, a.expected, a.recorded_at
            FROM unnest($1::text[], $2::bigint[], $3::timestamptz[]) WITH ORDINALITY AS a(stream_id, expected, recorded_at, i)
           ORDER BY a.stream_id
          OFFSET 0) sorted
), heads AS MATERIALIZED (
  SELECT ap.i, ap.stream_id, ap.expected, ap.recorded_at, ap.locked,
         coalesce((SELECT max(e.version) FROM ${events} e WHERE e.stream_id = ap.stream_id), 0) AS v
    FROM appends ap
), written AS (
  INSERT INTO ${events} (position, id, stream_id, version, type, schema_version, data, metadata, recorded_at)
  SELECT ${positionSql(settings.quotedSchema, 'pg_current_xact_id()')} + t.k - 1, t.id, h.stream_id, h.v + t.ord, t.type, t.schema_version,
         t.data::json, t.metadata::json, h.recorded_at
    FROM unnest($4::integer[], $5::integer[], $6::uuid[], $7::text[], $8::integer[], $9::text[], $10::text[])
           WITH ORDINALITY AS t(i, ord, id, type, schema_version, data, metadata, k)
    JOIN heads h ON h.i = t.i
   WHERE h.expected = ${any}
      OR (h.expected = ${no_stream} AND h.v = 0)
      OR (h.expected = ${stream_exists} AND h.v > 0)
      OR h.expected = h.v
   ORDER BY t.k
  RETURNING stream_id, position, version
)
SELECT h.i::integer AS i, min(w.position)::text AS first_position, max(w.version) AS last_version
  FROM heads h LEFT JOIN written w ON w.stream_id = h.stream_id
 GROUP BY h.i`;
  statements.set(settings.quotedSchema, text);
  return text;
}
