import { randomUUID } from 'node:crypto';
import {
  createInMemoryCheckpointStore,
  createInMemoryEventStore,
  createProjector,
  type Decider,
  type DomainEvent,
  handleCommand,
  type StoreTransaction,
} from '@tidemark/core';
import { serviceAvailable, serviceUrls, waitFor } from '@tidemark/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCacheAside } from '../src/cache/cacheAside.js';
import { createCacheInvalidation } from '../src/cache/cacheInvalidation.js';
import { invalidatingProjection } from '../src/cache/invalidatingProjection.js';
import { readModelOrWriteSide, type VersionedValue } from '../src/cache/readModelOrWriteSide.js';
import { createRedisCache } from '../src/cache/redisCache.js';

const available = await serviceAvailable('redis');

type AccountEvent = DomainEvent<'account.deposited', { amount: number }>;
interface Account {
  balance: number;
}
const accounts: Decider<{ deposit: number }, AccountEvent, Account> = {
  initialState: () => ({ balance: 0 }),
  decide: (command) => [{ type: 'account.deposited', data: { amount: command.deposit } }],
  evolve: (state, event) => ({ balance: state.balance + event.data.amount }),
};

describe.skipIf(!available)('cache-aside read model on Redis', () => {
  const prefix = `tidemark-test-${randomUUID()}:`;
  let redis: Redis;

  beforeAll(() => {
    redis = new Redis(serviceUrls.redis, { commandTimeout: 1000 });
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('misses once, then hits without loading again', async () => {
    const cache = createRedisCache<Account>({ url: serviceUrls.redis, prefix: `${prefix}a:`, ttlSeconds: 60 });
    let loads = 0;
    const reads = createCacheAside<Account>({ cache, load: async () => ({ balance: ++loads * 10 }) });
    expect(await reads.get('acc-1')).toEqual({ balance: 10 });
    expect(await reads.get('acc-1')).toEqual({ balance: 10 });
    expect(loads).toBe(1);
    expect(reads.stats).toMatchObject({ hits: 1, misses: 1 });
    await cache.close();
  });

  it('expires entries after the TTL, so the next read loads again', async () => {
    const cache = createRedisCache<Account>({ redis, prefix: `${prefix}ttl:`, ttlSeconds: 1 });
    let loads = 0;
    const reads = createCacheAside<Account>({ cache, load: async () => ({ balance: ++loads }) });
    await reads.get('acc-1');
    expect(await redis.ttl(`${prefix}ttl:{acc-1}:v`)).toBe(1);
    await waitFor(async () => (await redis.exists(`${prefix}ttl:{acc-1}:v`)) === 0, 'the entry to expire');
    expect(await reads.get('acc-1')).toEqual({ balance: 2 });
  });

  it('never keeps a balance stale past the event that changed it (inline invalidation)', async () => {
    const store = createInMemoryEventStore();
    const cache = createRedisCache<Account>({ redis, prefix: `${prefix}inv:`, ttlSeconds: 3600 });
    const reads = createCacheAside<Account>({
      cache,
      load: async (id) => {
        const { state, exists } = await store.aggregateStream(`account-${id}`, accounts);
        return exists ? state : undefined;
      },
    });
    createCacheInvalidation({ cache: reads, keysOf: (event) => [event.streamId.slice('account-'.length)] }).attachInline(store);
    await handleCommand(store, accounts, 'account-7', { deposit: 5 });
    expect(await reads.get('7')).toEqual({ balance: 5 });
    expect(await reads.get('7')).toEqual({ balance: 5 });
    expect(reads.stats.hits).toBe(1);
    await handleCommand(store, accounts, 'account-7', { deposit: 3 });
    // The invalidation runs right after the commit; the TTL (an hour) is not what saves us.
    await waitFor(async () => (await reads.get('7'))?.balance === 8, 'the invalidated balance');
  });

  it('rejects a fill that started before an invalidation (no stale refill race)', async () => {
    const cache = createRedisCache<Account>({ redis, prefix: `${prefix}race:`, ttlSeconds: 3600 });
    const first = await cache.lookup('acc-1');
    expect(first.hit).toBe(false);
    if (first.hit) return;
    await cache.invalidate(['acc-1']);
    expect(await cache.fill('acc-1', { balance: 1 }, first.token)).toBe(false);
    expect((await cache.lookup('acc-1')).hit).toBe(false);
    const second = await cache.lookup('acc-1');
    if (second.hit) throw new Error('unexpected hit');
    expect(await cache.fill('acc-1', { balance: 2 }, second.token)).toBe(true);
    expect(await cache.lookup('acc-1')).toEqual({ hit: true, value: { balance: 2 } });
  });

  it('sends concurrent misses of one key to a single load (stampede protection)', async () => {
    const cache = createRedisCache<Account>({ redis, prefix: `${prefix}stampede:`, ttlSeconds: 60 });
    let loads = 0;
    const reads = createCacheAside<Account>({
      cache,
      load: async () => {
        loads++;
        await new Promise((resolve) => setImmediate(resolve));
        return { balance: 1 };
      },
    });
    const results = await Promise.all(Array.from({ length: 50 }, () => reads.get('hot')));
    expect(results.every((r) => r?.balance === 1)).toBe(true);
    expect(loads).toBe(1);
  });

  it('reads from the source when Redis is down, and logs instead of failing', async () => {
    // Port 1 refuses connections: a real outage, not a stand-in client.
    const cache = createRedisCache<Account>({ url: 'redis://127.0.0.1:1', prefix: `${prefix}down:`, ttlSeconds: 60 });
    const errors: string[] = [];
    const reads = createCacheAside<Account>({
      cache,
      load: async () => ({ balance: 42 }),
      onCacheError: (_error, operation) => errors.push(operation),
    });
    expect(await reads.get('acc-1')).toEqual({ balance: 42 });
    await reads.invalidate(['acc-1']);
    expect(errors).toEqual(['lookup', 'invalidate']);
    await cache.close();
  });

  it('falls back to the write side when the read-model row is absent or behind', async () => {
    const store = createInMemoryEventStore();
    const rows = new Map<string, VersionedValue<Account>>();
    const fallbacks: string[] = [];
    const load = readModelOrWriteSide<Account, Account>({
      readModel: async (id) => rows.get(id),
      store,
      streamId: (id) => `account-${id}`,
      evolver: accounts,
      toValue: (state) => state,
      onFallback: (id, reason) => fallbacks.push(`${id}:${reason}`),
    });
    await handleCommand(store, accounts, 'account-1', { deposit: 10 });
    expect(await load('1')).toEqual({ balance: 10 });
    rows.set('1', { value: { balance: 10 }, version: 1 });
    expect(await load('1')).toEqual({ balance: 10 });
    await handleCommand(store, accounts, 'account-1', { deposit: 1 });
    expect(await load('1')).toEqual({ balance: 11 });
    expect(await load('missing')).toBeUndefined();
    expect(fallbacks).toEqual(['1:absent', '1:behind']);
  });

  it('invalidates after an asynchronous projector commits the read model the cache is filled from', async () => {
    const store = createInMemoryEventStore();
    const rows = new Map<string, Account>();
    const cache = createRedisCache<Account>({ redis, prefix: `${prefix}async:`, ttlSeconds: 3600 });
    let loads = 0;
    const reads = createCacheAside<Account>({
      cache,
      load: async (id) => {
        loads++;
        return rows.get(id);
      },
    });
    const invalidation = createCacheInvalidation({ cache: reads, keysOf: (event) => [event.streamId.slice('account-'.length)] });
    const projector = createProjector<StoreTransaction>({
      store,
      checkpoints: createInMemoryCheckpointStore(),
      projection: invalidatingProjection(
        {
          name: 'balances',
          categories: ['account'],
          async apply(events, tx) {
            const staged = new Map<string, Account>();
            for (const event of events) {
              const id = event.streamId.slice('account-'.length);
              const before = staged.get(id) ?? rows.get(id) ?? accounts.initialState();
              staged.set(id, accounts.evolve(before, event as AccountEvent));
            }
            tx.afterCommit(() => {
              for (const [id, row] of staged) rows.set(id, row);
            });
          },
        },
        invalidation,
      ),
    });
    await projector.start();
    try {
      const first = await handleCommand(store, accounts, 'account-9', { deposit: 4 });
      expect(await projector.waitForPosition(first.position, { timeoutMs: 5000 })).toBe(true);
      expect(await reads.get('9')).toEqual({ balance: 4 });
      expect(await reads.get('9')).toEqual({ balance: 4 });
      expect(loads).toBe(1);
      const second = await handleCommand(store, accounts, 'account-9', { deposit: 6 });
      expect(await projector.waitForPosition(second.position, { timeoutMs: 5000 })).toBe(true);
      await waitFor(async () => (await reads.get('9'))?.balance === 10, 'the balance after the commit');
      expect(loads).toBe(2);
    } finally {
      await projector.stop();
    }
  });

  it('never keeps a stale fill after an invalidation, with readers racing every write', async () => {
    const store = createInMemoryEventStore();
    const cache = createRedisCache<Account>({ redis, prefix: `${prefix}race-many:`, ttlSeconds: 3600 });
    const keys = ['a', 'b', 'c'];
    const truth = new Map<string, number>();
    let invalidated = 0;
    const loader = async (id: string) => {
      const before = invalidated;
      const { state, exists } = await store.aggregateStream(`account-${id}`, accounts);
      // Hold the old state until the write and its invalidation have happened (or a few turns
      // passed): the fill then lands after the invalidation — exactly where a stale fill is born.
      for (let turn = 0; turn < 50 && invalidated === before; turn++) await new Promise((resolve) => setImmediate(resolve));
      return exists ? state : undefined;
    };
    const writerSide = createCacheAside<Account>({ cache, load: loader });
    let stop = false;
    let round = 0;
    // Readers with single-flight maps of their own, as separate processes would have.
    const readerRounds = [0, 0, 0, 0, 0, 0];
    const readers = readerRounds.map(async (_, r) => {
      const own = createCacheAside<Account>({ cache, load: loader });
      for (let i = 0; !stop; i++) {
        if (readerRounds[r] === round) {
          await new Promise((resolve) => setImmediate(resolve));
          continue;
        }
        await own.get(keys[(i + r) % keys.length] as string);
        readerRounds[r] = round; // done with this round once one read finished after the write
      }
    });
    for (round = 1; round <= 120; round++) {
      const key = keys[round % keys.length] as string;
      // Empty the entry so that readers miss and start loading the old state, then write and
      // invalidate under them while they hold it.
      await cache.invalidate([key]);
      for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
      await handleCommand(store, accounts, `account-${key}`, { deposit: 1 });
      truth.set(key, (truth.get(key) ?? 0) + 1);
      await writerSide.invalidate([key]);
      invalidated++;
      // Every reader has finished a read started after the write: whatever it filled is settled.
      await waitFor(async () => readerRounds.every((done) => done === round), 'every reader to finish the round');
      for (const k of keys) {
        const found = await cache.lookup(k);
        if (found.hit) expect({ key: k, round, balance: found.value.balance }).toEqual({ key: k, round, balance: truth.get(k) });
      }
    }
    stop = true;
    await Promise.all(readers);
  });
});
