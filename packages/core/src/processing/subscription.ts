import { ValidationError } from '../domain/errors.js';
import type { RecordedEvent } from '../domain/event.js';
import type { EventStore, StoreTransaction } from '../eventStore/eventStore.js';
import { maxPosition } from '../eventStore/position.js';
import { readLogPage } from './readLogPage.js';

export interface SubscribeOptions {
  /** Exclusive position to start after (a checkpoint). Default 0n: from the beginning. */
  after?: bigint;
  types?: readonly string[];
  categories?: readonly string[];
  /** Most events per batch. Default 100. */
  batchSize?: number;
  /**
   * Upper bound on how long a caught-up subscription sleeps when no `onAppended` notification
   * arrives (notifications can be lost, e.g. from another process). Default: the store's
   * `pollIntervalMs`, else 1000.
   */
  pollIntervalMs?: number;
  /**
   * While the log keeps moving, a caught-up subscription reads at most once per this many
   * milliseconds, so that under a stream of small commits each read carries several of them
   * instead of one (every read is a query, and on a busy server the readers' queries compete
   * with the writers'). A read after a quiet spell still starts at once; catching up is never
   * slowed. While the log moves with none of it for this subscription (a filtered one, on a log
   * busy with other events), the interval doubles at each such read, up to 10 times this (50 ms
   * by default), and falls back at the next read that is not. Default 5; 0 reads at every wake-up.
   * Raising it trades lag under load for throughput: at 20 the shop's projectors let it serve 14%
   * more commands at 64 connections on SQLite, but at a steady 1,000 commands/s their lag p50
   * went from 3 to 10.5 ms; the shop uses 10 (BENCHMARKS.md).
   */
  minReadIntervalMs?: number;
  /** Ends the iteration (cleanly, without throwing) when aborted. */
  signal?: AbortSignal;
}

export interface SubscriptionBatch {
  /** Matching events in global order; may be empty when only `checkpoint` moved. */
  events: RecordedEvent[];
  /**
   * Everything at or below this position has been seen: the last event's position, or — once
   * the subscription reached the end of the log — the head it read up to, which is higher
   * when the trailing events did not match the filter. Save this, not the last event's
   * position, so that waiting for a position of a filtered-out event still finishes.
   */
  checkpoint: bigint;
  /** The head position observed when this batch was read. */
  headPosition: bigint;
  /** True when this batch reached the end of the log. */
  caughtUp: boolean;
}

function positive(value: number | undefined, fallback: number, field: string): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1) throw new ValidationError(`${field} must be a whole number ≥ 1`, { field });
  return v;
}

/**
 * Catch up from a checkpoint with `readAll`, then follow the log live. A caught-up
 * subscription sleeps until `store.onAppended` fires or `pollIntervalMs` passes — it never
 * busy-polls. The same code serves every adapter because it only uses the port.
 */
export async function* subscribe<Tx extends StoreTransaction>(
  store: EventStore<Tx>,
  options: SubscribeOptions = {},
): AsyncGenerator<SubscriptionBatch, void, undefined> {
  const batchSize = positive(options.batchSize, 100, 'batchSize');
  const pollIntervalMs = positive(options.pollIntervalMs ?? store.pollIntervalMs, 1000, 'pollIntervalMs');
  const minReadIntervalMs = options.minReadIntervalMs ?? 5;
  if (!Number.isSafeInteger(minReadIntervalMs) || minReadIntervalMs < 0) {
    throw new ValidationError('minReadIntervalMs must be a whole number ≥ 0', { field: 'minReadIntervalMs' });
  }
  const signal = options.signal;
  let position = options.after ?? 0n;
  if (typeof position !== 'bigint' || position < 0n) throw new ValidationError('after must be a bigint ≥ 0n', { field: 'after' });

  // Listen for the whole life of the iteration, so that an append landing between a read and
  // the sleep is not missed: the flag is set and the next sleep returns at once.
  let appended = false;
  let reportedCaughtUp = false;
  let wake: (() => void) | undefined;
  const unsubscribe = store.onAppended(() => {
    appended = true;
    wake?.();
  });
  const onAbort = () => wake?.();
  signal?.addEventListener('abort', onAbort);
  /** When the last read that reached the end of the log started; undefined while catching up. */
  let caughtUpReadAt: number | undefined;
  // Every wake-up of a filtered subscription on a busy log was a read (a query or two) that found
  // nothing: with three projectors filtering for rare events, most of the reads of a server.
  let readIntervalMs = minReadIntervalMs;
  const maxReadIntervalMs = minReadIntervalMs * 10;
  try {
    while (!signal?.aborted) {
      if (caughtUpReadAt !== undefined && readIntervalMs > 0) {
        const early = caughtUpReadAt + readIntervalMs - performance.now();
        if (early > 0) await pause(early, signal);
        if (signal?.aborted) break;
      }
      const readAt = performance.now();
      appended = false;
      // No waiting for this process's own commits to become readable (see HeadPositionOptions):
      // what is not readable yet is read at a later wake-up, which the store sends once it is.
      const page = await readLogPage(store, { after: position, limit: batchSize, readYourWrites: false, ...filters(options) });
      const { events } = page;
      const full = !page.reachedHead;
      caughtUpReadAt = full ? undefined : readAt;
      const checkpoint = maxPosition(page.seenUpTo, position);
      // The log moved and none of it was for this subscription: read less often until it is.
      const skippedOnly = events.length === 0 && checkpoint > position;
      readIntervalMs = skippedOnly ? Math.min(readIntervalMs * 2, maxReadIntervalMs) : minReadIntervalMs;
      // Yield when there is news — or once, empty, to say the end was reached when the last batch
      // happened to end exactly there (full), so that readers waiting for `caughtUp` hear it.
      if (events.length > 0 || checkpoint > position || (!full && !reportedCaughtUp)) {
        position = checkpoint;
        reportedCaughtUp = !full;
        yield { events, checkpoint, headPosition: page.head, caughtUp: !full };
        if (full) continue;
      }
      if (appended || signal?.aborted) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, pollIntervalMs);
        function done() {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        }
        wake = done;
      });
    }
  } finally {
    unsubscribe();
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Sleeps `ms`, or less when `signal` aborts; append wake-ups do not cut it short. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
  });
}

function filters(options: SubscribeOptions): { types?: readonly string[]; categories?: readonly string[] } {
  return {
    ...(options.types && { types: options.types }),
    ...(options.categories && { categories: options.categories }),
  };
}
