import { type ForgottenSubject, type RecordedEvent, subjectForgottenEventType } from '@tidemark/core';
import { type CacheAsideStats, createCacheAside, createCacheInvalidation, createRedisCache, invalidatingProjection } from '@tidemark/redis';
import type { AccountViewCache, StampedAccountView } from './shopReadModels.js';

export interface RedisAccountCacheOptions {
  url: string;
  /** Namespace of the keys: one per deployment (and per test run). Default 'shop:account:'. */
  prefix?: string;
  /** The bound on staleness should an invalidation be lost (Redis down at that moment). Default 60. */
  ttlSeconds?: number;
  /** A cache that fails is bypassed (reads go to the read model); this hears about it. */
  onCacheError?: (error: unknown, operation: 'lookup' | 'fill' | 'invalidate', key: string) => void;
}

export interface RedisAccountCache {
  /** Pass as `accountCache` to createShopReadModels. */
  readonly accountCache: (load: (accountId: string) => Promise<StampedAccountView | undefined>) => AccountViewCache;
  /** Hits, misses and cache errors of the account reads (zero until `accountCache` is wired). */
  stats(): CacheAsideStats;
  close(): Promise<void>;
}

/** As stored in Redis: JSON has no bigint, so the checkpoint is a decimal string. */
interface CachedAccountView {
  view: StampedAccountView['view'];
  checkpoint: string;
}

const accountPrefix = 'account-';
/** The accounts an event changes: its own, or — for a forgotten customer — every account of theirs (the cached owner). */
const accountKeys = (event: RecordedEvent): readonly string[] => {
  const streamIds = event.type === subjectForgottenEventType ? (event.data as ForgottenSubject).streamIds : [event.streamId];
  return streamIds.filter((streamId) => streamId.startsWith(accountPrefix)).map((streamId) => streamId.slice(accountPrefix.length));
};

/**
 * Account balances behind a Redis cache-aside: a miss loads the read-model row and fills the
 * cache; the balance projector drops the entries of the accounts a batch changed once that
 * batch has committed (REDIS_URL in the shop).
 */
export function createRedisAccountCache(options: RedisAccountCacheOptions): RedisAccountCache {
  const cache = createRedisCache<CachedAccountView>({
    url: options.url,
    prefix: options.prefix ?? 'shop:account:',
    ttlSeconds: options.ttlSeconds ?? 60,
  });
  let current: CacheAsideStats = { hits: 0, misses: 0, loads: 0, cacheErrors: 0 };
  return {
    accountCache(load) {
      const toCached = async (accountId: string): Promise<CachedAccountView | undefined> => {
        const stamped = await load(accountId);
        return stamped && { view: stamped.view, checkpoint: String(stamped.checkpoint) };
      };
      const aside = createCacheAside({ cache, load: toCached, ...(options.onCacheError && { onCacheError: options.onCacheError }) });
      current = aside.stats;
      // Invalidate through the cache-aside (not the bare cache) so that loads in flight in this
      // process, which may have read the old row, are not joined by later readers.
      const invalidation = createCacheInvalidation({ cache: aside, keysOf: accountKeys });
      return {
        async get(accountId) {
          const cached = await aside.get(accountId);
          return cached && { view: cached.view, checkpoint: BigInt(cached.checkpoint) };
        },
        projection: (projection) => invalidatingProjection(projection, invalidation),
      };
    },
    stats: () => ({ ...current }),
    close: () => cache.close(),
  };
}
