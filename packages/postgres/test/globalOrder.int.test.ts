import type { EventStore, RecordedEvent } from '@tidemark/core';
import { serviceAvailable, waitFor } from '@tidemark/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createStoreFactory, randomSchemaName } from './testSchemas.js';

const available = await serviceAvailable('postgres');

async function readFrom(store: EventStore, after: bigint, batchSize = 100): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const event of store.readAll({ after, batchSize })) events.push(event);
  return events;
}

/** Resolves on the next onAppended wake-up, or after `ms` — the bounded polling fallback. */
function nextWakeUp(store: EventStore, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      off();
      resolve();
    }, ms);
    const off = store.onAppended(() => {
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

/** A tailing reader: reads from its last position until `done()` says it has everything. */
async function tail(store: EventStore, done: (seen: readonly RecordedEvent[]) => boolean, timeoutMs: number): Promise<RecordedEvent[]> {
  const seen: RecordedEvent[] = [];
  const deadline = Date.now() + timeoutMs;
  while (!done(seen)) {
    if (Date.now() > deadline) throw new Error(`reader timed out with ${seen.length} events`);
    const batch = await readFrom(store, seen.at(-1)?.position ?? 0n, 64);
    if (batch.length === 0) await nextWakeUp(store, 50);
    seen.push(...batch);
  }
  return seen;
}

describe.skipIf(!available)('PostgreSQL global order', () => {
  const stores = createStoreFactory();
  afterEach(() => stores.cleanup());

  it('holds readers back behind an open writing transaction, then delivers everything once, in order', async () => {
    const writer = await stores.create();
    const reader = await stores.create({ schema: writer.schema });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let firstAppended!: () => void;
    const appended = new Promise<void>((resolve) => {
      firstAppended = resolve;
    });
    const slow = writer.transaction(async (tx) => {
      const result = await tx.appendToStream('slow-1', [{ type: 'first', data: {} }]);
      firstAppended();
      await gate;
      return result;
    });
    await appended;
    const second = await writer.appendToStream('fast-1', [{ type: 'second', data: {} }]);
    const third = await writer.appendToStream('fast-2', [{ type: 'third', data: {} }]);

    const tailing = tail(reader, (seen) => seen.length >= 3, 15_000);
    // Both later events are committed, but the open transaction could still commit below them.
    expect(await readFrom(reader, 0n)).toEqual([]);
    expect(await reader.headPosition()).toBeLessThan(second.position);
    const lag = await reader.visibilityLag();
    expect(lag.invisibleEvents).toBeGreaterThanOrEqual(2);
    expect(lag.oldestOpenTransactionSeconds).toBeGreaterThanOrEqual(0);

    release();
    const first = await slow;
    expect(first.position).toBeLessThan(second.position);
    const delivered = await tailing;
    expect(delivered.map((e) => e.type)).toEqual(['first', 'second', 'third']);
    expect(delivered.map((e) => e.position)).toEqual([first.position, second.position, third.position]);
    await waitFor(async () => (await reader.headPosition()) === third.position, 'the head to reach the last event', 10_000);
  });

  it('32 concurrent writers, 3 tailing readers: every reader sees every event exactly once, in one order', async () => {
    const schema = randomSchemaName();
    const writer = await stores.create({ schema, poolSize: 12 });
    const readers = await Promise.all([0, 1, 2].map(() => stores.create({ schema, poolSize: 2 })));
    let expectedTotal = Number.POSITIVE_INFINITY;
    const tails = readers.map((reader) => tail(reader, (seen) => seen.length >= expectedTotal, 60_000));

    const writers = Array.from({ length: 32 }, async (_, w) => {
      let written = 0;
      for (let i = 0; i < 50; i++) {
        const size = ((w + i) % 3) + 1;
        const events = Array.from({ length: size }, (_, j) => ({ type: 'tick', data: { w, i, j } }));
        // Writers share streams (serialising on their rows) and some append twice in one transaction.
        const stream = `shared-${w % 8}`;
        if (i % 5 === 0) {
          await writer.transaction(async (tx) => {
            await tx.appendToStream(stream, events);
            await tx.appendToStream(`own-${w}`, events);
          });
          written += 2 * size;
        } else {
          await writer.appendToStream(stream, events);
          written += size;
        }
      }
      return written;
    });
    const total = (await Promise.all(writers)).reduce((a, b) => a + b, 0);
    expectedTotal = total;
    const seen = await Promise.all(tails);

    const final = await readFrom(writer, 0n, 500);
    expect(final).toHaveLength(total);
    const finalIds = final.map((e) => e.id);
    expect(new Set(finalIds).size).toBe(total);
    for (let i = 1; i < final.length; i++) expect(final[i]!.position).toBeGreaterThan(final[i - 1]!.position);
    for (const events of seen) expect(events.map((e) => e.id)).toEqual(finalIds);
    // Per stream, versions are contiguous from 1 in global order.
    const versions = new Map<string, number>();
    for (const event of final) {
      expect(event.version).toBe((versions.get(event.streamId) ?? 0) + 1);
      versions.set(event.streamId, event.version);
    }
  }, 120_000);
});
