import { createAppendTurns } from '../concurrency/appendTurns.js';
import { createMutex } from '../concurrency/mutex.js';
import { resolveRetryOptions, retryUnitOfWork, type TransactionOptions } from '../concurrency/retryUnitOfWork.js';
import { createTransactionScope } from '../concurrency/transactionScope.js';
import type { Clock } from '../domain/clock.js';
import { systemClock } from '../domain/clock.js';
import { ValidationError } from '../domain/errors.js';
import type { EventMetadata, NewEvent, RecordedEvent } from '../domain/event.js';
import { streamCategory } from '../domain/event.js';
import { StreamDeletedError, StreamNotFoundError, StreamTruncatedError } from '../domain/streamLifecycleErrors.js';
import { tracedAppend } from '../tracing/tracedAppend.js';
import { createEventPipeline, isPromiseLike } from '../versioning/eventPipeline.js';
import type { EventStage } from '../versioning/eventStage.js';
import { createInMemoryEventSchemaStore } from '../versioning/inMemoryEventSchemaStore.js';
import { createAcceptedCalls } from './acceptedCalls.js';
import { type ErrorReporter, runAfterCommit, warnOnError } from './afterCommitCallbacks.js';
import { checkAggregateOptions, foldEvents } from './aggregate.js';
import { type AppendLimits, resolveAppendLimits } from './appendLimits.js';
import type { AppendHook, AppendOptions, AppendResult, EventStore, StoreTransaction, StreamOperations } from './eventStore.js';
import { assertExpectedVersion } from './expectedVersion.js';
import { assertRetryPayload, detectRetry } from './idempotentAppend.js';
import { logPage } from './logPage.js';
import { assertValidStreamId, prepareAppend } from './prepareAppend.js';
import { resolveAllRange, resolveStreamRange } from './readOptions.js';
import { checkTruncate } from './streamLifecycle.js';
import { assertAppendAllowed, resolveDurability, type TransactionDurability } from './transactionDurability.js';

export interface InMemoryEventStoreOptions {
  limits?: Partial<AppendLimits>;
  /** Merged under every event's own metadata (service name and version, say). */
  defaultMetadata?: EventMetadata;
  clock?: Clock;
  /** Receives failures of afterCommit callbacks and onAppended listeners. Default: a process warning. */
  onError?: ErrorReporter;
  /** The event pipeline (upcasting and validation, then encryption): see EventStage. */
  stages?: readonly EventStage[];
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
  const limits = resolveAppendLimits(options.limits);
  const clock = options.clock ?? systemClock;
  const pipeline = createEventPipeline(options.stages);
  // Archived (truncated) events leave a hole, so that position p still lives at index p - 1.
  const log: Array<Row | undefined> = [];
  /** readAll's filters on a stored row (types as stored: see EventPipeline.storedTypes). */
  const rowFilter = (range: ReturnType<typeof resolveAllRange>) => {
    const types = range.types && pipeline.storedTypes(range.types);
    const categories = range.categories;
    return (row: Row) => (!types || types.includes(row.type)) && (!categories || categories.includes(streamCategory(row.streamId)));
  };
  const streams = new Map<string, Row[]>();
  const ids = new Map<string, Row>();
  const deleted = new Set<string>();
  /** Streams whose events before a version were archived: stream id → first remaining version. */
  const firstVersions = new Map<string, number>();
  const hooks: AppendHook<InMemoryTransaction>[] = [];
  const listeners = new Set<() => void>();
  const mutex = createMutex();
  const scope = createTransactionScope();
  let closed = false;

  const assertOpen = () => {
    if (closed) throw new ValidationError('The event store is closed');
  };

  /** Appends and transactions accepted and not settled yet (write stages, retries): close() waits for them. */
  const { accept, settled } = createAcceptedCalls(assertOpen);
  let closing: Promise<void> | undefined;

  const onError = options.onError ?? warnOnError;

  // A closed store (or a nested call) rejects like every other operation, never throws synchronously.
  function transaction<T>(work: (tx: InMemoryTransaction) => Promise<T>, transactionOptions?: TransactionOptions): Promise<T> {
    return accept(async () => {
      // From the work of one of our transactions: the mutex is held by that work, so this would wait forever.
      scope.assertOutside('transaction');
      // Nothing to flush in memory; the option is still checked, and still refuses appends.
      const durability = resolveDurability(transactionOptions?.durability);
      if (!transactionOptions?.retry) return runOnce(work, durability);
      const retry = resolveRetryOptions(transactionOptions.retry);
      return retryUnitOfWork(() => runOnce(work, durability), retry);
    });
  }

  /**
   * tx.appendToStream without its span, for the store's own (traced) append; `readBack` false
   * leaves the result's events as stored, for a caller that reads them once committed.
   */
  type UntracedAppend = (
    streamId: string,
    events: readonly NewEvent[],
    options: AppendOptions | undefined,
    readBack: boolean,
  ) => Promise<AppendResult>;

  function runOnce<T>(
    work: (tx: InMemoryTransaction, appendUntraced: UntracedAppend) => Promise<T>,
    durability: TransactionDurability = 'full',
  ): Promise<T> {
    return mutex.run(async () => {
      let staged: Row[] = [];
      let finished = false;
      const onCommit: Array<() => void> = [];
      const onRollback: Array<() => void> = [];
      const rowsOf = (streamId: string): Row[] => {
        const committed = streams.get(streamId) ?? [];
        const pending = staged.filter((row) => row.streamId === streamId);
        return pending.length === 0 ? committed : [...committed, ...pending];
      };
      // As in the other stores: a call once the transaction has ended would be lost, not written.
      const assertActive = () => {
        if (finished) throw new ValidationError('This transaction has already committed or rolled back');
      };
      const reads = readOperations(rowsOf, assertActive);
      // An append stages its rows, then awaits (stages, hooks) and restores `staged` when that
      // fails: appends called concurrently take turns, or one's failure would drop the other's
      // rows too. Reads wait for an append in flight, so they never see rows that are then dropped.
      const turns = createAppendTurns();
      const tx: InMemoryTransaction = {
        readStream: (streamId, readOptions) => turns.call(() => reads.readStream(streamId, readOptions)),
        streamExists: (streamId) => turns.call(() => reads.streamExists(streamId)),
        aggregateStream: (streamId, evolver, aggregateOptions) =>
          turns.call(() => reads.aggregateStream(streamId, evolver, aggregateOptions)),
        clock,
        appendToStream: tracedAppend((streamId, events, appendOptions) => turns.unit(() => append(streamId, events, appendOptions, true))),
        afterCommit: (callback) => onCommit.push(callback),
        afterRollback: (callback) => onRollback.push(callback),
      };
      const append = async (streamId: string, events: readonly NewEvent[], appendOptions: AppendOptions | undefined, readBack: boolean) => {
        assertActive();
        assertAppendAllowed(durability);
        const written = pipeline.write(events, streamId);
        const prepared = prepareAppend(
          streamId,
          isPromiseLike(written) ? await written : written,
          appendOptions,
          limits,
          options.defaultMetadata,
        );
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
        const existing = rowsOf(streamId);
        // Not the count: archiving removes a stream's first events, never its last.
        const current = existing.length === 0 ? 0 : (existing[existing.length - 1] as Row).version;
        assertExpectedVersion(streamId, prepared.expectedVersion, current);
        if (deleted.has(streamId)) throw new StreamDeletedError(streamId);
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
        let recorded = rows.map(toRecorded);
        const last = rows[rows.length - 1] as Row;
        if (!readBack) return { streamId, nextExpectedVersion: last.version, position: last.position, written: true, events: recorded };
        try {
          // Hooks and the caller see the events as readers will (decrypted, upcast).
          const read = pipeline.read(recorded);
          recorded = isPromiseLike(read) ? await read : read;
          // Hooks write in the same unit of work; a failing hook undoes this append alone.
          for (const hook of hooks) await hook(recorded, tx);
        } catch (error) {
          staged = before;
          throw error;
        }
        return { streamId, nextExpectedVersion: last.version, position: last.position, written: true, events: recorded };
      };
      const appendUntraced: UntracedAppend = (streamId, events, appendOptions, readBack) =>
        turns.unit(() => append(streamId, events, appendOptions, readBack));
      let result: T;
      try {
        result = await scope.run(async () => {
          const value = await work(tx, appendUntraced);
          // Appends the work left running are part of it: commit waits for them (appendTurns.ts).
          await turns.idle();
          return value;
        });
      } catch (error) {
        finished = true;
        // Appends still running fail at their next call on tx (their failures change nothing now):
        // the next transaction starts once nothing of this one runs, as on the other stores.
        await turns.idle().catch(() => {});
        for (const callback of onRollback) callback();
        throw error;
      }
      finished = true;
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
    appendToStream: tracedAppend((streamId, events, appendOptions) =>
      accept(async () => {
        scope.assertOutside('appendToStream');
        // Hooks see the events as readers will, so with hooks they are read back inside the
        // transaction, and a failing read stage rolls the append back. Without, as on the SQL
        // stores: committed first, then read back (a failure there: AppendedButUnreadableError).
        const readBack = hooks.length > 0;
        const result = await runOnce((_tx, appendUntraced) => appendUntraced(streamId, events, appendOptions, readBack));
        return readBack ? result : pipeline.readCommitted(result);
      }),
    ),
    async *readAll(readOptions) {
      assertOpen();
      const range = resolveAllRange(readOptions);
      const matches = rowFilter(range);
      let delivered = 0;
      let page: RecordedEvent[] = [];
      // Positions are dense: position p lives at index p - 1. Re-read the length each step
      // so events committed while iterating are included. Pages of batchSize go through the
      // stages together, as in the other stores.
      for (let index = Number(range.after); index < log.length && delivered < range.limit; index++) {
        const row = log[index];
        if (row === undefined || !matches(row)) continue;
        delivered++;
        page.push(toRecorded(row));
        if (page.length < range.batchSize) continue;
        const staged = pipeline.readPage(page, range.types);
        page = [];
        yield* isPromiseLike(staged) ? await staged : staged;
      }
      const staged = pipeline.readPage(page, range.types);
      yield* isPromiseLike(staged) ? await staged : staged;
    },
    async readPage(pageOptions) {
      assertOpen();
      const range = resolveAllRange(pageOptions);
      const matches = rowFilter(range);
      const head = BigInt(log.length);
      const rows: RecordedEvent[] = [];
      let last = 0n;
      for (let index = Number(range.after); index < log.length && rows.length < range.limit; index++) {
        const row = log[index];
        if (row === undefined || !matches(row)) continue;
        rows.push(toRecorded(row));
        last = row.position;
      }
      const staged = pipeline.readPage(rows, range.types);
      return logPage(isPromiseLike(staged) ? await staged : staged, rows.length, range.limit, head, last);
    },
    headPosition: async () => BigInt(log.length),
    transaction,
    onAppended(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    addAppendHook: (hook) => void hooks.push(hook),
    eventSchemas: createInMemoryEventSchemaStore(clock, async (type, schemaVersion, limit) => {
      assertOpen();
      const rows: RecordedEvent[] = [];
      for (let index = log.length - 1; index >= 0 && rows.length < limit; index--) {
        const row = log[index];
        if (row && row.type === type && row.schemaVersion === schemaVersion) rows.push(toRecorded(row));
      }
      return pipeline.read(rows);
    }),
    tombstoneStream: (streamId) =>
      accept(async () => {
        assertValidStreamId(streamId);
        scope.assertOutside('tombstoneStream');
        await mutex.run(async () => {
          if (!streams.has(streamId)) throw new StreamNotFoundError(streamId);
          deleted.add(streamId);
        });
      }),
    truncateStream: (streamId, truncateOptions) =>
      accept(async () => {
        assertValidStreamId(streamId);
        scope.assertOutside('truncateStream');
        return mutex.run(async () => {
          const rows = streams.get(streamId) ?? [];
          const current = rows.length === 0 ? 0 : (rows[rows.length - 1] as Row).version;
          const before = checkTruncate(streamId, truncateOptions, current, deleted.has(streamId));
          const removed = rows.filter((row) => row.version < before);
          for (const row of removed) {
            log[Number(row.position) - 1] = undefined;
            ids.delete(row.id);
          }
          streams.set(
            streamId,
            rows.filter((row) => row.version >= before),
          );
          const firstVersion = Math.max(before, firstVersions.get(streamId) ?? 1);
          firstVersions.set(streamId, firstVersion);
          return { removed: removed.length, firstVersion };
        });
      }),
    close() {
      closed = true;
      // Appends and transactions accepted before close() still commit and answer first.
      closing ??= settled();
      return closing;
    },
  };

  /**
   * `assertUsable`: the store's open (its committed reads), or a transaction's active (its reads
   * through tx, which work until it ends, even once close() has begun: close() waits for it).
   */
  function readOperations(
    rowsOf: (streamId: string) => readonly Row[],
    assertUsable: () => void = assertOpen,
  ): Omit<StreamOperations, 'appendToStream'> {
    const assertReadable = (streamId: string) => {
      assertUsable();
      assertValidStreamId(streamId);
      if (deleted.has(streamId)) throw new StreamDeletedError(streamId);
    };
    return {
      async readStream(streamId, readOptions) {
        assertReadable(streamId);
        const range = resolveStreamRange(readOptions);
        const rows = rowsOf(streamId).filter((row) => row.version >= range.low && row.version <= range.high);
        if (range.direction === 'backwards') rows.reverse();
        const events = rows.slice(0, range.limit).map(toRecorded);
        return range.direction === 'backwards' ? pipeline.readBackwards(events) : pipeline.read(events);
      },
      async streamExists(streamId) {
        assertReadable(streamId);
        return rowsOf(streamId).length > 0;
      },
      async aggregateStream(streamId, evolver, aggregateOptions) {
        assertReadable(streamId);
        checkAggregateOptions(aggregateOptions);
        const firstVersion = firstVersions.get(streamId);
        if (firstVersion !== undefined) throw new StreamTruncatedError(streamId, firstVersion);
        const read = pipeline.read(rowsOf(streamId).map(toRecorded));
        return foldEvents(isPromiseLike(read) ? await read : read, evolver, aggregateOptions);
      },
    };
  }
}
