import { describe, expect, it } from 'vitest';
import { createInMemoryEventStore, createInMemoryOutbox, handleCommand } from '../src/index.js';

// No OpenTelemetry SDK is registered in this file: the API is a no-op and nothing is stamped.
describe('tracing without an SDK', () => {
  it('stores no traceparent in events nor in outbox messages', async () => {
    const store = createInMemoryEventStore();
    const outbox = createInMemoryOutbox();
    await handleCommand(
      store,
      { initialState: () => 0, decide: () => [{ type: 'counter.incremented', data: {} }], evolve: (n: number) => n + 1 },
      'counter-1',
      {},
    );
    await store.transaction((tx) => outbox.add(tx, [{ id: 'm-1', type: 'counter.announced', schemaVersion: 1, key: 'k', data: {} }]));
    expect((await store.readStream('counter-1'))[0]?.metadata).toEqual({});
    const [entry] = await store.transaction((tx) => outbox.pending(tx, { limit: 10 }));
    expect(entry?.message.headers).toEqual({});
  });
});
