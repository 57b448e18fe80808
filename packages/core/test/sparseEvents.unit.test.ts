import { createInMemoryEventStore, createInMemoryOutbox, type NewEvent, type OutgoingMessage, ValidationError } from '@tidemark/core';
import { describe, expect, it } from 'vitest';

const event: NewEvent = { type: 'order.created', data: { total: 5 } };
const message: OutgoingMessage = { id: 'm-1', type: 'shop.order.placed', schemaVersion: 1, key: 'order-1', data: {} };

/** An array of `length` slots with only `filled` set: the others are holes, as in `[, event]`. */
const sparse = <T>(length: number, filled: Record<number, T>): T[] => Object.assign(new Array<T>(length), filled);

describe('sparse batches', () => {
  it.each<[string, NewEvent[], number]>([
    ['a leading hole', sparse(2, { 1: event }), 0],
    ['a hole in the middle', sparse(3, { 0: event, 2: event }), 1],
    ['a trailing hole', sparse(2, { 0: event }), 1],
  ])('refuses an append with %s as a ValidationError naming the index, writing nothing', async (_, events, hole) => {
    expect(hole in events).toBe(false);
    const store = createInMemoryEventStore();
    const error = await store.appendToStream('order-1', events).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).message).toContain(`Event ${hole}`);
    expect((error as ValidationError).details).toMatchObject({ index: hole });
    expect(await store.headPosition()).toBe(0n);
    await store.close();
  });

  it('refuses an outbox batch with a hole as a ValidationError naming the index, adding nothing', async () => {
    const store = createInMemoryEventStore();
    const outbox = createInMemoryOutbox();
    const batch = sparse(3, { 0: message, 2: { ...message, id: 'm-2' } });
    const error = await store.transaction((tx) => outbox.add(tx, batch)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).details).toMatchObject({ index: 1 });
    expect(await store.transaction((tx) => outbox.pending(tx, { limit: 10 }))).toEqual([]);
    await store.close();
  });
});
