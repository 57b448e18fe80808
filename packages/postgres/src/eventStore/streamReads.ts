import {
  assertValidStreamId,
  checkAggregateOptions,
  type EventPipeline,
  foldEvents,
  isPromiseLike,
  resolveStreamRange,
  type StreamOperations,
} from '@tidemark/core';
import { runCopyFold } from './copyFoldQuery.js';
import { earliestTimestampMs } from './earliestTimestamp.js';
import { eventTypes, packedStreamEvent, toRecordedEvent } from './eventRows.js';
import { foldCopyColumns } from './foldTuples.js';
import type { Queryable } from './queryable.js';
import { sqlStringLiteral } from './sqlStringLiteral.js';

export type StreamReads = Omit<StreamOperations, 'appendToStream'>;

/**
 * Per-stream reads, shared by the store (on the pool: committed events) and by a transaction
 * (on its statement queue: its own uncommitted appends included). Per-stream reads need no
 * visibility horizon: a stream's versions are contiguous and its writers serialise on the
 * stream's lock.
 */
export function createStreamReads(
  runner: () => Queryable,
  quotedSchema: string,
  statementPrefix: string,
  pipeline: EventPipeline,
): StreamReads {
  const events = `${quotedSchema}.events`;
  // Raises for a deleted stream (and, with true as in a fold, an archived beginning): see postgresStreamLifecycle.ts.
  const readable = `(SELECT ${quotedSchema}.tidemark_stream_readable($1, false))`;
  const readForwards = `SELECT ${packedStreamEvent} FROM ${events}
     WHERE stream_id = $1 AND version BETWEEN $2 AND $3 AND ${readable} ORDER BY version LIMIT $4`;
  const readBackwards = `SELECT ${packedStreamEvent} FROM ${events}
     WHERE stream_id = $1 AND version BETWEEN $2 AND $3 AND ${readable} ORDER BY version DESC LIMIT $4`;
  const exists = `SELECT ${readable} AND EXISTS (SELECT 1 FROM ${events} WHERE stream_id = $1) AS exists`;
  // A fold is a binary COPY (copyFoldQuery.ts), which takes no parameters: the stream id and the
  // bounds are written into the statement as literals, asOf as whole milliseconds since the
  // epoch (earliestTimestamp.ts). No ORDER BY: CopyFoldQuery puts the rows in version order.
  // foldEvents stops at the first event recorded after asOf (a clock may step back), so the SQL
  // cuts at that event's version rather than filtering on recorded_at row by row.
  const foldStatement = (streamId: string, upTo: number, asOf: Date | undefined): string => {
    const id = sqlStringLiteral(streamId);
    const cut =
      asOf === undefined
        ? ''
        : `AND version < coalesce((SELECT version FROM ${events} WHERE stream_id = ${id}
             AND recorded_at > timestamptz 'epoch' + ${Math.max(asOf.getTime(), earliestTimestampMs)} * interval '1 millisecond' ORDER BY version LIMIT 1), ${upTo + 1})`;
    return `COPY (SELECT ${foldCopyColumns} FROM ${events}
       WHERE stream_id = ${id} AND version <= ${upTo} AND (SELECT ${quotedSchema}.tidemark_stream_readable(${id}, true)) ${cut})
       TO STDOUT (FORMAT binary)`;
  };

  return {
    async readStream(streamId, options) {
      assertValidStreamId(streamId);
      const range = resolveStreamRange(options);
      const backwards = range.direction === 'backwards';
      const result = await runner().query({
        name: `${statementPrefix}:read${backwards ? 'Backwards' : 'Forwards'}`,
        text: backwards ? readBackwards : readForwards,
        values: [streamId, range.low, range.high, range.limit],
        rowMode: 'array',
        types: eventTypes,
      });
      const events = result.rows.map((row) => toRecordedEvent(row, streamId));
      return backwards ? pipeline.readBackwards(events) : pipeline.read(events);
    },
    async streamExists(streamId) {
      assertValidStreamId(streamId);
      const result = await runner().query<{ exists: boolean }>({ name: `${statementPrefix}:exists`, text: exists, values: [streamId] });
      return result.rows[0]?.exists === true;
    },
    async aggregateStream(streamId, evolver, options) {
      assertValidStreamId(streamId);
      checkAggregateOptions(options);
      const upTo = options?.upToVersion ?? Number.MAX_SAFE_INTEGER;
      const events = await runCopyFold(runner(), foldStatement(streamId, upTo, options?.asOf), streamId);
      // The SQL already cut at upToVersion / asOf: the stages see exactly the events folded.
      const read = pipeline.read(events);
      return foldEvents(isPromiseLike(read) ? await read : read, evolver, options);
    },
  };
}
