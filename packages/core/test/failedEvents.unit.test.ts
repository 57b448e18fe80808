import { describe, expect, it } from 'vitest';
import {
  createInMemoryCheckpointStore,
  createInMemoryEventStore,
  NotFoundError,
  type Projection,
  type RecordedEvent,
  retryFailedEvent,
  skipFailedEvent,
  ValidationError,
} from '../src/index.js';

async function parkedStore() {
  const store = createInMemoryEventStore();
  const checkpoints = createInMemoryCheckpointStore();
  const { events } = await store.appendToStream('a-1', [{ type: 'added', data: { amount: 3 } }]);
  const event = events[0] as RecordedEvent;
  const letter = { projection: 'sums', position: event.position, eventId: event.id, eventType: 'added', streamId: 'a-1' };
  await store.transaction((tx) => checkpoints.park({ ...letter, message: 'boom', attempts: 2, parkedAt: new Date(), event }, tx));
  return { store, checkpoints, position: event.position };
}

describe('retrying and skipping failed events', () => {
  it('retries a parked event only with its own projection, and not one that is not there', async () => {
    const { store, checkpoints, position } = await parkedStore();
    const applied: RecordedEvent[] = [];
    const sums: Projection = { name: 'sums', apply: async (events) => void applied.push(...events) };
    const target = { store, checkpoints, name: 'sums', position };
    await expect(retryFailedEvent(target)).rejects.toBeInstanceOf(ValidationError);
    await expect(retryFailedEvent({ ...target, projection: { ...sums, name: 'other' } })).rejects.toBeInstanceOf(ValidationError);
    await expect(retryFailedEvent({ ...target, position: position + 1n, projection: sums })).rejects.toBeInstanceOf(NotFoundError);
    expect(applied).toEqual([]);
    await retryFailedEvent({ ...target, projection: sums });
    expect(applied.map((event) => event.position)).toEqual([position]);
    await expect(skipFailedEvent(target)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('skips a halted projector past its failed event', async () => {
    const store = createInMemoryEventStore();
    const checkpoints = createInMemoryCheckpointStore();
    const failure = { position: 7n, eventId: 'e', eventType: 'added', streamId: 'a-1', message: 'boom', attempts: 5, failedAt: new Date() };
    await store.transaction(async (tx) => {
      await checkpoints.save('sums', 0n, 6n, tx);
      await checkpoints.recordFailure('sums', failure, tx);
    });
    await skipFailedEvent({ store, checkpoints, name: 'sums', position: 7n });
    const record = await store.transaction((tx) => checkpoints.load('sums', tx));
    expect(record?.position).toBe(7n);
    expect(record?.failure).toBeUndefined();
  });
});
