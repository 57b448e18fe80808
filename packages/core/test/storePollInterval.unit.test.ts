import { describe, expect, it } from 'vitest';
import { createInMemoryEventStore, type EventStore, type InMemoryTransaction, subscribe } from '../src/index.js';

/**
 * A store whose append notifications never reach this reader (as another process's behind a
 * transaction-mode pooler), and whose operator set `pollIntervalMs`.
 */
function unnotifiedStore(pollIntervalMs: number | undefined): {
  reader: EventStore<InMemoryTransaction>;
  writer: EventStore<InMemoryTransaction>;
} {
  const writer = createInMemoryEventStore();
  const reader = new Proxy(writer, {
    get(target, property, receiver) {
      if (property === 'onAppended') return () => () => {};
      if (property === 'pollIntervalMs') return pollIntervalMs;
      return Reflect.get(target, property, receiver);
    },
  });
  return { reader, writer };
}

/** How long a caught-up subscription takes to see an append it is not told of. */
async function unnotifiedLatency(storePollMs: number | undefined, ownPollMs?: number): Promise<number> {
  const { reader, writer } = unnotifiedStore(storePollMs);
  const controller = new AbortController();
  let caughtUp!: () => void;
  const asleep = new Promise<void>((resolve) => {
    caughtUp = resolve;
  });
  let seenAt = 0;
  const tailing = (async () => {
    const options = { signal: controller.signal, ...(ownPollMs !== undefined && { pollIntervalMs: ownPollMs }) };
    for await (const batch of subscribe(reader, options)) {
      if (batch.events.length === 0) {
        caughtUp();
        continue;
      }
      seenAt = performance.now();
      controller.abort();
    }
  })();
  // The log is empty: the subscription says so once, then sleeps.
  await asleep;
  await new Promise((resolve) => setTimeout(resolve, 20));
  const appendedAt = performance.now();
  await writer.appendToStream('p-1', [{ type: 'added', data: {} }]);
  await tailing;
  return seenAt - appendedAt;
}

describe("the store's pollIntervalMs", () => {
  it("bounds a subscription's sleep when no notification comes", async () => {
    // Without it the subscription sleeps its own default, 1000 ms.
    expect(await unnotifiedLatency(40)).toBeLessThan(500);
  });

  it("gives way to the subscription's own pollIntervalMs", async () => {
    expect(await unnotifiedLatency(5_000, 40)).toBeLessThan(500);
  });
});
