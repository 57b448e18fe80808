import { type AppendOptions, type AppendResult, CommitOutcomeUnknownError, maxPosition, type NewEvent } from '@tidemark/core';
import type pg from 'pg';
import { maxEventsPerTransaction } from '../schema/migrations.js';
import {
  type AppendRow,
  type AppendRows,
  type AppendSettings,
  appendFunctionColumns,
  appendFunctionParameters,
  appendFunctionResult,
  prepareAppendRows,
} from './appendEvents.js';
import { appendRowsAutocommit } from './autocommitAppend.js';
import { toAutocommitError } from './connectionErrors.js';
import { numericBigints } from './eventRows.js';
import { appendDistinctStreams, fitsPlainGroupAppend } from './plainGroupAppend.js';
import { StreamOrderConflictError } from './streamOrderConflictError.js';

interface PendingAppend {
  rows: AppendRows;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

export interface PostgresGroupCommitOptions {
  pool: pg.Pool;
  settings: AppendSettings;
  /** Batches on the wire at once; arrivals meanwhile queue for the next free one. */
  maxInFlight: number;
  /** After a batch committed: the highest position it wrote (wakes readers, read-your-writes). */
  committed(position: bigint): void;
}

export interface PostgresGroupCommit {
  append(streamId: string, events: readonly NewEvent[], options: AppendOptions | undefined): Promise<AppendResult>;
  /** Resolves once every append handed in so far has settled. */
  settled(): Promise<void>;
}

/** Appends per batch: the statements are prepared once per connection and size. */
const maxAppendsPerBatch = 64;

/**
 * Group commit for the store's autocommit appends. While `maxInFlight` batches are on the wire,
 * appends queue; the next free slot takes everything queued as ONE statement — a UNION ALL of
 * append_to_stream calls, one per append — which is one round trip and one transaction, so one
 * commit (and one WAL flush) for the lot. A lone append (a batch of one) takes the single-
 * statement autocommit path, as without group commit.
 *
 * Why one statement is right:
 * - append_to_stream is VOLATILE, so each call sees the rows the calls before it in the same
 *   statement inserted, and an Append node runs its branches in order: appends to one stream
 *   in one batch build on each other exactly as sequential ones do, idempotent retries included.
 * - The function reports conflicts (wrong version, stored ids) as statuses without raising, so
 *   one append's conflict fails that append alone and the rest commit: the savepoint a failure
 *   would otherwise need is not needed. Bad input never gets this far (validated on arrival).
 * - A batch takes its transaction id at its first write, so an append further on may find its
 *   stream written meanwhile by a younger transaction (status out-of-order): that append alone
 *   runs again on its own after the commit, with a fresh id.
 * - Anything that does raise (a concurrent duplicate id, a deadlock, a lost connection) rolls
 *   the whole statement back; then every append of the batch runs on its own, in order, and
 *   gets its own outcome.
 * - Appends are ordered by stream id inside a batch (stably: one stream's appends keep their
 *   order), so two batches in flight take the streams' advisory locks in the same order and
 *   cannot deadlock each other.
 * - Under a role's or database's default of REPEATABLE READ or SERIALIZABLE a batch that waited
 *   for a stream's lock builds on a snapshot older than the lock and raises; its appends then
 *   run alone, and one that loses again is written in a READ COMMITTED transaction before the
 *   next starts (autocommitAppend.ts): a batch's order holds there too.
 *
 * Every promise settles after the statement — and so the commit — returned.
 */
export function createPostgresGroupCommit(options: PostgresGroupCommitOptions): PostgresGroupCommit {
  const { pool, settings } = options;
  let queue: PendingAppend[] = [];
  let inFlight = 0;
  let scheduled = false;
  let waiters: Array<() => void> = [];

  function schedule(): void {
    if (scheduled || inFlight >= options.maxInFlight || queue.length === 0) return;
    scheduled = true;
    // A microtask, not a timer: whatever the current turn appends joins, and nothing waits.
    queueMicrotask(dispatch);
  }

  function dispatch(): void {
    scheduled = false;
    while (inFlight < options.maxInFlight && queue.length > 0) {
      const batch = takeBatch();
      inFlight++;
      runBatch(batch).then(batchDone, batchDone);
    }
  }

  function batchDone(): void {
    inFlight--;
    if (queue.length > 0) schedule();
    else if (inFlight === 0) releaseWaiters();
  }

  function takeBatch(): PendingAppend[] {
    let events = 0;
    let count = 0;
    while (count < queue.length && count < maxAppendsPerBatch) {
      events += queue[count]!.rows.prepared.events.length;
      // One transaction holds at most maxEventsPerTransaction events; the first append always fits.
      if (count > 0 && events > maxEventsPerTransaction) break;
      count++;
    }
    const batch = queue.slice(0, count);
    queue = queue.slice(count);
    return batch;
  }

  function releaseWaiters(): void {
    const released = waiters;
    waiters = [];
    for (const waiter of released) waiter();
  }

  async function runAlone(item: PendingAppend): Promise<void> {
    try {
      const result = await appendRowsAutocommit(pool, settings, item.rows);
      if (result.written) options.committed(result.position);
      item.resolve(result);
    } catch (error) {
      item.reject(error);
    }
  }

  async function runBatch(arrived: PendingAppend[]): Promise<void> {
    if (arrived.length === 1) return runAlone(arrived[0]!);
    const batch = arrived
      .map((item, i) => ({ item, i }))
      .sort((a, b) => compare(a.item.rows.prepared.streamId, b.item.rows.prepared.streamId) || a.i - b.i)
      .map(({ item }) => item);
    if (fitsPlainGroupAppend(batch.map((item) => item.rows))) return runPlainBatch(batch);
    let rows: Array<AppendRow & { i: number }>;
    try {
      const result = await pool.query<AppendRow & { i: number }>({
        name: `${settings.statementName}:group${batch.length}`,
        text: groupStatement(settings.quotedSchema, batch.length),
        values: batch.flatMap((item) => appendFunctionParameters(item.rows)),
        types: numericBigints,
      });
      rows = result.rows;
    } catch (error) {
      return afterBatchRaised(batch, error);
    }
    const outcomes: Array<AppendResult | { error: unknown }> = new Array(batch.length);
    const again: PendingAppend[] = [];
    let highest = 0n;
    for (const row of rows) {
      const item = batch[row.i]!;
      try {
        const result = await appendFunctionResult(pool, settings, item.rows, row);
        if (result.written) highest = maxPosition(highest, result.position);
        outcomes[row.i] = result;
      } catch (error) {
        if (error instanceof StreamOrderConflictError) again.push(item);
        else outcomes[row.i] = { error };
      }
    }
    if (highest > 0n) options.committed(highest);
    batch.forEach((item, i) => {
      const outcome = outcomes[i];
      if (outcome === undefined) return;
      if ('error' in outcome) item.reject(outcome.error);
      else item.resolve(outcome);
    });
    for (const item of again) await runAlone(item);
  }

  async function afterBatchRaised(batch: PendingAppend[], error: unknown): Promise<void> {
    // The connection died with the statement on the wire: it may have committed, so running
    // the appends again could write them twice. Each caller learns that the outcome is unknown.
    const typed = toAutocommitError(error);
    if (typed instanceof CommitOutcomeUnknownError) {
      for (const item of batch) item.reject(typed);
      return;
    }
    // The statement raised, so nothing of the batch was written: each append runs alone and
    // meets its own outcome.
    for (const item of batch) await runAlone(item);
  }

  /** The common batch — distinct streams, no supplied ids — as one plain statement (plainGroupAppend.ts). */
  async function runPlainBatch(batch: PendingAppend[]): Promise<void> {
    let outcomes: Array<AppendResult | undefined>;
    try {
      outcomes = await appendDistinctStreams(
        pool,
        settings,
        batch.map((item) => item.rows),
      );
    } catch (error) {
      return afterBatchRaised(batch, error);
    }
    let highest = 0n;
    for (const outcome of outcomes) if (outcome) highest = maxPosition(highest, outcome.position);
    if (highest > 0n) options.committed(highest);
    const again: PendingAppend[] = [];
    batch.forEach((item, i) => {
      const outcome = outcomes[i];
      if (outcome) item.resolve(outcome);
      else again.push(item);
    });
    // Their expected version did not hold on the head the statement saw: append_to_stream decides.
    for (const item of again) await runAlone(item);
  }

  return {
    append(streamId, events, appendOptions) {
      // Bad input fails here, for this caller alone, before it can join a batch.
      const rows = prepareAppendRows(settings, streamId, events, appendOptions);
      return new Promise<AppendResult>((resolve, reject) => {
        if (inFlight === 0 && queue.length === 0) {
          // Nothing on the wire: send it now, not a microtask later — the lone writer's path
          // (a sequential writer measured ~6% slower through the queue). Appends arriving while
          // it is out queue for the next slot as usual.
          inFlight++;
          runAlone({ rows, resolve, reject }).then(batchDone, batchDone);
          return;
        }
        queue.push({ rows, resolve, reject });
        schedule();
      });
    },
    settled() {
      if (inFlight === 0 && queue.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push(resolve));
    },
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const statements = new Map<string, string>();

/** n append_to_stream calls in one statement; `i` says which append a row answers. */
function groupStatement(quotedSchema: string, n: number): string {
  const key = `${quotedSchema}:${n}`;
  let text = statements.get(key);
  if (!text) {
    text = Array.from({ length: n }, (_, i) => {
      const p = Array.from({ length: 9 }, (_, j) => `$${i * 9 + j + 1}`).join(', ');
      return `SELECT ${i} AS i, ${appendFunctionColumns} FROM ${quotedSchema}.append_to_stream(${p})`;
    }).join('\nUNION ALL ');
    statements.set(key, text);
  }
  return text;
}
