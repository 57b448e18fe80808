import {
  createFallbackReadRepository,
  createInMemoryCheckpointStore,
  createInMemoryEventStore,
  createProjector,
  type Projection,
  ValidationError,
} from '@tidemark/core';
import { afterEach, describe, expect, it } from 'vitest';

const top = 2n ** 63n - 1n;
// Positions no store can hold, or no position at all: each is refused at once, whatever the timeout.
const impossible: unknown[] = [top + 1n, 2n ** 64n, -1n, 1, 1.5, '5', null];

const projection: Projection = { name: 'noop', apply: async () => {} };

describe('waiting for a position that cannot exist', () => {
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  it('projector.waitForPosition refuses it with a ValidationError at once instead of waiting out its timeout', async () => {
    const store = createInMemoryEventStore();
    const projector = createProjector({ store, projection, checkpoints: createInMemoryCheckpointStore() });
    await projector.start();
    stops.push(() => projector.stop());
    for (const position of impossible) {
      const started = performance.now();
      await expect(async () => projector.waitForPosition(position as bigint, { timeoutMs: 5000 }), String(position)).rejects.toThrow(
        ValidationError,
      );
      expect(performance.now() - started).toBeLessThan(1000);
    }
    // The top itself can exist: it is waited for, as any position the log has not reached.
    expect(await projector.waitForPosition(top, { timeoutMs: 10 })).toBe(false);
  });

  it('a fallback read refuses such a minPosition before it waits or reads anything', async () => {
    const store = createInMemoryEventStore();
    const calls: string[] = [];
    const repository = createFallbackReadRepository({
      store,
      evolver: { initialState: () => 0, evolve: (state: number) => state + 1 },
      streamId: (id) => `account-${id}`,
      query: async () => {
        calls.push('query');
        return undefined;
      },
      fromState: (_id, aggregate) => aggregate.state,
      waitForPosition: async () => {
        calls.push('wait');
        return true;
      },
    });
    for (const minPosition of impossible) {
      await expect(repository.get('a1', { minPosition: minPosition as bigint }), String(minPosition)).rejects.toThrow(ValidationError);
    }
    expect(calls).toEqual([]);
    // The top is a position: waited for, then read.
    await repository.get('a1', { minPosition: top });
    expect(calls).toEqual(['wait', 'query']);
  });
});

describe('waiting with a timeout no timer can keep', () => {
  // setTimeout turns each of these into 1 ms (with a warning at most): "not reached" at once.
  const badTimeouts: unknown[] = [Number.NaN, -1, 2 ** 31, Number.POSITIVE_INFINITY, '100'];

  it('projector.waitForPosition refuses it with a ValidationError', async () => {
    const store = createInMemoryEventStore();
    const projector = createProjector({ store, projection, checkpoints: createInMemoryCheckpointStore() });
    await projector.start();
    try {
      for (const timeoutMs of badTimeouts) {
        await expect(projector.waitForPosition(5n, { timeoutMs: timeoutMs as number }), String(timeoutMs)).rejects.toThrow(ValidationError);
      }
      expect(await projector.waitForPosition(5n, { timeoutMs: 0 })).toBe(false);
    } finally {
      await projector.stop();
    }
  });

  it('a fallback read repository refuses it at creation', () => {
    for (const timeoutMs of badTimeouts) {
      expect(
        () =>
          createFallbackReadRepository({
            store: createInMemoryEventStore(),
            evolver: { initialState: () => 0, evolve: (state: number) => state + 1 },
            streamId: (id) => `account-${id}`,
            query: async () => undefined,
            fromState: (_id, aggregate) => aggregate.state,
            waitForPosition: async () => true,
            timeoutMs: timeoutMs as number,
          }),
        String(timeoutMs),
      ).toThrow(ValidationError);
    }
  });
});
