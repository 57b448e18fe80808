import { ValidationError } from '../domain/errors.js';
import type { EventStore, StoreTransaction } from '../eventStore/eventStore.js';

export interface ExpirySweeperOptions<Tx extends StoreTransaction> {
  store: EventStore<Tx>;
  /** Rows older than this are deleted: longer than any redelivery can come (inbox) or any client retries (idempotency keys). */
  windowMs: number;
  /** How often to sweep. Default one tenth of the window, at most an hour. */
  intervalMs?: number;
  /** The delete: `inbox.expire`, `keys.expire`, `outbox.deletePublished`… bound to its store. */
  expire(tx: Tx, before: Date, limit: number): Promise<number>;
  /** Receives sweep failures (the next sweep tries again). Must not throw. */
  onError?(error: unknown): void;
}

export interface ExpirySweeper {
  /** Deletes everything past the window now, in transactions of at most 1000 rows; answers how many. */
  sweep(): Promise<number>;
  stop(): void;
}

/**
 * Deletes old inbox records (or idempotency keys) on a timer, in small transactions so that a
 * long backlog never holds the database's write lock for long. The cut-off comes from the
 * store's clock, the clock the rows were stamped with.
 */
export function startExpirySweeper<Tx extends StoreTransaction>(options: ExpirySweeperOptions<Tx>): ExpirySweeper {
  const { store, windowMs, expire } = options;
  if (!Number.isSafeInteger(windowMs) || windowMs < 0)
    throw new ValidationError('windowMs must be a whole number ≥ 0', { field: 'windowMs' });
  const intervalMs = options.intervalMs ?? Math.min(Math.max(Math.floor(windowMs / 10), 1000), 3_600_000);
  if (!Number.isSafeInteger(intervalMs) || intervalMs < 1)
    throw new ValidationError('intervalMs must be a whole number ≥ 1', { field: 'intervalMs' });
  let sweeping: Promise<number> | undefined;
  const sweep = (): Promise<number> => {
    sweeping ??= (async () => {
      let total = 0;
      try {
        for (;;) {
          const deleted = await store.transaction((tx) => expire(tx, new Date(tx.clock.now().getTime() - windowMs), 1000));
          total += deleted;
          if (deleted < 1000) return total;
        }
      } finally {
        sweeping = undefined;
      }
    })();
    return sweeping;
  };
  const timer = setInterval(() => {
    sweep().catch((error: unknown) => options.onError?.(error));
  }, intervalMs);
  timer.unref();
  return { sweep, stop: () => clearInterval(timer) };
}
