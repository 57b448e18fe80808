import { waitFor } from '@tidemark/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createInMemoryCheckpointStore,
  createInMemoryEventStore,
  createProjector,
  type EventStore,
  type InMemoryTransaction,
  type Projection,
  type RecordedEvent,
  storeVisibility,
  ValidationError,
  type VisibilitySample,
} from '../src/index.js';
import { watchVisibility } from '../src/processing/visibilitySampler.js';

const noop: Projection<InMemoryTransaction> = { name: 'noop', async apply() {} };

/**
 * An in-memory store with a readable horizon, as PostgreSQL has one: while `hold()` is in force,
 * events committed after it are stored but no reader of the log sees them, and `visibilityLag()`
 * counts them, like the PostgreSQL store's.
 */
function storeWithHorizon() {
  const { readPage: _ownPage, ...inner } = createInMemoryEventStore();
  let heldAt: bigint | undefined;
  let heldSince = 0;
  const readable = (position: bigint) => heldAt === undefined || position <= heldAt;
  let visibilitySamples = 0;
  const store: EventStore<InMemoryTransaction> & { visibilityLag(): Promise<VisibilitySample> } = {
    ...inner,
    async headPosition(options) {
      const head = await inner.headPosition(options);
      return heldAt !== undefined && heldAt < head ? heldAt : head;
    },
    async *readAll(options) {
      for await (const event of inner.readAll(options)) {
        if (!readable(event.position)) return;
        yield event;
      }
    },
    async visibilityLag() {
      visibilitySamples++;
      const invisible: RecordedEvent[] = [];
      if (heldAt !== undefined) for await (const event of inner.readAll({ after: heldAt })) invisible.push(event);
      return {
        oldestOpenTransactionSeconds: heldAt === undefined ? 0 : Math.max(0.001, (performance.now() - heldSince) / 1000),
        invisibleEvents: invisible.length,
        ...(invisible[0] && { oldestInvisibleRecordedAt: invisible[0].recordedAt }),
      };
    },
  };
  return {
    store,
    /** What a transaction taking an id now does: everything committed from here on waits. */
    async hold() {
      heldAt = await inner.headPosition();
      heldSince = performance.now();
    },
    release() {
      heldAt = undefined;
    },
    samples: () => visibilitySamples,
  };
}

async function append(store: EventStore<InMemoryTransaction>, count: number): Promise<bigint> {
  let position = 0n;
  for (let i = 0; i < count; i++) position = (await store.appendToStream(`acc-${i}`, [{ type: 'test.amount.added', data: {} }])).position;
  return position;
}

describe('projector status behind a held-back readable horizon', () => {
  it('shows the committed events the horizon hides instead of looking caught up, and clears once they are read', async () => {
    const { store, hold, release } = storeWithHorizon();
    const projector = createProjector({
      store,
      projection: noop,
      checkpoints: createInMemoryCheckpointStore(),
      pollIntervalMs: 10,
      visibilityIntervalMs: 10,
    });
    try {
      const readableHead = await append(store, 3);
      await projector.start();
      expect(await projector.waitForPosition(readableHead, { timeoutMs: 5000 })).toBe(true);
      await hold();
      const committed = await append(store, 4);
      await waitFor(() => (projector.status().invisibleEvents ?? 0) === 4, 'status to show the four held-back events');
      const status = projector.status();
      // The readable figures alone say "caught up": checkpoint == headPosition, state running.
      expect(status).toMatchObject({ state: 'running', checkpoint: readableHead, headPosition: readableHead, invisibleEvents: 4 });
      expect(status.horizonAgeSeconds).toBeGreaterThan(0);
      expect(status.oldestInvisibleRecordedAt).toBeInstanceOf(Date);
      expect(await projector.waitForPosition(committed, { timeoutMs: 50 })).toBe(false);

      release();
      expect(await projector.waitForPosition(committed, { timeoutMs: 5000 })).toBe(true);
      await waitFor(() => projector.status().invisibleEvents === 0, 'the next sample to find nothing held back');
      expect(projector.status()).toMatchObject({ checkpoint: committed, headPosition: committed, horizonAgeSeconds: 0 });
      expect(projector.status().oldestInvisibleRecordedAt).toBeUndefined();
    } finally {
      await projector.stop();
    }
    // Stopped: no sampling, and no stale figures.
    expect(projector.status().invisibleEvents).toBeUndefined();
    expect(projector.status().horizonAgeSeconds).toBeUndefined();
  });

  it('adds nothing to the status of a store without a horizon (in memory, SQLite)', async () => {
    const store = createInMemoryEventStore();
    expect(storeVisibility(store)).toBeUndefined();
    const projector = createProjector({ store, projection: noop, checkpoints: createInMemoryCheckpointStore(), visibilityIntervalMs: 5 });
    try {
      const head = await append(store, 2);
      await projector.start();
      expect(await projector.waitForPosition(head, { timeoutMs: 5000 })).toBe(true);
      const status = projector.status();
      expect(Object.keys(status).filter((key) => /invisible|horizon/i.test(key))).toEqual([]);
    } finally {
      await projector.stop();
    }
  });

  it('samples nothing with visibility: false, and takes a source of its own', async () => {
    const off = storeWithHorizon();
    const silent = createProjector({
      store: off.store,
      projection: noop,
      checkpoints: createInMemoryCheckpointStore(),
      visibility: false,
      visibilityIntervalMs: 5,
    });
    const sample: VisibilitySample = { oldestOpenTransactionSeconds: 7, invisibleEvents: 2 };
    const own = createProjector({
      store: createInMemoryEventStore(),
      projection: noop,
      checkpoints: createInMemoryCheckpointStore(),
      visibility: async () => sample,
      visibilityIntervalMs: 5,
    });
    try {
      await silent.start();
      await own.start();
      await waitFor(() => own.status().invisibleEvents === 2, 'the own source to be sampled');
      expect(own.status().horizonAgeSeconds).toBe(7);
      expect(off.samples()).toBe(0);
      expect(silent.status().invisibleEvents).toBeUndefined();
    } finally {
      await silent.stop();
      await own.stop();
    }
  });

  it('drops the figures of a projector that stops projecting (failed), rather than leave them to go stale', async () => {
    const { store, hold, release } = storeWithHorizon();
    let poisoned = false;
    const projector = createProjector({
      store,
      projection: {
        name: 'poisoned',
        async apply() {
          if (poisoned) throw new Error('bad handler');
        },
      },
      checkpoints: createInMemoryCheckpointStore(),
      retry: { maxAttempts: 1 },
      pollIntervalMs: 10,
      visibilityIntervalMs: 5,
    });
    try {
      const head = await append(store, 1);
      await projector.start();
      expect(await projector.waitForPosition(head, { timeoutMs: 5000 })).toBe(true);
      await hold();
      await append(store, 1);
      await waitFor(() => projector.status().invisibleEvents === 1, 'the held-back event to show');
      // Released into a poison event: the projector halts on it, and samples no more.
      poisoned = true;
      release();
      await waitFor(() => projector.status().state === 'failed', 'the projector to halt');
      expect(projector.status()).not.toHaveProperty('invisibleEvents');
      expect(projector.status()).not.toHaveProperty('horizonAgeSeconds');
    } finally {
      await projector.stop();
    }
  });

  it('refuses a visibility interval that is not a number of milliseconds ≥ 1', () => {
    for (const visibilityIntervalMs of [0, -1, Number.NaN, 2 ** 31]) {
      expect(() =>
        createProjector({
          store: createInMemoryEventStore(),
          projection: noop,
          checkpoints: createInMemoryCheckpointStore(),
          visibilityIntervalMs,
        }),
      ).toThrow(ValidationError);
    }
  });
});

describe('watchVisibility', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('shares one sample per interval among the watchers of a store, skips it when none wants it, and stops with the last', async () => {
    vi.useFakeTimers();
    const key = {};
    let calls = 0;
    const source = async (): Promise<VisibilitySample> => ({ oldestOpenTransactionSeconds: 1, invisibleEvents: ++calls });
    let wantA = true;
    const seenA: Array<number | undefined> = [];
    const seenB: Array<number | undefined> = [];
    const stopA = watchVisibility(key, source, 100, { wanted: () => wantA, sampled: (s) => seenA.push(s?.invisibleEvents) });
    const stopB = watchVisibility(key, source, 100, { wanted: () => false, sampled: (s) => seenB.push(s?.invisibleEvents) });
    await vi.advanceTimersByTimeAsync(300);
    expect(calls).toBe(3);
    expect(seenA).toEqual([1, 2, 3]);
    expect(seenB).toEqual([1, 2, 3]);
    // A late watcher gets the latest sample at once.
    const seenC: Array<number | undefined> = [];
    const stopC = watchVisibility(key, source, 100, { wanted: () => false, sampled: (s) => seenC.push(s?.invisibleEvents) });
    expect(seenC).toEqual([3]);
    wantA = false;
    await vi.advanceTimersByTimeAsync(300);
    expect(calls).toBe(3);
    wantA = true;
    stopA();
    stopB();
    stopC();
    await vi.advanceTimersByTimeAsync(300);
    expect(calls).toBe(3);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('reports a failed sample as unknown rather than keeping the last figures', async () => {
    vi.useFakeTimers();
    let fail = false;
    const seen: Array<number | undefined> = [];
    const stop = watchVisibility(
      {},
      async () => {
        if (fail) throw new Error('connection lost');
        return { oldestOpenTransactionSeconds: 0, invisibleEvents: 5 };
      },
      50,
      { wanted: () => true, sampled: (s) => seen.push(s?.invisibleEvents) },
    );
    await vi.advanceTimersByTimeAsync(50);
    fail = true;
    await vi.advanceTimersByTimeAsync(50);
    stop();
    expect(seen).toEqual([5, undefined]);
  });
});
