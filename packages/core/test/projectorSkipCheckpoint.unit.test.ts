import { describe, expect, it } from 'vitest';
import {
  type CheckpointStore,
  createInMemoryCheckpointStore,
  createInMemoryEventStore,
  createInMemoryInbox,
  createInMemoryLeases,
  createLogMessageConsumer,
  createMessageMapper,
  createProjector,
  type EventStore,
  type Lease,
  type RetryInfo,
  type StoreTransaction,
  type TransactionOptions,
} from '../src/index.js';
import { createSumReadModel } from './inMemoryReadModel.js';

// A filtered projection whose batches hold none of its events skips writing its checkpoint for
// `skipCheckpointIntervalMs`; the move must still be written once the interval has passed, even
// when no further event arrives to carry it (the stored checkpoint stayed behind for good).

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await check()) return true;
    await sleep(5);
  }
  return check();
}

const other = (store: EventStore<StoreTransaction>) => store.appendToStream('other-1', [{ type: 'other.thing.happened', data: {} }]);
const own = (store: EventStore<StoreTransaction>, amount = 1) =>
  store.appendToStream('acc-0', [{ type: 'test.amount.added', data: { amount } }]);

/** The store, counting its transactions and the options they ran with. */
function counted(store: EventStore<StoreTransaction>) {
  const options: Array<TransactionOptions | undefined> = [];
  let failNext = 0;
  const wrapped: EventStore<StoreTransaction> = {
    ...store,
    transaction: (work, transactionOptions) => {
      options.push(transactionOptions);
      if (failNext > 0) {
        failNext--;
        return Promise.reject(new Error('database unreachable'));
      }
      return store.transaction(work, transactionOptions);
    },
  };
  return {
    store: wrapped,
    options,
    count: () => options.length,
    failNextTransactions(n: number) {
      failNext = n;
    },
  };
}

function storedOf(store: EventStore<StoreTransaction>, checkpoints: CheckpointStore<StoreTransaction>, name: string) {
  return () => store.transaction(async (tx) => (await checkpoints.load(name, tx))?.position ?? 0n);
}

describe('projector: a checkpoint move past skipped events', () => {
  it('is written once the interval has passed, though no further event arrives', async () => {
    const store = createInMemoryEventStore();
    const checkpoints = createInMemoryCheckpointStore();
    const model = createSumReadModel('filtered', { types: ['test.amount.added'] });
    const stored = storedOf(store, checkpoints, 'filtered');
    const projector = createProjector({ store, projection: model.projection, checkpoints, skipCheckpointIntervalMs: 100 });
    await projector.start();
    const wanted = (await own(store)).position;
    expect(await projector.waitForPosition(wanted, { timeoutMs: 5000 })).toBe(true);
    expect(await stored()).toBe(wanted);
    // Three events it does not handle, within the interval of the write above: the moves are skipped.
    let last = 0n;
    for (let i = 0; i < 3; i++) last = (await other(store)).position;
    expect(await projector.waitForPosition(last, { timeoutMs: 5000 })).toBe(true);
    expect(projector.status().checkpoint).toBe(last);
    // Then nothing happens: the stored checkpoint follows within the interval all the same.
    expect(await until(async () => (await stored()) === last, 2000)).toBe(true);
    expect(projector.status()).toMatchObject({ state: 'running', checkpoint: last });
    await projector.stop();
    expect(model.applied.size).toBe(1);
  });

  it('is written at most once per interval while skipped events keep coming, with no transaction per batch', async () => {
    const inner = createInMemoryEventStore();
    const { store, count } = counted(inner);
    const checkpoints = createInMemoryCheckpointStore();
    const model = createSumReadModel('filtered', { types: ['test.amount.added'] });
    const stored = storedOf(inner, checkpoints, 'filtered');
    const projector = createProjector({ store, projection: model.projection, checkpoints, skipCheckpointIntervalMs: 300 });
    await projector.start();
    const wanted = (await own(inner)).position;
    expect(await projector.waitForPosition(wanted, { timeoutMs: 5000 })).toBe(true);
    const before = count();
    const started = performance.now();
    let last = 0n;
    for (let i = 0; i < 30; i++) {
      last = (await other(inner)).position;
      expect(await projector.waitForPosition(last, { timeoutMs: 5000 })).toBe(true);
      await sleep(20);
    }
    expect(await until(async () => (await stored()) === last, 2000)).toBe(true);
    const elapsed = performance.now() - started;
    // Thirty batches over ~0.6 s or more: one write per interval begun, not one per batch.
    expect(count() - before).toBeLessThanOrEqual(Math.ceil(elapsed / 300) + 1);
    expect(count() - before).toBeGreaterThanOrEqual(1);
    await projector.stop();
  });

  it("goes through the batch transaction: fenced by the lease, with the projector's durability", async () => {
    const inner = createInMemoryEventStore();
    const { store, options } = counted(inner);
    const checkpoints = createInMemoryCheckpointStore();
    const model = createSumReadModel('filtered', { types: ['test.amount.added'] });
    const stored = storedOf(inner, checkpoints, 'filtered');
    const base = createInMemoryLeases().lease('filtered');
    let fenced = 0;
    const lease: Lease = {
      ...base,
      async fence(tx) {
        fenced++;
        await base.fence?.(tx);
      },
    };
    const projector = createProjector({
      store,
      projection: model.projection,
      checkpoints,
      lease,
      durability: 'relaxed',
      skipCheckpointIntervalMs: 100,
    });
    await projector.start();
    const wanted = (await own(inner)).position;
    expect(await projector.waitForPosition(wanted, { timeoutMs: 5000 })).toBe(true);
    const fencedBefore = fenced;
    const transactionsBefore = options.length;
    const last = (await other(inner)).position;
    expect(await projector.waitForPosition(last, { timeoutMs: 5000 })).toBe(true);
    expect(await until(async () => (await stored()) === last, 2000)).toBe(true);
    expect(fenced).toBe(fencedBefore + 1);
    const written = options.slice(transactionsBefore).filter((o) => o?.durability !== undefined);
    expect(written).toEqual([{ durability: 'relaxed' }]);
    await projector.stop();
  });

  it('is not written by an instance that lost its lease: it stands by, and the checkpoint stays', async () => {
    const store = createInMemoryEventStore();
    const checkpoints = createInMemoryCheckpointStore();
    const model = createSumReadModel('filtered', { types: ['test.amount.added'] });
    const stored = storedOf(store, checkpoints, 'filtered');
    const base = createInMemoryLeases().lease('filtered');
    let held = true;
    const lease: Lease = {
      ...base,
      acquire: async () => held && base.acquire(),
      renew: async () => held && base.renew(),
      async fence(tx) {
        if (!held) await base.release();
        await base.fence?.(tx);
      },
    };
    const projector = createProjector({
      store,
      projection: model.projection,
      checkpoints,
      lease,
      leaseRenewMs: 60_000,
      leaseRetryMs: 20,
      skipCheckpointIntervalMs: 100,
    });
    await projector.start();
    const wanted = (await own(store)).position;
    expect(await projector.waitForPosition(wanted, { timeoutMs: 5000 })).toBe(true);
    const last = (await other(store)).position;
    expect(await projector.waitForPosition(last, { timeoutMs: 5000 })).toBe(true);
    held = false;
    expect(await until(() => projector.status().state === 'standby', 2000)).toBe(true);
    expect(await stored()).toBe(wanted);
    await projector.stop();
    expect(await stored()).toBe(wanted);
  });

  it('that fails is retried like any infrastructure failure, and written once the store is back', async () => {
    const inner = createInMemoryEventStore();
    const wrapped = counted(inner);
    const checkpoints = createInMemoryCheckpointStore();
    const model = createSumReadModel('filtered', { types: ['test.amount.added'] });
    const stored = storedOf(inner, checkpoints, 'filtered');
    const retries: RetryInfo[] = [];
    const projector = createProjector({
      store: wrapped.store,
      projection: model.projection,
      checkpoints,
      skipCheckpointIntervalMs: 100,
      retry: { initialDelayMs: 10, maxDelayMs: 20 },
      onRetry: (info) => void retries.push(info),
    });
    await projector.start();
    const wanted = (await own(inner)).position;
    expect(await projector.waitForPosition(wanted, { timeoutMs: 5000 })).toBe(true);
    const last = (await other(inner)).position;
    expect(await projector.waitForPosition(last, { timeoutMs: 5000 })).toBe(true);
    // The next transaction is the timed write: it fails.
    wrapped.failNextTransactions(1);
    expect(await until(() => retries.length > 0, 2000)).toBe(true);
    expect(retries[0]).toMatchObject({ name: 'filtered', attempts: 1 });
    expect(String(retries[0]?.error)).toContain('database unreachable');
    // The projector reloads its checkpoint, reads the skipped events again, and writes the move in time.
    expect(await until(async () => (await stored()) === last, 2000)).toBe(true);
    expect(await until(() => projector.status().state === 'running', 2000)).toBe(true);
    expect(projector.status()).toMatchObject({ checkpoint: last, eventsProcessed: 1 });
    expect(projector.status().lastError).toBeUndefined();
    await projector.stop();
    expect(model.applied.size).toBe(1);
  });

  it('does not race a batch in flight: the batch carries it, with no conflict and no retry', async () => {
    const store = createInMemoryEventStore();
    const checkpoints = createInMemoryCheckpointStore();
    const model = createSumReadModel('filtered', { types: ['test.amount.added'] });
    const stored = storedOf(store, checkpoints, 'filtered');
    let gate: Promise<void> | undefined;
    let entered: (() => void) | undefined;
    const apply = model.projection.apply.bind(model.projection);
    const projection = {
      ...model.projection,
      async apply(...args: Parameters<typeof apply>) {
        entered?.();
        if (gate) await gate;
        return apply(...args);
      },
    };
    const saves: Array<[bigint, bigint]> = [];
    const watched: CheckpointStore<StoreTransaction> = {
      ...checkpoints,
      save: (name, from, to, tx) => {
        saves.push([from, to]);
        return checkpoints.save(name, from, to, tx);
      },
    };
    const retries: RetryInfo[] = [];
    const projector = createProjector({
      store,
      projection,
      checkpoints: watched,
      skipCheckpointIntervalMs: 100,
      onRetry: (info) => void retries.push(info),
    });
    await projector.start();
    const wanted = (await own(store)).position;
    expect(await projector.waitForPosition(wanted, { timeoutMs: 5000 })).toBe(true);
    const skipped = (await other(store)).position;
    expect(await projector.waitForPosition(skipped, { timeoutMs: 5000 })).toBe(true);
    // An event of its own arrives while the move is pending, and its batch outlasts the interval.
    let open: (() => void) | undefined;
    gate = new Promise((resolve) => {
      open = resolve;
    });
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const mine = (await own(store, 2)).position;
    await inside;
    await sleep(250);
    open?.();
    expect(await projector.waitForPosition(mine, { timeoutMs: 5000 })).toBe(true);
    await sleep(200);
    expect(await stored()).toBe(mine);
    expect(retries).toEqual([]);
    // Each write continued from the one before it: none raced another.
    const after = saves.slice(saves.findIndex(([, to]) => to === wanted));
    expect(after).toEqual([
      [0n, wanted],
      [wanted, mine],
    ]);
    await projector.stop();
    expect(model.sums.get('acc-0')).toBe(3);
  });

  it('leaves no timer behind on stop, and writes nothing after it', async () => {
    const inner = createInMemoryEventStore();
    const { store, count } = counted(inner);
    const checkpoints = createInMemoryCheckpointStore();
    const model = createSumReadModel('filtered', { types: ['test.amount.added'] });
    const stored = storedOf(inner, checkpoints, 'filtered');
    const timers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
    const idle = timers();
    const projector = createProjector({
      store,
      projection: model.projection,
      checkpoints,
      skipCheckpointIntervalMs: 200,
      pollIntervalMs: 60_000,
    });
    await projector.start();
    const wanted = (await own(inner)).position;
    expect(await projector.waitForPosition(wanted, { timeoutMs: 5000 })).toBe(true);
    const last = (await other(inner)).position;
    expect(await projector.waitForPosition(last, { timeoutMs: 5000 })).toBe(true);
    expect(await stored()).toBe(wanted);
    await projector.stop();
    // stop writes the pending move itself…
    expect(await stored()).toBe(last);
    const afterStop = count();
    expect(timers()).toBeLessThanOrEqual(idle);
    // …and nothing is written after it.
    await sleep(300);
    expect(count()).toBe(afterStop);
  });

  it('stops at once when stopped right after start, before it has read anything', async () => {
    const store = createInMemoryEventStore();
    const model = createSumReadModel('filtered', { types: ['test.amount.added'] });
    for (let i = 0; i < 20; i++) {
      const projector = createProjector({
        store,
        projection: model.projection,
        checkpoints: createInMemoryCheckpointStore(),
        pollIntervalMs: 60_000,
        skipCheckpointIntervalMs: 100,
      });
      await projector.start();
      const stopped = await Promise.race([projector.stop().then(() => true), sleep(2000).then(() => false)]);
      expect(stopped).toBe(true);
      expect(projector.status().state).toBe('stopped');
    }
  });
});

describe('log message consumer: a checkpoint move past unmapped events', () => {
  it('is written once the interval has passed, though no further event arrives', async () => {
    const store = createInMemoryEventStore();
    const checkpoints = createInMemoryCheckpointStore();
    const stored = storedOf(store, checkpoints, 'mailer');
    const mapper = createMessageMapper({ 'order.placed': { type: 'shop.order.placed', data: () => ({}) } });
    let handled = 0;
    const consumer = createLogMessageConsumer({
      consumer: 'mailer',
      store,
      checkpoints,
      inbox: createInMemoryInbox(),
      mapper,
      skipCheckpointIntervalMs: 100,
      handle: async () => void handled++,
    });
    await consumer.start();
    const placed = (await store.appendToStream('order-1', [{ type: 'order.placed', data: {} }])).position;
    expect(await consumer.waitForPosition(placed, { timeoutMs: 5000 })).toBe(true);
    let last = 0n;
    for (let i = 0; i < 3; i++) last = (await store.appendToStream('account-1', [{ type: 'account.deposited', data: {} }])).position;
    expect(await consumer.waitForPosition(last, { timeoutMs: 5000 })).toBe(true);
    expect(await until(async () => (await stored()) === last, 2000)).toBe(true);
    await consumer.stop();
    expect(handled).toBe(1);
  });
});
