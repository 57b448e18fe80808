import {
  type AggregateResult,
  assertValidStreamId,
  checkAggregateOptions,
  type DomainEvent,
  resolveStreamRange,
  type StreamOperations,
} from '@tidemark/core';
import { toRecordedEvent } from './sqliteRowMapping.js';
import type { SqliteStatements } from './sqliteStatements.js';

export type StreamReads = Omit<StreamOperations, 'appendToStream'>;

/**
 * Stream reads over one connection's statements: the store's reader connection (committed
 * events only) or, inside a transaction, the writer (which also sees the transaction's own
 * appends). `enter` runs before each read: it throws once the owner is closed or finished.
 */
export function createSqliteStreamReads(statements: SqliteStatements, enter: () => void): StreamReads {
  return {
    async readStream(streamId, options) {
      enter();
      assertValidStreamId(streamId);
      const range = resolveStreamRange(options);
      const statement = range.direction === 'forwards' ? statements.readForwards : statements.readBackwards;
      return statement.all(streamId, range.low, range.high, range.limit).map(toRecordedEvent);
    },
    async streamExists(streamId) {
      enter();
      assertValidStreamId(streamId);
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
      const upTo = options?.upToVersion ?? Number.MAX_SAFE_INTEGER;
      const asOf = options?.asOf?.getTime() ?? Number.POSITIVE_INFINITY;
      let state = evolver.initialState();
      let version = 0;
      // upToVersion bounds the index range in SQL. asOf stops the fold at the first later event
      // (foldEvents' rule, even if a clock once went backwards); breaking out of the iterator
      // stops SQLite there too, where a `recorded_at <= ?` filter would still walk the whole
      // rest of the stream looking for matches.
      if (upTo > 0) {
        for (const row of statements.readForwards.iterate(streamId, 1, upTo, Number.MAX_SAFE_INTEGER)) {
          if (row[8] > asOf) break;
          state = evolver.evolve(state, toRecordedEvent(row) as unknown as Event);
          version = row[3];
        }
      }
      return { state, version, exists: version > 0 };
    },
  };
}
