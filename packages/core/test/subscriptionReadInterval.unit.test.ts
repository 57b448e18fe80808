import { createInMemoryEventStore, type SubscriptionBatch, subscribe } from '@tidemark/core';
import { afterEach, describe, expect, it, vi } from 'vitest';

const event = (n: number) => [{ type: 'thing.happened', data: { n } }];

/** Runs a subscription in the background, handing out its batches one `next()` at a time. */
function follow(store: ReturnType<typeof createInMemoryEventStore>, minReadIntervalMs: number) {
  const controller = new AbortController();
  const iterator = subscribe(store, { minReadIntervalMs, signal: controller.signal })[Symbol.asyncIterator]();
  return {
    next: async (): Promise<SubscriptionBatch> => (await iterator.next()).value as SubscriptionBatch,
    stop: async () => {
      controller.abort();
      await iterator.return?.();
    },
  };
}

describe('a caught-up subscription under a stream of small commits', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reads at most once per minReadIntervalMs, so one read carries the commits made meanwhile', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const store = createInMemoryEventStore();
    const subscription = follow(store, 100);
    expect((await subscription.next()).caughtUp).toBe(true); // the empty log
    // A read happened just now: the next one waits for the interval, whatever wakes it.
    const nextBatch = subscription.next();
    await store.appendToStream('s-1', event(1));
    await store.appendToStream('s-1', event(2));
    await store.appendToStream('s-1', event(3));
    await vi.advanceTimersByTimeAsync(100);
    expect((await nextBatch).events.map((e) => e.version)).toEqual([1, 2, 3]);
    await subscription.stop();
    await store.close();
  });

  it('reads at once after a quiet spell, and at every wake-up with an interval of 0', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const store = createInMemoryEventStore();
    const quiet = follow(store, 100);
    const eager = follow(store, 0);
    expect((await quiet.next()).caughtUp).toBe(true);
    expect((await eager.next()).caughtUp).toBe(true);
    await vi.advanceTimersByTimeAsync(150);
    const [fromQuiet, fromEager] = [quiet.next(), eager.next()];
    await store.appendToStream('s-1', event(1));
    // No time passes: both read the append as soon as it wakes them.
    expect((await fromQuiet).events).toHaveLength(1);
    expect((await fromEager).events).toHaveLength(1);
    const eagerAgain = eager.next();
    await store.appendToStream('s-1', event(2));
    expect((await eagerAgain).events.map((e) => e.version)).toEqual([2]);
    await quiet.stop();
    await eager.stop();
    await store.close();
  });

  it('refuses a negative or fractional interval', async () => {
    const store = createInMemoryEventStore();
    await expect(subscribe(store, { minReadIntervalMs: -1 }).next()).rejects.toMatchObject({ code: 'validation' });
    await expect(subscribe(store, { minReadIntervalMs: 2.5 }).next()).rejects.toMatchObject({ code: 'validation' });
  });
});
