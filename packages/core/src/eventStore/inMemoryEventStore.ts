import { createMutex } from '../concurrency/mutex.js';
import { resolveRetryOptions, retryUnitOfWork, type TransactionOptions } from '../concurrency/retryUnitOfWork.js';
import { createTransactionScope } from '../concurrency/transactionScope.js';
import type { Clock } from '../domain/clock.js';
import { systemClock } from '../domain/clock.js';
import { ValidationError } from '../domain/errors.js';
import type { EventMetadata, RecordedEvent } from '../domain/event.js';
import { streamCategory } from '../domain/event.js';
import { tracedAppend } from '../tracing/tracedAppend.js';
import { type ErrorReporter, runAfterCommit, warnOnError } from './afterCommitCallbacks.js';
import { checkAggregateOptions, foldEvents } from './aggregate.js';
import { type AppendLimits, defaultAppendLimits } from './appendLimits.js';
import type { AppendHook, EventStore, StoreTransaction, StreamOperations } from './eventStore.js';
import { assertExpectedVersion } from './expectedVersion.js';
import { assertRetryPayload, detectRetry } from './idempotentAppend.js';
import { assertValidStreamId, prepareAppend } from './prepareAppend.js';
import { resolveAllRange, resolveStreamRange } from './readOptions.js';
import { assertAppendAllowed, resolveDurability, type TransactionDurability } from './transactionDurability.js';

export interface InMemoryEventStoreOptions {
  limits?: Partial<AppendLimits>;
  /** Merged under every event's own metadata (service name and version, say). */
  defaultMetadata?: EventMetadata;
  clock?: Clock;
  /** Receives failures of afterCommit callbacks and onAppended listeners. Default: a process warning. */
  onError?: ErrorReporter;
}

export type InMemoryTransaction = StoreTransaction;

/** Events are kept serialised, as a real store keeps them: readers get fresh copies. */
interface Row {
  id: string;
  type: string;
  schemaVersion: number;
  streamId: string;
  version: number;
  position: bigint;
  recordedAt: number;
  dataJson: string;
  metadataJson: string;
}

function toRecorded(row: Row): RecordedEvent {
  return {
    id: row.id,
    type: row.type,
    schemaVersion: row.schemaVersion,
    streamId: row.streamId,
    version: row.version,
    position: row.position,
    recordedAt: new Date(row.recordedAt),
    data: JSON.parse(row.dataJson),
    metadata: JSON.parse(row.metadataJson),
  };
}

/**
 * The reference adapter: every contract holds here first. Transactions are serialised (one at
 * a time, as on an embedded database), and their appends are staged until commit so that
 * readers never see uncommitted events.
 */
export function createInMemoryEventStore(options: InMemoryEventStoreOptions = {}): EventStore<InMemoryTransaction> {
  const limits = { ...defaultAppendLimits, ...options.limits };
  const clock = options.clock ?? systemClock;
  const log: Row[] = [];
  const streams = new Map<string, Row[]>();
  const ids = new Map<string, Row>();
  const hooks: AppendHook<InMemoryTransaction>[] = [];
  const listeners = new Set<() => void>();
  const mutex = createMutex();
  const scope = createTransactionScope();
  let closed = false;

  const assertOpen = () => {
    if (closed) throw new ValidationError('The event store is closed');
  };

  const onError = options.onError ?? warnOnError;

  // async: a closed store (or a nested call) rejects like every other operation, never throws synchronously.
  async function transaction<T>(work: (tx: InMemoryTransaction) => Promise<T>, transactionOptions?: TransactionOptions): Promise<T> {
    assertOpen();
    // From the work of one of our transactions: the mutex is held by that work, so this would wait forever.
    scope.assertOutside('transaction');
    // Nothing to flush in memory; the option is still checked, and still refuses appends.
    const durability = resolveDurability(transactionOptions?.durability);
    if (!transactionOptions?.retry) return runOnce(work, durability);
    const retry = resolveRetryOptions(transactionOptions.retry);
    return retryUnitOfWork(() => runOnce(work, durability), retry);
  }

  function runOnce<T>(work: (tx: InMemoryTransaction) => Promise<T>, durability: TransactionDurability = 'full'): Promise<T> {
    return mutex.run(async () => {
      let staged: Row[] = [];
      const onCommit: Array<() => void> = [];
      const onRollback: Array<() => void> = [];
      const rowsOf = (streamId: string): Row[] => {
        const committed = streams.get(streamId) ?? [];
        const pending = staged.filter((row) => row.streamId === streamId);
        return pending.length === 0 ? committed : [...committed, ...pending];
      };
      const reads = readOperations(rowsOf);
      const tx: InMemoryTransaction = {
        ...reads,
        clock,
        appendToStream: tracedAppend(async (streamId, events, appendOptions) => {
          assertAppendAllowed(durability);
          const prepared = prepareAppend(streamId, events, appendOptions, limits, options.defaultMetadata);
          if (prepared.anyIdSupplied) {
            const found = new Map<string, Row>();
            for (const event of prepared.events) {
              const row = ids.get(event.id) ?? staged.find((r) => r.id === event.id);
              if (row) found.set(event.id, row);
            }
            const retry = detectRetry(prepared, found);
            if (retry) {
              assertRetryPayload(prepared, found, options.defaultMetadata);
              return { streamId, ...retry, written: false, events: [] };
            }
          }
          const current = rowsOf(streamId).length;
          assertExpectedVersion(streamId, prepared.expectedVersion, current);
          const recordedAt = clock.now().getTime();
          const first = log.length + staged.length + 1;
          const rows = prepared.events.map(
            (event, i): Row => ({
              id: event.id,
              type: event.type,
              schemaVersion: event.schemaVersion,
              streamId,
              version: current + i + 1,
              position: BigInt(first + i),
              recordedAt,
              dataJson: event.dataJson,
              metadataJson: event.metadataJson,
            }),
          );
          const before = staged;
          staged = [...staged, ...rows];
          const recorded = rows.map(toRecorded);
          try {
            // Hooks write in the same unit of work; a failing hook undoes this append alone.
            for (const hook of hooks) await hook(recorded, tx);
          } catch (error) {
            staged = before;
            throw error;
          }
          const last = rows[rows.length - 1] as Row;
          return { streamId, nextExpectedVersion: last.version, position: last.position, written: true, events: recorded };
        }),
        afterCommit: (callback) => onCommit.push(callback),
        afterRollback: (callback) => onRollback.push(callback),
      };
      let result: T;
      try {
        result = await scope.run(() => work(tx));
      } catch (error) {
        for (const callback of onRollback) callback();
        throw error;
      }
      for (const row of staged) {
        log.push(row);
        ids.set(row.id, row);
        const stream = streams.get(row.streamId);
        if (stream) stream.push(row);
        else streams.set(row.streamId, [row]);
      }
      runAfterCommit(onCommit, onError, 'afterCommit callback failed');
      if (staged.length > 0) runAfterCommit([...listeners], onError, 'onAppended listener failed');
      return result;
    });
  }

  const committedReads = readOperations((streamId) => streams.get(streamId) ?? []);

  return {
    ...committedReads,
    async appendToStream(streamId, events, appendOptions) {
      scope.assertOutside('appendToStream');
      return transaction((tx) => tx.appendToStream(streamId, events, appendOptions));
    },
    async *readAll(readOptions) {
      assertOpen();
      const range = resolveAllRange(readOptions);
      let delivered = 0;
      // Positions are dense: position p lives at index p - 1. Re-read the length each step
      // so events committed while iterating are included.
      for (let index = Number(range.after); index < log.length && delivered < range.limit; index++) {
        const row = log[index] as Row;
        if (range.types && !range.types.includes(row.type)) continue;
        if (range.categories && !range.categories.includes(streamCategory(row.streamId))) continue;
        delivered++;
        yield toRecorded(row);
      }
    },
    headPosition: async () => BigInt(log.length),
    transaction,
    onAppended(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    addAppendHook: (hook) => void hooks.push(hook),
    async close() {
      closed = true;
    },
  };

  function readOperations(rowsOf: (streamId: string) => readonly Row[]): Omit<StreamOperations, 'appendToStream'> {
    return {
      async readStream(streamId, readOptions) {
        assertOpen();
        assertValidStreamId(streamId);
        const range = resolveStreamRange(readOptions);
        const rows = rowsOf(streamId).filter((row) => row.version >= range.low && row.version <= range.high);
        if (range.direction === 'backwards') rows.reverse();
        return rows.slice(0, range.limit).map(toRecorded);
      },
      async streamExists(streamId) {
        assertOpen();
        assertValidStreamId(streamId);
        return rowsOf(streamId).length > 0;
      },
      async aggregateStream(streamId, evolver, aggregateOptions) {
        assertOpen();
        assertValidStreamId(streamId);
        checkAggregateOptions(aggregateOptions);
        return foldEvents(rowsOf(streamId).map(toRecorded), evolver, aggregateOptions);
      },
    };
  }
}
