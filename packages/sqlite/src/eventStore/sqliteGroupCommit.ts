import type { AppendOptions, AppendResult, Mutex, NewEvent, PreparedAppend } from '@tidemark/core';
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
  /**
   * A committed result as its caller gets it (its events read through the store's stages, a
   * failure there an AppendedButUnreadableError); synchronous batches only, hooked ones read in their transaction.
   */
  finish(result: AppendResult): AppendResult | Promise<AppendResult>;
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
 * settles after the COMMIT that holds its events returned, i.e. after the fsync; batches keep
 * arrival order, so appends to one stream see each other exactly as sequential ones do.
 */
export function createSqliteGroupCommit(options: SqliteGroupCommitOptions): SqliteGroupCommit {
  const { db, statements, writeAppend, mutex } = options;
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  const rollback = db.prepare('ROLLBACK');
  const appendAlone = db.transaction(writeAppend).immediate;

  let queue: PendingAppend[] = [];
  /** A check phase is scheduled, or a batch waits for or holds the writer: arrivals just queue. */
  let flushPending = false;
  /** A batch committed since the last check phase: arrivals wait for the next one. */
  let window = false;
  let waiters: Array<() => void> = [];

  function take(): PendingAppend[] {
    const batch = queue;
    queue = [];
    return batch;
  }

  /**
   * Writes a batch in one synchronous transaction; returns the results (or errors) in order.
   * Never throws: it runs in a check phase or behind the mutex, where a throw would crash the
   * process or leave the batch's promises unsettled.
   */
  function writeBatch(batch: readonly PendingAppend[]): Array<AppendResult | { error: unknown }> {
    if (batch.length === 1) {
      // One append needs no savepoint: exactly the plain autocommit transaction.
      try {
        return [appendAlone(batch[0]!.prepared!)];
      } catch (error) {
        return [{ error }];
      }
    }
    try {
      return writeAll(batch) ?? writeEachInSavepoint(batch);
    } catch (error) {
      // BEGIN or COMMIT failed (another connection held the lock past the busy timeout, say),
      // or SQLite rolled back by itself: nothing of the batch is written, so all of it fails.
      if (db.inTransaction) rollback.run();
      return batch.map(() => ({ error }));
    }
  }

  /**
   * The common case, at the cost of the raw inserts: every append of the batch succeeds, so none
   * needs a savepoint. Undefined (and nothing written) when one of them failed; a failing BEGIN
   * or COMMIT throws, as trying again with savepoints would only meet the same failure.
   */
  function writeAll(batch: readonly PendingAppend[]): AppendResult[] | undefined {
    begin.run();
    let results: AppendResult[];
    try {
      results = batch.map((item) => writeAppend(item.prepared!));
    } catch {
      if (db.inTransaction) rollback.run();
      return undefined;
    }
    commit.run();
    return results;
  }

  /**
   * Again, each append in its own savepoint: a failing one is rolled back alone and the rest
   * commit. A failure of the batch as a whole (BEGIN, COMMIT) throws, rolled back by writeBatch.
   */
  function writeEachInSavepoint(batch: readonly PendingAppend[]): Array<AppendResult | { error: unknown }> {
    const outcomes: Array<AppendResult | { error: unknown }> = [];
    begin.run();
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

  function flushNow(): void {
    const batch = take();
    window = true;
    settle(batch, writeBatch(batch));
    armCheck();
  }

  async function flushHooked(): Promise<void> {
    let batch: PendingAppend[] | undefined;
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
      // The transaction did not commit: nothing of the batch is there. It may not even have begun
      // (another connection held the lock past the busy timeout): then the appends it was for,
      // those queued now, fail with it; left queued, they would be flushed again without end.
      for (const item of batch ?? take()) item.reject(error);
      return;
    }
    // The transaction already woke the readers.
    batch!.forEach((item, i) => {
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
    const flushed = options.hooked()
      ? flushHooked()
      : mutex.run(async () => {
          const batch = take();
          settle(batch, writeBatch(batch));
        });
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
      if (!flushPending && queue.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push(resolve));
    },
  };
}
