import {
  type AggregateResult,
  assertValidStreamId,
  checkAggregateOptions,
  type DomainEvent,
  type EventPipeline,
  isPromiseLike,
  type RecordedEvent,
  resolveStreamRange,
  type StreamOperations,
  StreamTruncatedError,
} from '@tidemark/core';
import { toFoldedEvent, toRecordedEvent } from './sqliteRowMapping.js';
import { assertStreamReadable } from './sqliteStreamLifecycle.js';

/** Events folded per query: big enough to amortise the query, small enough to bound memory. */
const foldPageSize = 1000;

import type { SqliteStatements } from './sqliteStatements.js';

export type StreamReads = Omit<StreamOperations, 'appendToStream'>;

/**
 * Stream reads over one connection's statements: the store's reader connection (committed
 * events only) or, inside a transaction, the writer (which also sees the transaction's own
 * appends). `enter` runs before each read: it throws once the owner is closed or finished.
 */
export function createSqliteStreamReads(statements: SqliteStatements, enter: () => void, pipeline: EventPipeline): StreamReads {
  /** Throws for a deleted stream; returns the first version it keeps (1 unless archived). */
  const readable = (streamId: string) => assertStreamReadable(statements.streamLifecycle.get(streamId), streamId);
  return {
    async readStream(streamId, options) {
      enter();
      assertValidStreamId(streamId);
      const range = resolveStreamRange(options);
      readable(streamId);
      const statement = range.direction === 'forwards' ? statements.readForwards : statements.readBackwards;
      const events = statement.all(streamId, range.low, range.high, range.limit).map(toRecordedEvent);
      return range.direction === 'forwards' ? pipeline.read(events) : pipeline.readBackwards(events);
    },
    async streamExists(streamId) {
      enter();
      assertValidStreamId(streamId);
      readable(streamId);
      return statements.streamVersion.get(streamId) != null;
    },
    async aggregateStream<Event extends DomainEvent, State>(
      streamId: string,
      evolver: { evolve(state: State, event: Event): State; initialState(): State },
      options?: { upToVersion?: number; asOf?: Date },
    ): Promise<AggregateResult<State>> {
      enter();
      assertValidStreamId(streamId);
      checkAggregateOptions(options);
      const firstVersion = readable(streamId);
      if (firstVersion > 1) throw new StreamTruncatedError(streamId, firstVersion);
      const upTo = options?.upToVersion ?? Number.MAX_SAFE_INTEGER;
      const asOf = options?.asOf?.getTime() ?? Number.POSITIVE_INFINITY;
      let state = evolver.initialState();
      let version = 0;
      // upToVersion bounds the version range in SQL. asOf stops the fold at the first later event
      // (foldEvents' rule, which holds even if a clock once went backwards); stopping there also
      // stops reading, where a `recorded_at <= ?` filter would walk the rest of the stream.
      // Versions are contiguous, so pages are version ranges: `.all()` on a page is faster than
      // stepping an iterator row by row, and memory stays bounded for any stream length.
      let low = 1;
      fold: while (low <= upTo) {
        // Again for each page: an async read stage awaits between them, and the owner may close meanwhile.
        if (low > 1) enter();
        const high = Math.min(upTo, low + foldPageSize - 1);
        const rows = statements.foldPage.all(streamId, low, high);
        if (pipeline.reads) {
          // The stages see the page as one batch; a row past asOf ends the fold after it.
          const cut = rows.findIndex((row) => row[7] > asOf);
          const page = (cut === -1 ? rows : rows.slice(0, cut)).map((row) => toFoldedEvent(row, streamId));
          const read = pipeline.read(page);
          for (const event of isPromiseLike(read) ? await read : (read as RecordedEvent[])) {
            state = evolver.evolve(state, event as unknown as Event);
            version = event.version;
          }
          if (cut !== -1) break;
        } else {
          for (const row of rows) {
            if (row[7] > asOf) break fold;
            state = evolver.evolve(state, toFoldedEvent(row, streamId) as unknown as Event);
            version = row[2];
          }
        }
        if (rows.length < high - low + 1) break;
        low = high + 1;
      }
      return { state, version, exists: version > 0 };
    },
  };
}
