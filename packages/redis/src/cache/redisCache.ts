import { ValidationError } from '@tidemark/core';
import { Redis } from 'ioredis';
import type { CacheLookup, ReadCache } from './readCache.js';

export interface RedisCacheOptions {
  /** A client you own (closed by you). Give it a `commandTimeout` so a hung server cannot hang reads. */
  redis?: Redis;
  /** Or a URL: the cache then owns its client and closes it. */
  url?: string;
  /** Namespace of every key: one per read model (and per test run). */
  prefix: string;
  ttlSeconds: number;
  /** Per-command timeout of an owned client, in ms. Default 250: a slow cache must not slow reads. */
  commandTimeoutMs?: number;
}

// Compare-and-set of the fill: the generation counter must still be what the lookup saw.
const fillScript = `
local generation = redis.call('GET', KEYS[2]) or ''
if generation == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
  return 1
end
return 0`;

/**
 * A cache-aside store on Redis. Values are JSON. Each key has a value entry and a generation
 * counter that invalidations bump; both share a hash tag so the fill script also works on a
 * Redis Cluster. Errors are thrown, never swallowed here: {@link createCacheAside} decides that
 * a failing cache means "read from the source".
 */
export function createRedisCache<Value>(options: RedisCacheOptions): ReadCache<Value> {
  if (!options.prefix) throw new ValidationError('prefix is required', { field: 'prefix' });
  if (!Number.isSafeInteger(options.ttlSeconds) || options.ttlSeconds < 1) {
    throw new ValidationError('ttlSeconds must be a whole number ≥ 1', { field: 'ttlSeconds' });
  }
  if (!options.redis && !options.url) throw new ValidationError('redis or url is required', { field: 'url' });
  const owned = !options.redis;
  const redis =
    options.redis ??
    new Redis(options.url as string, {
      // The offline queue lets the first reads wait for the initial connection; the timeout
      // bounds that wait, and `ready()` below refuses outright once a connection was lost.
      maxRetriesPerRequest: 1,
      commandTimeout: options.commandTimeoutMs ?? 250,
      lazyConnect: false,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
  // Without a listener ioredis reports every failed reconnect as an unhandled error event.
  if (owned) redis.on('error', () => {});
  const ttl = options.ttlSeconds;
  // Generations must outlive any load in flight, or a fill could match a counter that expired.
  const generationTtl = Math.max(ttl * 2, 300);
  // While ioredis reconnects, queueing a read would only add the command timeout to its latency.
  const ready = () => {
    if (redis.status === 'reconnecting' || redis.status === 'end' || redis.status === 'close') {
      throw new Error(`Redis is unavailable (${redis.status})`);
    }
  };
  const valueKey = (key: string) => `${options.prefix}{${key}}:v`;
  const generationKey = (key: string) => `${options.prefix}{${key}}:g`;

  return {
    async lookup(key: string): Promise<CacheLookup<Value>> {
      ready();
      const [raw, generation] = await redis.mget(valueKey(key), generationKey(key));
      if (raw !== null && raw !== undefined) return { hit: true, value: JSON.parse(raw) as Value };
      return { hit: false, token: generation ?? '' };
    },
    async fill(key: string, value: Value, token: string): Promise<boolean> {
      ready();
      const stored = await redis.eval(fillScript, 2, valueKey(key), generationKey(key), token, JSON.stringify(value), ttl);
      return stored === 1;
    },
    async invalidate(keys: readonly string[]): Promise<void> {
      if (keys.length === 0) return;
      ready();
      const multi = redis.multi();
      for (const key of keys) {
        multi.del(valueKey(key));
        multi.incr(generationKey(key));
        multi.expire(generationKey(key), generationTtl);
      }
      const results = await multi.exec();
      const failed = results?.find(([error]) => error);
      if (!results || failed) throw failed?.[0] ?? new Error('Redis invalidation transaction was aborted');
    },
    async close(): Promise<void> {
      if (owned) redis.disconnect();
    },
  };
}
