import { setTimeout as sleep } from 'node:timers/promises';
import { ConcurrencyError, createInMemoryEventStore, type EventStage, ValidationError } from '@tidemark/core';
import { describe, expect, it } from 'vitest';

const placed = (n: number) => ({ type: 'order.placed', data: { n } });

/** A write stage that awaits something slow (a key store, a schema registry) before letting the events through. */
const slowWrite = (ms: number): EventStage => ({
  write: async (events) => {
    await sleep(ms);
    return events;
  },
});

describe('in-memory store closed while calls are in flight', () => {
  it('resolves close() only once the appends accepted before it, still in their write stages, have committed', async () => {
    const store = createInMemoryEventStore({ stages: [slowWrite(20)] });
    const order: string[] = [];
    const appends = [1, 2, 3].map((n) =>
      store.appendToStream(`order-${n}`, [placed(n)]).then((result) => {
        order.push(`append ${n}`);
        return result;
      }),
    );
    const closing = store.close().then(() => order.push('closed'));
    const late = store.appendToStream('order-4', [placed(4)]);
    await expect(late).rejects.toBeInstanceOf(ValidationError);
    await expect(late).rejects.toThrow('The event store is closed');
    expect((await Promise.all(appends)).map((result) => result.written)).toEqual([true, true, true]);
    await closing;
    expect(order).toEqual(['append 1', 'append 2', 'append 3', 'closed']);
  });

  it('lets a transaction accepted before close() read and append through tx until it commits', async () => {
    const store = createInMemoryEventStore({ stages: [slowWrite(10)] });
    await store.appendToStream('order-1', [placed(1)]);
    const running = store.transaction(async (tx) => {
      await sleep(10);
      const events = await tx.readStream('order-1');
      return tx.appendToStream('order-1', [placed(2)], { expectedVersion: events.length });
    });
    const closing = store.close();
    expect(await running).toMatchObject({ written: true, nextExpectedVersion: 2 });
    await closing;
  });

  it('lets the retry of a transaction accepted before close() run before close() resolves', async () => {
    const store = createInMemoryEventStore();
    let attempts = 0;
    const running = store.transaction(
      async (tx) => {
        attempts++;
        await sleep(5);
        if (attempts === 1) throw new ConcurrencyError('order-1', 0, 1);
        return tx.appendToStream('order-1', [placed(1)]);
      },
      { retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 10 } },
    );
    let closed = false;
    const closing = store.close().then(() => {
      closed = true;
    });
    await running;
    expect(closed).toBe(false);
    await closing;
    expect(attempts).toBe(2);
  });
});
