import type { ReadCache } from './readCache.js';

export interface CacheAsideOptions<Value> {
  cache: ReadCache<Value>;
  /** The source of truth for a miss: a read model, with {@link readModelOrWriteSide} as a fallback chain. */
  load: (key: string) => Promise<Value | undefined>;
  /** Told about cache failures; the read itself then goes to `load`. Default: console.warn. */
  onCacheError?: (error: unknown, operation: 'lookup' | 'fill' | 'invalidate', key: string) => void;
}

export interface CacheAsideStats {
  hits: number;
  misses: number;
  loads: number;
  cacheErrors: number;
}

export interface CacheAside<Value> {
  get(key: string): Promise<Value | undefined>;
  /** Drops cached entries (after the events that changed them have committed). Never throws. */
  invalidate(keys: readonly string[]): Promise<void>;
  readonly stats: CacheAsideStats;
}

/**
 * The read path of a cache-aside read model: cache first; on a miss load from the source and
 * fill with the TTL. Concurrent misses of one key in this process share one load (single-flight),
 * so a hot key expiring does not send a stampede to the database. A cache that is down or slow
 * is logged and bypassed: reads get slower, never fail.
 */
export function createCacheAside<Value>(options: CacheAsideOptions<Value>): CacheAside<Value> {
  const { cache, load } = options;
  const report =
    options.onCacheError ??
    ((error: unknown, operation: string, key: string) =>
      console.warn(`cache ${operation} failed for '${key}', reading from the source: ${String(error)}`));
  const stats: CacheAsideStats = { hits: 0, misses: 0, loads: 0, cacheErrors: 0 };
  const inFlight = new Map<string, Promise<Value | undefined>>();

  async function loadAndFill(key: string): Promise<Value | undefined> {
    let token: string | undefined;
    try {
      const found = await cache.lookup(key);
      if (found.hit) {
        stats.hits++;
        return found.value;
      }
      token = found.token;
    } catch (error) {
      stats.cacheErrors++;
      report(error, 'lookup', key);
    }
    stats.misses++;
    stats.loads++;
    const value = await load(key);
    // Absent values are not cached: the entity may be created any moment, and its creation
    // event would then have nothing to invalidate.
    if (value !== undefined && token !== undefined) {
      try {
        await cache.fill(key, value, token);
      } catch (error) {
        stats.cacheErrors++;
        report(error, 'fill', key);
      }
    }
    return value;
  }

  return {
    stats,
    get(key: string): Promise<Value | undefined> {
      const pending = inFlight.get(key);
      if (pending) return pending;
      const started = loadAndFill(key).finally(() => {
        if (inFlight.get(key) === started) inFlight.delete(key);
      });
      inFlight.set(key, started);
      return started;
    },
    async invalidate(keys: readonly string[]): Promise<void> {
      // A load already in flight may have read the old state: later readers must not join it.
      for (const key of keys) inFlight.delete(key);
      try {
        await cache.invalidate(keys);
      } catch (error) {
        stats.cacheErrors++;
        // The TTL is the bound on staleness when the cache cannot be told.
        report(error, 'invalidate', keys.join(','));
      }
    },
  };
}
