import type { Projection, StoreTransaction } from '@tidemark/core';
import type { CacheInvalidation } from './cacheInvalidation.js';

/**
 * Wraps the projection that feeds a cached read model so that the cache entries a batch
 * changed are dropped right after that batch's read-model writes commit — not before, or a
 * reader could refill the cache from the rows the batch was about to replace. The projector,
 * inline or asynchronous, runs the wrapper exactly like the original.
 */
export function invalidatingProjection<Tx extends StoreTransaction>(
  projection: Projection<Tx>,
  invalidation: CacheInvalidation,
): Projection<Tx> {
  return {
    ...projection,
    async apply(events, tx, tables) {
      await projection.apply(events, tx, tables);
      tx.afterCommit(() => void invalidation.handle(events));
    },
  };
}
