import { ValidationError } from '../domain/errors.js';
import type { EventStore, StoreTransaction } from '../eventStore/eventStore.js';
import { assertValidName } from '../eventStore/prepareAppend.js';
import type { Inbox } from '../processing/inbox.js';
import { type Lease, LeaseLostError } from '../processing/lease.js';
import { abortableDelay, backoffDelay, type RetryPolicy, resolveRetryPolicy } from '../processing/retryPolicy.js';
import type { DeliveredMessage } from '../transport/transport.js';
import type { Outbox } from './outbox.js';

export interface LocalOutboxDeliveryOptions<Tx extends StoreTransaction> {
  store: EventStore<Tx>;
  outbox: Outbox<Tx>;
  inbox: Inbox<Tx>;
  /** The consumer's stable name: its inbox key. */
  consumer: string;
  /** The effects, through `tx`: they commit with the inbox record and the rows' published mark. */
  handle(message: DeliveredMessage, tx: Tx): Promise<void>;
  /** Message types handed to `handle`; the others are marked published untouched (all when absent). */
  types?: readonly string[];
  /** Messages per transaction. Default 50. */
  batchSize?: number;
  /** Bounded fallback when no add notification arrives (adds by other processes). Default 500 ms. */
  pollIntervalMs?: number;
  /** One active delivery per outbox across processes; each batch transaction is fenced with it. */
  lease?: Lease<Tx>;
  leaseRetryMs?: number;
  /** Backoff after a failed batch (the handler threw, the database failed); retried indefinitely. Default 50 ms doubling to 5 s. */
  retry?: Omit<RetryPolicy, 'maxAttempts'>;
  onError?(error: unknown): void;
}

export interface LocalOutboxDeliveryStatus {
  state: 'stopped' | 'standby' | 'running' | 'retrying';
  /** Messages handed to `handle` and committed by this instance. */
  delivered: number;
  attempts?: number;
  lastError?: string;
}

export interface LocalOutboxDelivery {
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): LocalOutboxDeliveryStatus;
}

/**
 * The embedded default for the outbox table when no broker is configured: the outbox's messages
 * are handed to an in-process handler, and in ONE transaction per batch the effects, the inbox
 * records and the rows' published marks commit together. Nothing is held in memory between the
 * state change's commit and the effect, so a SIGKILL at any point loses nothing and doubles
 * nothing (an in-memory emitter would lose what it held). Messages are handled one at a time
 * in sequence order, so per-key order holds.
 *
 * It marks the rows published, so it is the outbox's one consumer: run either it or a relay to
 * a broker on an outbox, not both. A handler that keeps throwing holds the outbox up (retried
 * with backoff, its error in `status()`), as a broker that keeps refusing holds up a relay.
 */
export function createLocalOutboxDelivery<Tx extends StoreTransaction>(options: LocalOutboxDeliveryOptions<Tx>): LocalOutboxDelivery {
  const { store, outbox, inbox, consumer, handle, lease } = options;
  assertValidName(consumer, 'consumer');
  if (typeof handle !== 'function') throw new ValidationError('handle must be a function', { field: 'handle' });
  const batchSize = options.batchSize ?? 50;
  const pollIntervalMs = options.pollIntervalMs ?? 500;
  const leaseRetryMs = options.leaseRetryMs ?? 1000;
  for (const [field, value] of [
    ['batchSize', batchSize],
    ['pollIntervalMs', pollIntervalMs],
    ['leaseRetryMs', leaseRetryMs],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 1) throw new ValidationError(`${field} must be a whole number ≥ 1`, { field });
  }
  const retry = resolveRetryPolicy({ initialDelayMs: 50, maxDelayMs: 5000, factor: 2, ...options.retry, maxAttempts: 1 });
  const wanted = options.types && new Set(options.types);
  const current: LocalOutboxDeliveryStatus = { state: 'stopped', delivered: 0 };
  let controller: AbortController | undefined;
  let loop: Promise<void> | undefined;
  let failures = 0;

  /** One batch in one transaction; answers how many messages it took off the outbox. */
  const deliverBatch = () =>
    store.transaction(async (tx) => {
      if (lease?.fence) await lease.fence(tx);
      const entries = await outbox.pending(tx, { limit: batchSize });
      let handled = 0;
      for (const entry of entries) {
        const { message } = entry;
        if (wanted && !wanted.has(message.type)) continue;
        if (!(await inbox.record(tx, consumer, message.id))) continue;
        await handle({ ...message, attempt: failures + 1 }, tx);
        handled++;
      }
      if (entries.length > 0)
        await outbox.markPublished(
          tx,
          entries.map((entry) => entry.sequence),
        );
      return { taken: entries.length, handled };
    });

  async function run(signal: AbortSignal): Promise<void> {
    let added = false;
    let held = false;
    let wake: (() => void) | undefined;
    const unsubscribe = outbox.onAdded(() => {
      added = true;
      wake?.();
    });
    const onAbort = () => wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      while (!signal.aborted) {
        if (lease) {
          // Acquired once, renewed before each batch (as a projector does); lost: stand by.
          held = await (held ? lease.renew() : lease.acquire()).catch(() => false);
          if (!held) {
            current.state = 'standby';
            await abortableDelay(leaseRetryMs, signal);
            continue;
          }
        }
        try {
          added = false;
          const { taken, handled } = await deliverBatch();
          current.delivered += handled;
          if (failures > 0 || current.state !== 'running') {
            failures = 0;
            delete current.attempts;
            delete current.lastError;
            current.state = 'running';
          }
          if (taken >= batchSize || added) continue;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, pollIntervalMs);
            function done() {
              clearTimeout(timer);
              wake = undefined;
              resolve();
            }
            wake = done;
            if (signal.aborted) done();
          });
        } catch (error) {
          if (signal.aborted) return;
          if (error instanceof LeaseLostError) {
            held = false;
            current.state = 'standby';
            continue;
          }
          failures++;
          current.state = 'retrying';
          current.attempts = failures;
          current.lastError = error instanceof Error ? error.message : String(error);
          options.onError?.(error);
          await abortableDelay(backoffDelay(retry, failures), signal);
        }
      }
    } finally {
      unsubscribe();
      signal.removeEventListener('abort', onAbort);
    }
  }

  return {
    async start() {
      if (loop) return;
      current.state = 'running';
      const own = new AbortController();
      controller = own;
      loop = run(own.signal);
    },
    async stop() {
      if (!loop) return;
      controller?.abort();
      await loop;
      loop = undefined;
      controller = undefined;
      if (lease) await lease.release().catch(() => {});
      current.state = 'stopped';
    },
    status: () => ({ ...current }),
  };
}
