import { waitFor } from '@tidemark/testing';
import { describe, expect, it } from 'vitest';
import {
  type CheckpointStore,
  createInMemoryCheckpointStore,
  createInMemoryEventStore,
  createProjector,
  type Lease,
  type ProjectorState,
  type RetryInfo,
  type StoreTransaction,
} from '../src/index.js';
import { createSumReadModel } from './inMemoryReadModel.js';

/** Stands for a driver's lock timeout, deadlock, lost connection… */
class FlakyInfrastructureError extends Error {}

function storeWithTransientErrors() {
  return Object.assign(createInMemoryEventStore(), { isTransient: (error: unknown) => error instanceof FlakyInfrastructureError });
}

async function fill(store: ReturnType<typeof createInMemoryEventStore>, count: number) {
  let position = 0n;
  for (let i = 0; i < count; i++)
    position = (await store.appendToStream(`acc-${i % 3}`, [{ type: 'test.amount.added', data: { amount: i + 1 } }])).position;
  return position;
}

const sumOf = (count: number) => (count * (count + 1)) / 2;
const total = (sums: Map<string, number>) => [...sums.values()].reduce((a, b) => a + b, 0);

describe('projector: infrastructure errors are not poison events', () => {
  it('retries an error the store calls transient indefinitely, in state retrying, without parking the event', async () => {
    const store = storeWithTransientErrors();
    const checkpoints = createInMemoryCheckpointStore();
    const model = createSumReadModel();
    let failures = 0;
    // Far more failures than maxAttempts: before the fix the event went to the dead letters.
    model.failWhen = (event) => {
      if (event.position !== 4n || failures >= 12) return false;
      failures++;
      // Thrown from apply, as a lock timeout inside the projection's own UPDATE would be; one in
      // two wrapped by the projection, which must not hide what it is.
      const cause = new FlakyInfrastructureError('canceling statement due to lock timeout');
      throw failures % 2 === 0 ? new Error('could not update balance', { cause }) : cause;
    };
    const states = new Set<ProjectorState>();
    const retries: RetryInfo[] = [];
    const projector = createProjector({
      store,
      projection: model.projection,
      checkpoints,
      onFailure: 'dead-letter',
      retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 2 },
      onRetry: (info) => {
        retries.push(info);
        states.add(projector.status().state);
      },
    });
    await projector.start();
    const head = await fill(store, 10);
    await waitFor(() => projector.status().state === 'retrying', 'state retrying');
    expect(projector.status()).toMatchObject({ state: 'retrying', lastError: expect.stringMatching(/lock timeout|could not update/) });
    expect(projector.status().attempts).toBeGreaterThanOrEqual(1);
    expect(await projector.waitForPosition(head, { timeoutMs: 10_000 })).toBe(true);
    await projector.stop();
    expect(failures).toBe(12);
    expect(retries.map((r) => r.attempts).slice(0, 3)).toEqual([1, 2, 3]);
    expect(await store.transaction((tx) => checkpoints.deadLetters('sums', tx))).toEqual([]);
    expect(total(model.sums)).toBe(sumOf(10));
    expect(projector.status()).toMatchObject({ eventsParked: 0, eventsProcessed: 10 });
    expect(projector.status().lastError).toBeUndefined();
  });

  it('does not count failures to save the checkpoint against the event', async () => {
    const store = createInMemoryEventStore();
    const inner = createInMemoryCheckpointStore();
    let saveFailures = 0;
    const checkpoints: CheckpointStore<StoreTransaction> = {
      ...inner,
      async save(name, expected, position, tx) {
        if (position >= 3 && saveFailures < 3) {
          saveFailures++;
          throw new Error('connection terminated');
        }
        return inner.save(name, expected, position, tx);
      },
    };
    const model = createSumReadModel();
    const projector = createProjector({
      store,
      projection: model.projection,
      checkpoints,
      onFailure: 'dead-letter',
      retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 2 },
    });
    await projector.start();
    const head = await fill(store, 6);
    expect(await projector.waitForPosition(head, { timeoutMs: 10_000 })).toBe(true);
    await projector.stop();
    expect(saveFailures).toBe(3);
    expect(await store.transaction((tx) => inner.deadLetters('sums', tx))).toEqual([]);
    expect(total(model.sums)).toBe(sumOf(6));
  });

  it('still parks an event whose handler keeps throwing its own error', async () => {
    const store = storeWithTransientErrors();
    const checkpoints = createInMemoryCheckpointStore();
    const model = createSumReadModel();
    model.failWhen = (event) => event.position === 2n;
    const projector = createProjector({
      store,
      projection: model.projection,
      checkpoints,
      onFailure: 'dead-letter',
      retry: { maxAttempts: 2, initialDelayMs: 1 },
    });
    await projector.start();
    const head = await fill(store, 4);
    expect(await projector.waitForPosition(head, { timeoutMs: 5000 })).toBe(true);
    await projector.stop();
    expect((await store.transaction((tx) => checkpoints.deadLetters('sums', tx))).map((l) => l.position)).toEqual([2n]);
  });

  it('releases its lease when it halts on a poison event, so a standby can take over', async () => {
    const store = createInMemoryEventStore();
    const model = createSumReadModel();
    model.failWhen = (event) => event.position === 2n;
    let held = false;
    let releases = 0;
    const lease: Lease = {
      acquire: async () => {
        held = true;
        return true;
      },
      renew: async () => held,
      release: async () => {
        held = false;
        releases++;
      },
    };
    const projector = createProjector({
      store,
      projection: model.projection,
      checkpoints: createInMemoryCheckpointStore(),
      lease,
      retry: { maxAttempts: 2, initialDelayMs: 1 },
    });
    await projector.start();
    await fill(store, 3);
    await waitFor(() => projector.status().state === 'failed', 'state failed');
    await waitFor(() => !held, 'the lease released');
    expect(releases).toBe(1);
    await projector.stop();
  });
});
