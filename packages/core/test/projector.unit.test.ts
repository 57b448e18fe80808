import { describe, expect, it } from 'vitest';
import {
  createInMemoryCheckpointStore,
  createInMemoryEventStore,
  createProjector,
  type EventStore,
  registerInlineProjection,
  type StoreTransaction,
  subscribe,
} from '../src/index.js';
import { createSumReadModel } from './inMemoryReadModel.js';

async function fill(store: EventStore<StoreTransaction>, count: number, type = 'test.amount.added') {
  let position = 0n;
  for (let i = 0; i < count; i++) {
    const result = await store.appendToStream(`acc-${i % 3}`, [{ type, data: { amount: i + 1 } }]);
    position = result.position;
  }
  return position;
}

function expectedSums(count: number, skip: (i: number) => boolean = () => false) {
  const sums = new Map<string, number>();
  for (let i = 0; i < count; i++) if (!skip(i)) sums.set(`acc-${i % 3}`, (sums.get(`acc-${i % 3}`) ?? 0) + i + 1);
  return sums;
}

describe('subscribe', () => {
  it('catches up in batches and wakes on append rather than on the poll interval', async () => {
    const store = createInMemoryEventStore();
    await fill(store, 25);
    const controller = new AbortController();
    const seen: bigint[] = [];
    const batchSizes: number[] = [];
    const iteration = (async () => {
      for await (const batch of subscribe(store, { batchSize: 10, pollIntervalMs: 60_000, signal: controller.signal })) {
        batchSizes.push(batch.events.length);
        for (const event of batch.events) seen.push(event.position);
        if (seen.length === 26) controller.abort();
      }
    })();
    // The poll interval is a minute: only the onAppended notification can deliver this in time.
    await new Promise((resolve) => setImmediate(resolve));
    await store.appendToStream('acc-9', [{ type: 'test.amount.added', data: { amount: 1 } }]);
    const finished = await Promise.race([iteration.then(() => true), new Promise((r) => setTimeout(() => r(false), 5000))]);
    expect(finished).toBe(true);
    expect(seen).toEqual(Array.from({ length: 26 }, (_, i) => BigInt(i + 1)));
    expect(batchSizes.slice(0, 3)).toEqual([10, 10, 5]);
  });

  it('says it caught up even when the log ends exactly on a full batch', async () => {
    const store = createInMemoryEventStore();
    await fill(store, 20);
    const controller = new AbortController();
    const seen: Array<[number, boolean]> = [];
    for await (const batch of subscribe(store, { batchSize: 10, signal: controller.signal })) {
      seen.push([batch.events.length, batch.caughtUp]);
      if (batch.caughtUp) controller.abort();
    }
    expect(seen).toEqual([
      [10, false],
      [10, false],
      [0, true],
    ]);
  });

  it('moves the checkpoint past trailing events the filter skips', async () => {
    const store = createInMemoryEventStore();
    await store.appendToStream('acc-1', [{ type: 'wanted', data: {} }]);
    await store.appendToStream('acc-1', [
      { type: 'other', data: {} },
      { type: 'other', data: {} },
    ]);
    const controller = new AbortController();
    for await (const batch of subscribe(store, { types: ['wanted'], signal: controller.signal })) {
      expect(batch.events.map((e) => e.type)).toEqual(['wanted']);
      expect(batch.checkpoint).toBe(3n);
      controller.abort();
    }
  });
});

describe('createProjector (in-memory)', () => {
  it('projects the backlog and live appends exactly once and reports status', async () => {
    const store = createInMemoryEventStore();
    const model = createSumReadModel();
    const batches: number[] = [];
    await fill(store, 40);
    const projector = createProjector({
      store,
      projection: model.projection,
      checkpoints: createInMemoryCheckpointStore(),
      batchSize: 7,
      onBatch: (info) => batches.push(info.events),
    });
    await projector.start();
    const head = await fill(store, 20);
    expect(await projector.waitForPosition(head, { timeoutMs: 5000 })).toBe(true);
    const status = projector.status();
    expect(status).toMatchObject({ name: 'sums', checkpoint: 60n, state: 'running', eventsProcessed: 60 });
    expect(status.lastProcessedRecordedAt).toBeInstanceOf(Date);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(60);
    const expected = expectedSums(40);
    for (let i = 0; i < 20; i++) expected.set(`acc-${i % 3}`, (expected.get(`acc-${i % 3}`) ?? 0) + i + 1);
    expect(model.sums).toEqual(expected);
    expect([...model.applied.values()].every((n) => n === 1)).toBe(true);
    await projector.stop();
    expect(projector.status().state).toBe('stopped');
  });

  it('resumes from its checkpoint after a restart', async () => {
    const store = createInMemoryEventStore();
    const checkpoints = createInMemoryCheckpointStore();
    const model = createSumReadModel();
    const first = createProjector({ store, projection: model.projection, checkpoints });
    await first.start();
    expect(await first.waitForPosition(await fill(store, 10), { timeoutMs: 5000 })).toBe(true);
    await first.stop();
    const head = await fill(store, 10);
    const second = createProjector({ store, projection: model.projection, checkpoints });
    await second.start();
    expect(await second.waitForPosition(head, { timeoutMs: 5000 })).toBe(true);
    await second.stop();
    expect(second.status().eventsProcessed).toBe(10);
    expect(model.applied.size).toBe(20);
    expect([...model.applied.values()].every((n) => n === 1)).toBe(true);
  });

  it('retries a transiently failing handler and applies the event once', async () => {
    const store = createInMemoryEventStore();
    const model = createSumReadModel();
    let failures = 0;
    model.failWhen = (event) => event.position === 5n && failures++ < 3;
    const projector = createProjector({
      store,
      projection: model.projection,
      checkpoints: createInMemoryCheckpointStore(),
      retry: { maxAttempts: 5, initialDelayMs: 1 },
    });
    await projector.start();
    const head = await fill(store, 10);
    expect(await projector.waitForPosition(head, { timeoutMs: 5000 })).toBe(true);
    await projector.stop();
    expect(failures).toBe(4); // three failures, then the call that passed
    expect(model.sums).toEqual(expectedSums(10));
  });

  it('stops at the failing event by default, with the error in status() and beside the checkpoint', async () => {
    const store = createInMemoryEventStore();
    const checkpoints = createInMemoryCheckpointStore();
    const model = createSumReadModel();
    model.failWhen = (event) => event.position === 6n;
    const head = await fill(store, 10);
    const projector = createProjector({ store, projection: model.projection, checkpoints, retry: { maxAttempts: 3, initialDelayMs: 1 } });
    await projector.start();
    expect(await projector.waitForPosition(head, { timeoutMs: 5000 })).toBe(false);
    const status = projector.status();
    expect(status.state).toBe('failed');
    expect(status.checkpoint).toBe(5n);
    expect(status.error).toMatchObject({ position: 6n, attempts: 3, message: 'cannot apply test.amount.added at 6' });
    const record = await store.transaction((tx) => checkpoints.load('sums', tx));
    expect(record).toMatchObject({ position: 5n, failure: { position: 6n, attempts: 3 } });
    expect(model.sums).toEqual(expectedSums(5));
    await projector.stop();
    expect(projector.status().state).toBe('failed');

    // Fixed handler: a new run gets past it and clears the recorded failure.
    model.failWhen = () => false;
    const fixed = createProjector({ store, projection: model.projection, checkpoints });
    await fixed.start();
    expect(await fixed.waitForPosition(head, { timeoutMs: 5000 })).toBe(true);
    await fixed.stop();
    expect(model.sums).toEqual(expectedSums(10));
    expect((await store.transaction((tx) => checkpoints.load('sums', tx)))?.failure).toBeUndefined();
  });

  it('parks the failing event in the dead-letter table when asked, and goes on', async () => {
    const store = createInMemoryEventStore();
    const checkpoints = createInMemoryCheckpointStore();
    const model = createSumReadModel();
    model.failWhen = (event) => event.position === 4n;
    const head = await fill(store, 10);
    const projector = createProjector({
      store,
      projection: model.projection,
      checkpoints,
      onFailure: 'dead-letter',
      retry: { maxAttempts: 2, initialDelayMs: 1 },
    });
    await projector.start();
    expect(await projector.waitForPosition(head, { timeoutMs: 5000 })).toBe(true);
    await projector.stop();
    expect(projector.status()).toMatchObject({ state: 'stopped', eventsParked: 1, eventsProcessed: 9 });
    expect(model.sums).toEqual(expectedSums(10, (i) => i === 3));
    const letters = await store.transaction((tx) => checkpoints.deadLetters('sums', tx));
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ position: 4n, attempts: 2, event: { position: 4n, data: { amount: 4 } } });
  });

  it('lets waitForPosition finish for events its filter skips', async () => {
    const store = createInMemoryEventStore();
    const model = createSumReadModel('filtered', { types: ['test.amount.added'] });
    const projector = createProjector({ store, projection: model.projection, checkpoints: createInMemoryCheckpointStore() });
    await projector.start();
    await fill(store, 3);
    const { position } = await store.appendToStream('other-1', [{ type: 'other.thing.happened', data: {} }]);
    expect(await projector.waitForPosition(position, { timeoutMs: 5000 })).toBe(true);
    await projector.stop();
    expect(model.applied.size).toBe(3);
  });

  it('writes a checkpoint past skipped events at most once per interval, and on stop', async () => {
    const store = createInMemoryEventStore();
    const checkpoints = createInMemoryCheckpointStore();
    const model = createSumReadModel('filtered', { types: ['test.amount.added'] });
    let transactions = 0;
    const counted: EventStore<StoreTransaction> = {
      ...store,
      transaction: (work, transactionOptions) => {
        transactions++;
        return store.transaction(work, transactionOptions);
      },
    };
    const stored = () => store.transaction(async (tx) => (await checkpoints.load('filtered', tx))?.position ?? 0n);
    const projector = createProjector({ store: counted, projection: model.projection, checkpoints, skipCheckpointIntervalMs: 60_000 });
    await projector.start();
    const wanted = await fill(store, 2);
    expect(await projector.waitForPosition(wanted, { timeoutMs: 5000 })).toBe(true);
    const before = transactions;
    let last = 0n;
    for (let i = 0; i < 20; i++) {
      last = (await store.appendToStream('other-1', [{ type: 'other.thing.happened', data: {} }])).position;
      expect(await projector.waitForPosition(last, { timeoutMs: 5000 })).toBe(true);
    }
    // Twenty wake-ups over skipped events: the position moved in memory, no transaction ran.
    expect(transactions).toBe(before);
    expect(projector.status().checkpoint).toBe(last);
    expect(await stored()).toBe(wanted);
    // An event of its own writes the skips with it.
    const own = (await store.appendToStream('acc-0', [{ type: 'test.amount.added', data: { amount: 5 } }])).position;
    expect(await projector.waitForPosition(own, { timeoutMs: 5000 })).toBe(true);
    expect(await stored()).toBe(own);
    last = (await store.appendToStream('other-1', [{ type: 'other.thing.happened', data: {} }])).position;
    expect(await projector.waitForPosition(last, { timeoutMs: 5000 })).toBe(true);
    await projector.stop();
    expect(await stored()).toBe(last);
    // With 0, every move is written.
    const eager = createProjector({ store, projection: model.projection, checkpoints, skipCheckpointIntervalMs: 0 });
    await eager.start();
    last = (await store.appendToStream('other-1', [{ type: 'other.thing.happened', data: {} }])).position;
    expect(await eager.waitForPosition(last, { timeoutMs: 5000 })).toBe(true);
    expect(await stored()).toBe(last);
    await eager.stop();
    expect(model.applied.size).toBe(3);
  });

  it('never double-applies when two instances share one checkpoint (compare-and-set)', async () => {
    const store = createInMemoryEventStore();
    const checkpoints = createInMemoryCheckpointStore();
    const model = createSumReadModel();
    const a = createProjector({ store, projection: model.projection, checkpoints, batchSize: 3 });
    const b = createProjector({ store, projection: model.projection, checkpoints, batchSize: 5 });
    await Promise.all([a.start(), b.start()]);
    const head = await fill(store, 60);
    expect(await a.waitForPosition(head, { timeoutMs: 5000 })).toBe(true);
    expect(await b.waitForPosition(head, { timeoutMs: 5000 })).toBe(true);
    await Promise.all([a.stop(), b.stop()]);
    expect(model.sums).toEqual(expectedSums(60));
    expect([...model.applied.values()].every((n) => n === 1)).toBe(true);
    expect(a.status().eventsProcessed + b.status().eventsProcessed).toBe(60);
  });
});

describe('registerInlineProjection', () => {
  it('updates the read model in the append transaction, and a throwing projection rolls the append back', async () => {
    const store = createInMemoryEventStore();
    const model = createSumReadModel();
    await registerInlineProjection(store, model.projection);
    await fill(store, 6);
    expect(model.sums).toEqual(expectedSums(6));
    model.failWhen = () => true;
    await expect(store.appendToStream('acc-0', [{ type: 't', data: { amount: 100 } }])).rejects.toThrow('cannot apply');
    expect(await store.headPosition()).toBe(6n);
    expect(model.sums).toEqual(expectedSums(6));
  });
});
