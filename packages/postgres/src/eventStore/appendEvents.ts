import {
  type AppendLimits,
  type AppendOptions,
  type AppendResult,
  assertRetryPayload,
  type Clock,
  ConcurrencyError,
  DuplicateEventIdError,
  detectRetry,
  type EventMetadata,
  type ExpectedVersion,
  type NewEvent,
  PayloadTooLargeError,
  type PreparedAppend,
  prepareAppend,
  type StoredEventPayload,
  type StoredEventRef,
  TransactionConflictError,
  writtenAppendResult,
} from '@tidemark/core';
import { appendStatus, expectedVersionSentinels, maxEventsPerTransaction } from '../schema/migrations.js';
import { numericBigints } from './eventRows.js';
import type { Queryable } from './queryable.js';
import { StreamOrderConflictError } from './streamOrderConflictError.js';

/** What every append needs to know about its store. */
export interface AppendSettings {
  /** The schema name as validated (assertValidSchemaName): it keys the streams' advisory locks. */
  schema: string;
  /** The quoted schema name. */
  quotedSchema: string;
  /** Prepared-statement name: parsed and planned once per connection. */
  statementName: string;
  limits: AppendLimits;
  defaultMetadata: EventMetadata | undefined;
  clock: Clock;
}

/** One row of append_to_stream, as the store selects it. */
export interface AppendRow {
  status: number;
  version: number;
  /** As text: positions pass 2^53. */
  first_position: string | null;
  found_ids: string[] | null;
  found_streams: string[] | null;
  found_versions: string[] | null;
  found_positions: string[] | null;
}

export function encodeExpectedVersion(expected: ExpectedVersion): number {
  return typeof expected === 'number' ? expected : expectedVersionSentinels[expected];
}

/** An append validated and serialised, as the columns the database takes. */
export interface AppendRows {
  prepared: PreparedAppend;
  recordedAt: Date;
  ids: string[];
  types: string[];
  schemaVersions: number[];
  data: string[];
  metadata: string[];
}

/**
 * Validates in TypeScript (nothing reaches the database unless the whole batch is valid) and
 * lays the events out as columns.
 */
export function prepareAppendRows(
  settings: AppendSettings,
  streamId: string,
  events: readonly NewEvent[],
  options: AppendOptions | undefined,
): AppendRows {
  // Counted before validating: serialising a million events only to refuse them is waste.
  const count = Array.isArray(events) ? events.length : 0;
  if (count > maxEventsPerTransaction) {
    throw new PayloadTooLargeError(`The append has ${count} events; the limit is ${maxEventsPerTransaction}`, {
      limit: maxEventsPerTransaction,
      actual: count,
    });
  }
  const prepared = prepareAppend(streamId, events, options, settings.limits, settings.defaultMetadata);
  const rows: AppendRows = {
    prepared,
    recordedAt: settings.clock.now(),
    ids: new Array(count),
    types: new Array(count),
    schemaVersions: new Array(count),
    data: new Array(count),
    metadata: new Array(count),
  };
  prepared.events.forEach((event, i) => {
    rows.ids[i] = event.id;
    rows.types[i] = event.type;
    rows.schemaVersions[i] = event.schemaVersion;
    rows.data[i] = event.dataJson;
    rows.metadata[i] = event.metadataJson;
  });
  return rows;
}

/**
 * One append, one round trip: validates, then calls append_to_stream on `runner` — the pool, or
 * a transaction's statement queue.
 */
export async function appendEvents(
  runner: Queryable,
  settings: AppendSettings,
  streamId: string,
  events: readonly NewEvent[],
  options: AppendOptions | undefined,
): Promise<AppendResult> {
  return callAppendFunction(runner, settings, prepareAppendRows(settings, streamId, events, options));
}

/** append_to_stream for prepared rows: the path that decides every case (see migrations.ts). */
export async function callAppendFunction(runner: Queryable, settings: AppendSettings, rows: AppendRows): Promise<AppendResult> {
  const { streamId } = rows.prepared;
  let row: AppendRow;
  try {
    const result = await runner.query<AppendRow>({
      name: settings.statementName,
      text: `SELECT ${appendFunctionColumns} FROM ${settings.quotedSchema}.append_to_stream($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      values: appendFunctionParameters(rows),
      types: numericBigints,
    });
    row = result.rows[0] as AppendRow;
  } catch (error) {
    throw mapAppendError(error, streamId);
  }

  return appendFunctionResult(runner, settings, rows, row);
}

/**
 * What one append_to_stream row means for its append: the result, or the typed error to throw.
 * `runner` serves the retry path's payload comparison (a second round trip only there).
 */
export async function appendFunctionResult(
  runner: Queryable,
  settings: AppendSettings,
  rows: AppendRows,
  row: AppendRow,
): Promise<AppendResult> {
  const { prepared } = rows;
  const { streamId } = prepared;
  const count = prepared.events.length;
  switch (row.status) {
    case appendStatus.written:
      return writtenResult(rows, BigInt(row.first_position as string), row.version);
    case appendStatus.wrongVersion:
      throw new ConcurrencyError(streamId, prepared.expectedVersion, row.version);
    case appendStatus.idsFound: {
      const found = new Map<string, StoredEventRef>();
      (row.found_ids ?? []).forEach((id, i) => {
        found.set(id, {
          streamId: row.found_streams?.[i] as string,
          version: Number(row.found_versions?.[i]),
          position: BigInt(row.found_positions?.[i] as string),
        });
      });
      // Same rules as every other store: an identical earlier batch is a retry, anything else throws.
      const retry = detectRetry(prepared, found);
      if (!retry) throw new Error('append_to_stream reported stored ids but none matched'); // unreachable: found is non-empty
      assertRetryPayload(prepared, await storedPayloads(runner, settings, prepared), settings.defaultMetadata);
      return { streamId, ...retry, written: false, events: [] };
    }
    case appendStatus.transactionFull:
      throw new PayloadTooLargeError(
        `The transaction already appended ${row.version} events; with ${count} more it would pass the limit of ${maxEventsPerTransaction}`,
        { limit: maxEventsPerTransaction, actual: row.version + count },
      );
    case appendStatus.outOfOrder:
      throw new StreamOrderConflictError(streamId, prepared.expectedVersion, row.version);
    default:
      throw new Error(`append_to_stream returned unknown status ${row.status}`);
  }
}

/**
 * The stored payloads of a retry's events, to compare with the retry's own. A second round
 * trip, only on the retry path: appends that write pay nothing for it. Stored events never
 * change, so on the pool it may run on another connection than the append did. data and
 * metadata are json columns, which keep the text they were given: ::text returns it exactly.
 */
async function storedPayloads(
  runner: Queryable,
  settings: AppendSettings,
  prepared: PreparedAppend,
): Promise<Map<string, StoredEventPayload>> {
  const result = await runner.query<[string, string, number, string, string]>({
    name: `${settings.statementName}:retryPayloads`,
    text: `SELECT id::text, type, schema_version, data::text, metadata::text FROM ${settings.quotedSchema}.events WHERE id = ANY ($1::uuid[])`,
    values: [prepared.events.map((event) => event.id)],
    rowMode: 'array',
  });
  return new Map(
    result.rows.map(([id, type, schemaVersion, dataJson, metadataJson]) => [id, { type, schemaVersion, dataJson, metadataJson }]),
  );
}

/** The columns of append_to_stream the store reads (found_ids as text, for the comparison with string ids). */
export const appendFunctionColumns =
  'status, version, first_position::text AS first_position, found_ids::text[] AS found_ids, found_streams, found_versions, found_positions';

/** The nine arguments of append_to_stream for one append, in order. */
export function appendFunctionParameters(rows: AppendRows): unknown[] {
  const { prepared } = rows;
  return [
    prepared.streamId,
    encodeExpectedVersion(prepared.expectedVersion),
    rows.ids,
    rows.types,
    rows.schemaVersions,
    rows.data,
    rows.metadata,
    rows.recordedAt,
    prepared.anyIdSupplied,
  ];
}

/** The result of a written append: its events got `firstPosition` onwards and end at `lastVersion`. */
export function writtenResult(rows: AppendRows, firstPosition: bigint, lastVersion: number): AppendResult {
  const { prepared, recordedAt } = rows;
  return writtenAppendResult(prepared, lastVersion - prepared.events.length + 1, firstPosition, recordedAt.getTime());
}

/**
 * A stream version taken by a concurrent append after the failing statement's snapshot was
 * taken (a unique violation on (stream_id, version) from append_to_stream). Under the stream's
 * lock a READ COMMITTED statement sees the head its last writer committed, so this needs a
 * snapshot older than the lock: an autocommit call under a role's or database's default of
 * REPEATABLE READ, whose one snapshot is taken when the statement starts, before it waits for
 * the lock. The autocommit path recognises it by this class (autocommitAppend.ts) and runs the
 * append again in an explicit READ COMMITTED transaction, which cannot meet it.
 */
export class StaleSnapshotConflictError extends TransactionConflictError {}

/**
 * The function reports expected conflicts as statuses; what still arrives as an error is a
 * race the row lock cannot cover: the same id appended to ANOTHER stream concurrently.
 *
 * And, as a backstop, a stream version taken under our feet (StaleSnapshotConflictError;
 * transactions begin READ COMMITTED explicitly: beginReadCommitted.ts). The statement aborted
 * and a fresh one sees the new head, so it is a TransactionConflictError, which `{ retry }`
 * runs again — not a ConcurrencyError, which would wrongly refuse an `any` append and claim a
 * version this snapshot never saw.
 */
export function mapAppendError(error: unknown, streamId: string): unknown {
  const pgError = error as { code?: string; constraint?: string; detail?: string };
  if (pgError.code === '23505' && pgError.constraint === 'events_id_key') {
    const id = /\(id\)=\(([0-9a-f-]{36})\)/i.exec(pgError.detail ?? '')?.[1] ?? 'unknown';
    return new DuplicateEventIdError(streamId, id);
  }
  if (pgError.code === '23505' && pgError.constraint === 'events_stream_id_version_key') {
    return new StaleSnapshotConflictError(
      `A concurrent append took a version of stream '${streamId}' after this statement's snapshot; run it again`,
      { sqlState: pgError.code, streamId },
      { cause: error },
    );
  }
  return error;
}
