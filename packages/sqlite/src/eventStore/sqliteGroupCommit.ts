import type { AppendOptions, AppendResult, Mutex, NewEvent, PreparedAppend } from '@tidemark/core';
import type { Database } from 'better-sqlite3';
import type { BatchOutcome, SqliteBatchWriter } from './sqliteBatchWriter.js';
import type { SqliteWriterThread } from './sqliteWriterThread.js';

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
  /** Writes a batch on the store's own connection. */
  writeBatch: SqliteBatchWriter;
  /**
   * Starts the store's writer thread, when it may have one: the first time appends arrive
   * together. Batches go there once it is ready; until then (and if it never is) they are written here.
   */
  startThread?: (() => SqliteWriterThread) | undefined;
  /** Lone appends go to the running thread too ('always'), instead of committing here ('auto'). */
  loneAppendsOnThread: boolean;
  /** The store's clock, in ms: a batch's recordedAt on the thread. */
  now(): number;
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
  /** Ends the writer thread, if one was started, and keeps one from starting after; after settled(). */
  closeThread(): Promise<void>;
  threadState(): SqliteWriterThreadState;
  /** Starts the writer thread now rather than at the first appends that arrive together. */
  startThread(): void;
}

/** Where a store's group commit writes: see SqliteEventStore.writerThread(). */
export type SqliteWriterThreadState = 'off' | 'not-started' | 'starting' | 'running' | 'failed' | 'closed';

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
 * - With a writer thread (`startThread`), a batch of several appends is written there instead
 *   (flushOnThread): the loop goes on while it commits, and what arrives meanwhile is the next.
 *
 * A batch first runs as one plain transaction. If any append in it fails (conflict, duplicate
 * id), it is rolled back and run again with a savepoint per append, so the failing one is
 * rolled back alone and fails alone; a failing COMMIT fails the whole batch. Every promise
 * settles after the COMMIT that holds its events returned, i.e. after the fsync; batches keep
 * arrival order, so appends to one stream see each other exactly as sequential ones do.
 */
export function createSqliteGroupCommit(options: SqliteGroupCommitOptions): SqliteGroupCommit {
  const { db, mutex } = options;
  let thread: SqliteWriterThread | undefined;
  /** closeThread() was called: no thread starts after it, and one never started reads 'closed'. */
  let threadClosed = false;
  const startThread = (): SqliteWriterThread | undefined => {
    if (!threadClosed) thread ??= options.startThread?.();
    return thread;
  };
  const writeBatch = (batch: readonly PendingAppend[]) => options.writeBatch(batch.map((item) => item.prepared!));

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

  function settle(batch: readonly PendingAppend[], outcomes: readonly BatchOutcome[]): void {
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
    const outcomes: BatchOutcome[] = [];
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

  /**
   * On the writer thread the loop is free while a batch commits, so arrivals queue behind it.
   * When its outcomes come back, the appends queued meanwhile go to the thread as the next
   * batch *before* this one's callers are answered, so the thread never waits for them; the
   * writer is held from batch to batch until nothing is queued or another writer waits for it.
   */
  function flushOnThread(writer: SqliteWriterThread): void {
    flushPending = true;
    const send = (batch: readonly PendingAppend[]): Promise<BatchOutcome[]> => {
      let recordedAt: number;
      try {
        recordedAt = options.now();
      } catch (error) {
        // A throwing clock fails these appends, as it fails them inside a batch written here;
        // thrown out of this loop instead, it would leave their callers waiting for ever.
        return Promise.resolve(batch.map(() => ({ error })));
      }
      return writer
        .write(
          batch.map((item) => item.prepared!),
          recordedAt,
        )
        .catch((error: unknown) => batch.map(() => ({ error })));
    };
    // Taken now, like a batch written here: what arrives while it waits for the writer comes after
    // whatever else waits for it (a transaction, say).
    let batch = take();
    const flushed = mutex.run(async () => {
      let outcomes = send(batch);
      // Appends queued after a hook was added were not prepared: they need the hooked path. Those
      // queued behind a batch the thread died under were never handed to it: they are written
      // here (startFlush, once this ends), not failed with the thread's death.
      const takeIfFree = () =>
        queue.length > 0 && !mutex.contended && !options.hooked() && writer.state === 'running' ? take() : undefined;
      for (;;) {
        const done = await outcomes;
        let following = takeIfFree();
        if (following) outcomes = send(following);
        settle(batch, done);
        if (!following) {
          // The callers just answered often append again at once: give them until the loop's
          // check phase, the window a batch written here opens too.
          await new Promise((resolve) => setImmediate(resolve));
          following = takeIfFree();
          if (!following) return;
          outcomes = send(following);
        }
        batch = following;
      }
    });
    const next = () => {
      flushPending = false;
      if (queue.length > 0) startFlush();
      else becomeIdle();
    };
    flushed.then(next, next);
  }

  function startFlush(): void {
    // A lone append stays here ('auto'), where it commits without a hop between threads;
    // appends that arrived together mean the store is busy: their batch is the thread's.
    if (!options.hooked() && (queue.length > 1 || (thread && options.loneAppendsOnThread))) {
      const writer = startThread();
      if (writer?.state === 'running') {
        flushOnThread(writer);
        return;
      }
    }
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
    if (queue.length > 0) startFlush();
    else becomeIdle();
  }

  /** Nothing queued or in flight: the next lone append commits at once, and settled() resolves. */
  function becomeIdle(): void {
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
    closeThread() {
      threadClosed = true;
      return thread?.close() ?? Promise.resolve();
    },
    threadState() {
      if (thread) return thread.state;
      if (!options.startThread) return 'off';
      return threadClosed ? 'closed' : 'not-started';
    },
    startThread() {
      startThread();
    },
  };
}
