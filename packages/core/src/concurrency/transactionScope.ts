import { AsyncLocalStorage } from 'node:async_hooks';
import { NestedStoreCallError } from '../domain/errors.js';

/**
 * Knows whether the code running now was called from inside one of a store's transactions.
 * A store that serialises its transactions (one writer) would wait forever if the work called
 * the store itself instead of its `tx`: the call queues behind the transaction that awaits it.
 * The transaction's work runs marked in its async context, and store calls check the mark.
 */
export interface TransactionScope {
  /**
   * Runs the transaction's work marked as inside it, until the work settles. `context` is what
   * adapters may look up from inside the work (findOpenTransaction): PostgreSQL gives its
   * transaction and pool, so that the snapshot and key stores read on its connection.
   */
  run<T>(work: () => Promise<T>, context?: unknown): Promise<T>;
  /** Throws NestedStoreCallError when called from the work of a transaction still open. */
  assertOutside(operation: string): void;
}

interface Frame {
  /** The scope (one per store, or per SQLite file) whose transaction this is. */
  readonly scope: object;
  open: boolean;
  readonly context: unknown;
  /** The transaction (of another scope) whose work started this one, if any. */
  readonly outer: Frame | undefined;
}

/**
 * One AsyncLocalStorage for every scope of the process. Node (20) propagates each instance in
 * use to every promise the process creates: a second instance made a loop of awaits 1.5× slower
 * here. So the scopes (one per store) share one and tell their frames apart.
 */
const frames = new AsyncLocalStorage<Frame>();

/** The innermost frame of `scope` in the current async context. */
function frameOf(scope: object): Frame | undefined {
  for (let frame = frames.getStore(); frame !== undefined; frame = frame.outer) if (frame.scope === scope) return frame;
  return undefined;
}

export function createTransactionScope(): TransactionScope {
  const scope = {};
  return {
    async run(work, context) {
      // Continuations the work leaves behind keep the mark after it settled: closed then, so
      // a store call they make once the transaction is over is a fine, ordinary call.
      const frame: Frame = { scope, open: true, context, outer: frames.getStore() };
      try {
        return await frames.run(frame, work);
      } finally {
        frame.open = false;
      }
    },
    assertOutside(operation) {
      if (frameOf(scope)?.open) throw new NestedStoreCallError(operation);
    },
  };
}

/**
 * The context of the innermost transaction still open in the current async context that
 * `matches` accepts (a context given to TransactionScope.run), or undefined: outside any.
 */
export function findOpenTransaction<C>(matches: (context: unknown) => context is C): C | undefined {
  for (let frame = frames.getStore(); frame !== undefined; frame = frame.outer) {
    if (frame.open && matches(frame.context)) return frame.context;
  }
  return undefined;
}
