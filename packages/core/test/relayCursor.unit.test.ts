import { describe, expect, it } from 'vitest';
import { createInMemoryEventStore, createInMemoryOutbox, type Outbox, type StoreTransaction } from '../src/index.js';
import { createTableRelayCursor } from '../src/outbox/relayCursor.js';

describe('the outbox table cursor', () => {
  it('excludes the rows in flight when its read began, even when their batch is confirmed during the read', async () => {
    const store = createInMemoryEventStore();
    const inner = createInMemoryOutbox();
    await store.transaction((tx) =>
      inner.add(
        tx,
        [1, 2, 3, 4].map((n) => ({ id: `m-${n}`, type: 'test.thing.happened', schemaVersion: 1, key: 'k', data: { n } })),
      ),
    );
    // An outbox whose second read pauses where a database read would run: the confirmation of
    // the first batch lands in that gap, as it does on PostgreSQL (its read's snapshot is older).
    let reads = 0;
    let reading!: () => void;
    const inRead = new Promise<void>((resolve) => {
      reading = resolve;
    });
    let resume!: () => void;
    const gate = new Promise<void>((resolve) => {
      resume = resolve;
    });
    const seen: Array<ReadonlySet<bigint> | undefined> = [];
    const outbox: Outbox<StoreTransaction> = {
      ...inner,
      async pending(tx, options) {
        seen.push(options.exclude);
        if (++reads === 2) {
          reading();
          await gate;
        }
        return inner.pending(tx, options);
      },
    };
    const cursor = createTableRelayCursor({ store, outbox, batchSize: 2, pollIntervalMs: 10, signal: new AbortController().signal });
    await cursor.open();
    const first = await cursor.next();
    expect(first?.messages.map((m) => m.id)).toEqual(['m-1', 'm-2']);
    const second = cursor.next();
    await inRead;
    // Through another store: the in-memory store runs one transaction at a time, and the read's
    // is still open (on PostgreSQL the two are concurrent connections).
    await createInMemoryEventStore().transaction((tx) => first!.confirm(tx));
    first!.confirmed();
    resume();
    expect((await second)?.messages.map((m) => m.id)).toEqual(['m-3', 'm-4']);
    // The set the read was given still names the first batch: it was not emptied under it.
    expect([...(seen[1] ?? [])]).toEqual([1n, 2n]);
    await cursor.close();
  });
});
