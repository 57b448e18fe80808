import {
  type AppendLimits,
  type AppendOptions,
  type AppendResult,
  type Clock,
  ConcurrencyError,
  DuplicateEventIdError,
  detectRetry,
  type EventMetadata,
  type ExpectedVersion,
  type NewEvent,
  PayloadTooLargeError,
  prepareAppend,
  type RecordedEvent,
  type StoredEventRef,
} from '@tidemark/core';
import type pg from 'pg';
import { appendStatus, expectedVersionSentinels, maxEventsPerTransaction } from '../schema/migrations.js';
import { numericBigints } from './eventRows.js';
import { StreamOrderConflictError } from './streamOrderConflictError.js';

/** What every append needs to know about its store. */
export interface AppendSettings {
  /** The quoted schema name. */
  quotedSchema: string;
  /** Prepared-statement name: parsed and planned once per connection. */
  statementName: string;
  limits: AppendLimits;
  defaultMetadata: EventMetadata | undefined;
  clock: Clock;
}

interface AppendRow {
  status: number;
  version: number;
  first_position: number | null;
  found_ids: string[] | null;
  found_streams: string[] | null;
  found_versions: string[] | null;
  found_positions: string[] | null;
}

function encodeExpectedVersion(expected: ExpectedVersion): number {
  return typeof expected === 'number' ? expected : expectedVersionSentinels[expected];
}

/**
 * One append, one round trip: validates in TypeScript (nothing reaches the database unless the
 * whole batch is valid), then calls append_to_stream on `runner` — the pool for an autocommit
 * append, or a transaction's client.
 */
export async function appendEvents(
  runner: pg.Pool | pg.ClientBase,
  settings: AppendSettings,
  streamId: string,
  events: readonly NewEvent[],
  options: AppendOptions | undefined,
): Promise<AppendResult> {
  // Counted before validating: serialising a million events only to refuse them is waste.
  const count = Array.isArray(events) ? events.length : 0;
  if (count > maxEventsPerTransaction) {
    throw new PayloadTooLargeError(`The append has ${count} events; the limit is ${maxEventsPerTransaction}`, {
      limit: maxEventsPerTransaction,
      actual: count,
    });
  }
  const prepared = prepareAppend(streamId, events, options, settings.limits, settings.defaultMetadata);
  const recordedAt = settings.clock.now();
  const ids: string[] = new Array(count);
  const types: string[] = new Array(count);
  const schemaVersions: number[] = new Array(count);
  const data: string[] = new Array(count);
  const metadata: string[] = new Array(count);
  prepared.events.forEach((event, i) => {
    ids[i] = event.id;
    types[i] = event.type;
    schemaVersions[i] = event.schemaVersion;
    data[i] = event.dataJson;
    metadata[i] = event.metadataJson;
  });
  let row: AppendRow;
  try {
    const result = await runner.query<AppendRow>({
      name: settings.statementName,
      text: `SELECT status, version, first_position, found_ids::text[] AS found_ids, found_streams, found_versions, found_positions
               FROM ${settings.quotedSchema}.append_to_stream($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      values: [
        streamId,
        encodeExpectedVersion(prepared.expectedVersion),
        ids,
        types,
        schemaVersions,
        data,
        metadata,
        recordedAt,
        prepared.anyIdSupplied,
      ],
      types: numericBigints,
    });
    row = result.rows[0] as AppendRow;
  } catch (error) {
    throw mapAppendError(error, streamId);
  }

  switch (row.status) {
    case appendStatus.written: {
      const first = row.first_position as number;
      const firstVersion = row.version - count + 1;
      const stored = prepared.events.map(
        (event, i): RecordedEvent => ({
          id: event.id,
          type: event.type,
          schemaVersion: event.schemaVersion,
          streamId,
          version: firstVersion + i,
          position: first + i,
          recordedAt: new Date(recordedAt.getTime()),
          data: JSON.parse(event.dataJson),
          metadata: JSON.parse(event.metadataJson),
        }),
      );
      return { streamId, nextExpectedVersion: row.version, position: first + count - 1, written: true, events: stored };
    }
    case appendStatus.wrongVersion:
      throw new ConcurrencyError(streamId, prepared.expectedVersion, row.version);
    case appendStatus.idsFound: {
      const found = new Map<string, StoredEventRef>();
      (row.found_ids ?? []).forEach((id, i) => {
        found.set(id, {
          streamId: row.found_streams?.[i] as string,
          version: Number(row.found_versions?.[i]),
          position: Number(row.found_positions?.[i]),
        });
      });
      // Same rules as every other store: an identical earlier batch is a retry, anything else throws.
      const retry = detectRetry(prepared, found);
      if (!retry) throw new Error('append_to_stream reported stored ids but none matched'); // unreachable: found is non-empty
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
 * The function reports expected conflicts as statuses; what still arrives as an error is a
 * race the row lock cannot cover: the same id appended to ANOTHER stream concurrently.
 */
function mapAppendError(error: unknown, streamId: string): unknown {
  const pgError = error as { code?: string; constraint?: string; detail?: string };
  if (pgError.code === '23505' && pgError.constraint === 'events_id_key') {
    const id = /\(id\)=\(([0-9a-f-]{36})\)/i.exec(pgError.detail ?? '')?.[1] ?? 'unknown';
    return new DuplicateEventIdError(streamId, id);
  }
  return error;
}
