import { createInMemoryEventStore, type ReadPageOptions, type SubscriptionBatch, subscribe } from '@tidemark/core';
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

  it('reads less often while the log moves with nothing for its filter, and at its pace again once something comes', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const store = createInMemoryEventStore();
    const reads: number[] = [];
    const counted = {
      ...store,
      readPage: (options: ReadPageOptions) => {
        reads.push(performance.now());
        return store.readPage!(options);
      },
    };
    const controller = new AbortController();
    const batches: SubscriptionBatch[] = [];
    const consuming = (async () => {
      for await (const batch of subscribe(counted, { types: ['wanted'], minReadIntervalMs: 10, signal: controller.signal }))
        batches.push(batch);
    })();
    await vi.advanceTimersByTimeAsync(0);
    // A busy log of other events: one append per millisecond for 400 ms.
    for (let ms = 0; ms < 400; ms++) {
      await store.appendToStream('other-1', [{ type: 'other', data: {} }]);
      await vi.advanceTimersByTimeAsync(1);
    }
    const gaps = reads.slice(1).map((at, i) => at - (reads[i] as number));
    // 10, 20, 40, 80, then 100 (ten times the minimum) between reads, not one every 10 ms.
    expect(gaps.slice(0, 6)).toEqual([10, 20, 40, 80, 100, 100]);
    // Its own event: found at the next read, after which the pace is 10 ms again.
    await store.appendToStream('mine-1', [{ type: 'wanted', data: {} }]);
    await vi.advanceTimersByTimeAsync(100);
    expect(batches.flatMap((b) => b.events.map((e) => e.type))).toEqual(['wanted']);
    const before = reads.length;
    await store.appendToStream('mine-1', [{ type: 'wanted', data: {} }]);
    await vi.advanceTimersByTimeAsync(10);
    expect(reads.length).toBe(before + 1);
    expect(batches.flatMap((b) => b.events.map((e) => e.type))).toEqual(['wanted', 'wanted']);
    controller.abort();
    await vi.advanceTimersByTimeAsync(0);
    await consuming;
    await store.close();
  });

  it('refuses a negative or fractional interval', async () => {
    const store = createInMemoryEventStore();
    await expect(subscribe(store, { minReadIntervalMs: -1 }).next()).rejects.toMatchObject({ code: 'validation' });
    await expect(subscribe(store, { minReadIntervalMs: 2.5 }).next()).rejects.toMatchObject({ code: 'validation' });
  });
});
