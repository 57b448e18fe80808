/**
 * What cache-aside needs from a cache. A miss hands out a fill token, and a fill only lands
 * when no invalidation happened since that token was issued: without it, a reader that loaded
 * the old state just before an event arrived could put that old state back right after the
 * invalidation, and the stale entry would live until its TTL.
 */
export type CacheLookup<Value> = { hit: true; value: Value } | { hit: false; token: string };

export interface ReadCache<Value> {
  lookup(key: string): Promise<CacheLookup<Value>>;
  /** Stores `value` unless `key` was invalidated after `token` was issued. True when stored. */
  fill(key: string, value: Value, token: string): Promise<boolean>;
  /** Drops the entries and makes fills that started before this call lose. */
  invalidate(keys: readonly string[]): Promise<void>;
  close(): Promise<void>;
}
