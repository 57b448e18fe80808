import type { EventStore, RecordedEvent, StoreTransaction } from '@tidemark/core';
import type { CacheAside } from './cacheAside.js';

export interface CacheInvalidationOptions {
  cache: Pick<CacheAside<unknown>, 'invalidate'>;
  /** The cache keys an event makes stale (none for events the cached model ignores). */
  keysOf: (event: RecordedEvent) => readonly string[];
}

export interface CacheInvalidation {
  /** A projection handler: drop the entries these events changed. Safe to run more than once. */
  handle(events: readonly RecordedEvent[]): Promise<void>;
  /**
   * Inline mode on one store: every append invalidates right after its commit. After and not
   * inside the transaction, because a reader refilling between an in-transaction invalidation
   * and the commit would put the pre-event state back. Returns nothing to undo: the store
   * has no hook removal, so attach once per store.
   */
  attachInline<Tx extends StoreTransaction>(store: EventStore<Tx>): void;
}

/** Keeps a cached read model from staying stale past the event that changed it. */
export function createCacheInvalidation(options: CacheInvalidationOptions): CacheInvalidation {
  const keysIn = (events: readonly RecordedEvent[]) => [...new Set(events.flatMap((event) => options.keysOf(event)))];
  const handle = async (events: readonly RecordedEvent[]) => {
    const keys = keysIn(events);
    if (keys.length > 0) await options.cache.invalidate(keys);
  };
  return {
    handle,
    attachInline(store) {
      store.addAppendHook((events, tx) => {
        const keys = keysIn(events);
        // afterCommit callbacks are synchronous; the invalidation never throws (CacheAside logs).
        if (keys.length > 0) tx.afterCommit(() => void options.cache.invalidate(keys));
      });
    },
  };
}
