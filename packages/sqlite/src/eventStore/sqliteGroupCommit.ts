import {
  type AppendOptions,
  type AppendResult,
  CommitOutcomeUnknownError,
  type Mutex,
  type NewEvent,
  type PreparedAppend,
} from '@tidemark/core';
import type { Database } from 'better-sqlite3';
import type { SqliteAppendWriter } from './sqliteAppendWriter.js';
import type { SqliteStatements } from './sqliteStatements.js';

/** An autocommit append waiting for the commit that will hold it. */
export interface PendingAppend {
  streamId: string;
  events: readonly NewEvent[];
  options: AppendOptions | undefined;
  /** Prepared (validated, ids assigned) on arrival on the synchronous path; hooked appends prepare inside their transaction. */
  prepared: PreparedAppend | undefined;
  resolve(result: AppendResult | Promise<AppendResult>): void;
  reject(error: unknown): void;
}

export interface SqliteGroupCommitOptions {
  db: Database;
  statements: SqliteStatements;
  writeAppend: SqliteAppendWriter;
  /** The store's writer mutex: a batch waits for an open `transaction()` like any other write. */
  mutex: Mutex;
  prepare(streamId: string, events: readonly NewEvent[], options: AppendOptions | undefined): PreparedAppend;
  /** True when append hooks are registered: their appends need the async transaction. */
  hooked(): boolean;
  /** Runs hooked appends in the store's own transaction (savepoint per append, hooks, wake-ups). */
  appendInTransaction(work: (append: (item: PendingAppend) => Promise<AppendResult>) => Promise<void>): Promise<void>;
  notifyAppended(): void;
  /** A written result as its caller gets it (its events read through the store's stages); synchronous batches only, hooked ones read in their transaction. */
  finish(result: AppendResult): AppendResult | Promise<AppendResult>;
  /**
   * Durability off the event loop (a file store with synchronous=FULL): a batch that shares its
   * flush commits without one (`relax`, then `restore` the connection's setting) and its callers
   * hear back once `sync` has flushed the WAL. Absent: every commit flushes by itself (or never).
   */
  deferredDurability?: DeferredDurability;
}

export interface DeferredDurability {
  relax(): void;
  restore(): void;
  sync(): Promise<void>;
}

export interface SqliteGroupCommit {
  append(streamId: string, events: readonly NewEvent[], options: AppendOptions | undefined): Promise<AppendResult>;
  /** Resolves once every append handed in so far has settled (close() waits for it). */
  settled(): Promise<void>;
}

/**
 * Group commit for autocommit appends. The fsync of a durable SQLite commit happens inside the
 * synchronous COMMIT, so nothing can arrive *during* it; what can be coalesced is every append
 * that arrives in the same event-loop turn as a commit — the callers it just resolved coming
 * back, the HTTP requests read in the same poll phase. So:
 *
 * - A lone append on an idle store commits at once, synchronously, as without group commit.
 * - That commit opens a window until the loop's next check phase (setImmediate, no timer):
 *   appends arriving meanwhile queue, and the check phase commits all of them in one
 *   transaction, then opens the next window. A check phase that finds the
 *   queue empty closes the window, so an idle store goes back to committing at once.
 * - While a `transaction()` (or a hooked batch, whose hooks await) holds the writer, arrivals
 *   queue and go together in the next batch.
 *
 * A batch first runs as one plain transaction. If any append in it fails (conflict, duplicate
 * id), it is rolled back and run again with a savepoint per append, so the failing one is
 * rolled back alone and fails alone; a failing COMMIT fails the whole batch. Every promise
 * settles after the fsync that holds its events; batches keep arrival order, so appends to
 * one stream see each other exactly as sequential ones do.
 *
 * With `deferredDurability`, the fsync leaves the event loop once writers are concurrent: a
 * batch of several appends (or any batch while a flush is in flight) commits without flushing,
 * and a WAL fsync in the thread pool makes it durable while the loop takes the next requests and
 * commits the next batch; one flush at a time, each covering every batch committed before it
 * began. Its callers (and the readers' wake-up) hear back after that flush. A lone append on a
 * quiet store still flushes inside its COMMIT: a thread-pool round trip would only slow it. A
 * failed flush fails the appends it covered with CommitOutcomeUnknownError: they are committed,
 * but nobody can say whether they reached the disk.
 */
export function createSqliteGroupCommit(options: SqliteGroupCommitOptions): SqliteGroupCommit {
  const { db, statements, writeAppend, mutex } = options;
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  const rollback = db.prepare('ROLLBACK');
  const appendAlone = db.transaction(writeAppend).immediate;

  const deferred = options.deferredDurability;
  let queue: PendingAppend[] = [];
  /** A check phase is scheduled, or a batch waits for or holds the writer: arrivals just queue. */
  let flushPending = false;
  /** A WAL flush is in flight; the batches committed since it began wait for the next one. */
  let syncing = false;
  let unsynced: Array<{ batch: readonly PendingAppend[]; outcomes: ReadonlyArray<AppendResult | { error: unknown }> }> = [];
  /** A batch committed since the last check phase: arrivals wait for the next one. */
  let window = false;
  let waiters: Array<() => void> = [];

  function take(): PendingAppend[] {
    const batch = queue;
    queue = [];
    return batch;
  }

  /** Writes a batch in one synchronous transaction; returns the results (or errors) in order. */
  function writeBatch(batch: readonly PendingAppend[]): Array<AppendResult | { error: unknown }> {
    if (batch.length === 1) {
      // One append needs no savepoint: exactly the plain autocommit transaction.
      try {
        return [appendAlone(batch[0]!.prepared!)];
      } catch (error) {
        return [{ error }];
      }
    }
    return writeAll(batch) ?? writeEachInSavepoint(batch);
  }

  /**
   * The common case, at the cost of the raw inserts: every append of the batch succeeds, so none
   * needs a savepoint. Undefined (and nothing written) when one of them failed.
   */
  function writeAll(batch: readonly PendingAppend[]): AppendResult[] | undefined {
    begin.run();
    try {
      const results = batch.map((item) => writeAppend(item.prepared!));
      commit.run();
      return results;
    } catch {
      if (db.inTransaction) rollback.run();
      return undefined;
    }
  }

  /** Again, each append in its own savepoint: a failing one is rolled back alone and the rest commit. */
  function writeEachInSavepoint(batch: readonly PendingAppend[]): Array<AppendResult | { error: unknown }> {
    const outcomes: Array<AppendResult | { error: unknown }> = [];
    begin.run();
    try {
      for (const item of batch) {
        statements.savepoint.run();
        try {
          outcomes.push(writeAppend(item.prepared!));
          statements.releaseSavepoint.run();
        } catch (error) {
          // SQLite rolled the whole transaction back by itself (I/O error, disk full): the
          // appends before this one are gone too, so the batch fails as a whole.
          if (!db.inTransaction) throw error;
          statements.rollbackToSavepoint.run();
          statements.releaseSavepoint.run();
          outcomes.push({ error });
        }
      }
      commit.run();
    } catch (error) {
      if (db.inTransaction) rollback.run();
      return batch.map(() => ({ error }));
    }
    return outcomes;
  }

  function settle(batch: readonly PendingAppend[], outcomes: ReadonlyArray<AppendResult | { error: unknown }>): void {
    // Readers are woken before the writers hear back, as after a single append.
    if (outcomes.some((outcome) => 'written' in outcome && outcome.written)) options.notifyAppended();
    batch.forEach((item, i) => {
      const outcome = outcomes[i]!;
      if ('error' in outcome) {
        item.reject(outcome.error);
        return;
      }
      try {
        item.resolve(options.finish(outcome));
      } catch (error) {
        item.reject(error);
      }
    });
  }

  /** Commits a batch and settles it now, or once the WAL flush that covers it is done. */
  function commitBatch(batch: readonly PendingAppend[]): void {
    if (!deferred || (batch.length === 1 && !syncing && unsynced.length === 0)) {
      settle(batch, writeBatch(batch));
      return;
    }
    deferred.relax();
    let outcomes: Array<AppendResult | { error: unknown }>;
    try {
      outcomes = writeBatch(batch);
    } finally {
      deferred.restore();
    }
    unsynced.push({ batch, outcomes });
    if (!syncing) startSync(deferred);
  }

  function startSync(durability: DeferredDurability): void {
    const covered = unsynced;
    unsynced = [];
    syncing = true;
    durability
      .sync()
      .then(
        () => {
          for (const { batch, outcomes } of covered) settle(batch, outcomes);
        },
        (error: unknown) => {
          for (const { batch, outcomes } of covered) {
            settle(
              batch,
              outcomes.map((outcome) =>
                'error' in outcome
                  ? outcome
                  : {
                      error: new CommitOutcomeUnknownError(
                        'The append committed but flushing it to disk failed',
                        { streamId: outcome.streamId },
                        { cause: error },
                      ),
                    },
              ),
            );
          }
        },
      )
      .finally(() => {
        syncing = false;
        if (unsynced.length > 0) startSync(durability);
        else releaseWaiters();
      });
  }

  function flushNow(): void {
    const batch = take();
    window = true;
    commitBatch(batch);
    armCheck();
  }

  async function flushHooked(): Promise<void> {
    let batch: PendingAppend[] = [];
    const outcomes: Array<AppendResult | { error: unknown }> = [];
    try {
      await options.appendInTransaction(async (append) => {
        // Taken once the transaction holds the writer, so whatever arrived while it waited joins.
        batch = take();
        for (const item of batch) {
          try {
            outcomes.push(await append(item));
          } catch (error) {
            if (!db.inTransaction) throw error;
            outcomes.push({ error });
          }
        }
      });
    } catch (error) {
      // The transaction did not commit: nothing of the batch is there.
      for (const item of batch) item.reject(error);
      return;
    }
    // The transaction already woke the readers.
    batch.forEach((item, i) => {
      const outcome = outcomes[i]!;
      if ('error' in outcome) item.reject(outcome.error);
      else item.resolve(outcome);
    });
  }

  function startFlush(): void {
    if (!mutex.locked && !options.hooked()) {
      flushNow();
      return;
    }
    flushPending = true;
    // The store's transaction takes the mutex itself; a synchronous batch queues for it here.
    const flushed = options.hooked() ? flushHooked() : mutex.run(async () => commitBatch(take()));
    const next = () => {
      flushPending = false;
      window = true;
      armCheck();
    };
    flushed.then(next, next);
  }

  function armCheck(): void {
    if (flushPending) return;
    flushPending = true;
    setImmediate(onCheck);
  }

  function onCheck(): void {
    flushPending = false;
    if (queue.length > 0) {
      startFlush();
      return;
    }
    window = false;
    releaseWaiters();
  }

  /** Wakes `settled()` callers once nothing is queued, being written or waiting for a flush. */
  function releaseWaiters(): void {
    if (flushPending || queue.length > 0 || syncing || unsynced.length > 0) return;
    const settledWaiters = waiters;
    waiters = [];
    for (const waiter of settledWaiters) waiter();
  }

  return {
    append(streamId, events, appendOptions) {
      // Bad input fails here, for this caller alone, before it can join a batch.
      const prepared = options.hooked() ? undefined : options.prepare(streamId, events, appendOptions);
      return new Promise<AppendResult>((resolve, reject) => {
        queue.push({ streamId, events, options: appendOptions, prepared, resolve, reject });
        if (flushPending) return;
        if (window) armCheck();
        else startFlush();
      });
    },
    settled() {
      if (!flushPending && queue.length === 0 && !syncing && unsynced.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push(resolve));
    },
  };
}
