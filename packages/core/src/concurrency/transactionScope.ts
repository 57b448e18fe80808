import { AsyncLocalStorage } from 'node:async_hooks';
import { NestedStoreCallError } from '../domain/errors.js';

/**
 * Knows whether the code running now was called from inside one of a store's transactions.
 * A store that serialises its transactions (one writer) would wait forever if the work called
 * the store itself instead of its `tx`: the call queues behind the transaction that awaits it.
 * The transaction's work runs marked in its async context, and store calls check the mark.
 */
export interface TransactionScope {
  /** Runs the transaction's work marked as inside it, until the work settles. */
  run<T>(work: () => Promise<T>): Promise<T>;
  /** Throws NestedStoreCallError when called from the work of a transaction still open. */
  assertOutside(operation: string): void;
}

export function createTransactionScope(): TransactionScope {
  const storage = new AsyncLocalStorage<{ open: boolean }>();
  return {
    async run(work) {
      // Continuations the work leaves behind keep the mark after it settled: closed then, so
      // a store call they make once the transaction is over is a fine, ordinary call.
      const mark = { open: true };
      try {
        return await storage.run(mark, work);
      } finally {
        mark.open = false;
      }
    },
    assertOutside(operation) {
      if (storage.getStore()?.open) throw new NestedStoreCallError(operation);
    },
  };
}
