import {
  createInMemoryEventStore,
  createInMemoryOutbox,
  createInMemorySnapshotStore,
  createMessageMapper,
  loadAggregate,
  maxSchemaVersion,
  maxStorablePosition,
  type OutgoingMessage,
  type Snapshot,
  ValidationError,
} from '@tidemark/core';
import { describe, expect, it } from 'vitest';

const message: OutgoingMessage = { id: 'm-1', type: 'shop.order.placed', schemaVersion: 1, key: 'order-1', data: {} };
const snapshot: Snapshot = {
  streamId: 's-1',
  name: 'state',
  streamVersion: 1,
  schemaVersion: 1,
  position: 5n,
  recordedAt: new Date('2026-01-01T00:00:00.000Z'),
  payload: new Uint8Array([1, 2]),
};
const outOfRangeDates: Array<[string, Date]> = [
  ['year 0', new Date('0000-06-01T00:00:00.000Z')],
  ['the earliest JavaScript Date', new Date(-8.64e15)],
  ['year 10000', new Date('+010000-01-01T00:00:00.000Z')],
  ['the latest JavaScript Date', new Date(8.64e15)],
  ['an invalid Date', new Date(Number.NaN)],
];

describe('values every store can hold', () => {
  it('is PostgreSQL integer for schema versions', () => {
    expect(maxSchemaVersion).toBe(2 ** 31 - 1);
  });

  it('refuses an event schemaVersion past 2147483647, writing nothing', async () => {
    const store = createInMemoryEventStore();
    await expect(store.appendToStream('s-1', [{ type: 't', data: {}, schemaVersion: maxSchemaVersion }])).resolves.toMatchObject({
      written: true,
    });
    for (const schemaVersion of [2 ** 31, 2 ** 53 - 1]) {
      const error = await store.appendToStream('s-2', [{ type: 't', data: {}, schemaVersion }]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).message).toContain('from 1 to 2147483647');
    }
    expect(await store.streamExists('s-2')).toBe(false);
    await store.close();
  });

  it('refuses an outbox message schemaVersion past 2147483647, and such a mapping', async () => {
    const store = createInMemoryEventStore();
    const outbox = createInMemoryOutbox();
    await expect(store.transaction((tx) => outbox.add(tx, [{ ...message, schemaVersion: 2 ** 31 }]))).rejects.toThrow(ValidationError);
    expect(() => createMessageMapper({ 'order.placed': { type: 'shop.order.placed', schemaVersion: 2 ** 31, data: () => ({}) } })).toThrow(
      ValidationError,
    );
    await expect(store.transaction((tx) => outbox.add(tx, [{ ...message, schemaVersion: maxSchemaVersion }]))).resolves.toBeUndefined();
    await store.close();
  });

  it.each(outOfRangeDates)('refuses an outbox occurredAt of %s, adding nothing', async (_, occurredAt) => {
    const store = createInMemoryEventStore();
    const outbox = createInMemoryOutbox();
    const error = await store.transaction((tx) => outbox.add(tx, [{ ...message, occurredAt }])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(await store.transaction((tx) => outbox.pending(tx, { limit: 10 }))).toEqual([]);
    await store.close();
  });

  it('accepts outbox occurredAt at both ends of the range', async () => {
    const store = createInMemoryEventStore();
    const outbox = createInMemoryOutbox();
    const ends = [new Date('0001-01-01T00:00:00.000Z'), new Date('9999-12-31T23:59:59.999Z')];
    await store.transaction((tx) =>
      outbox.add(
        tx,
        ends.map((occurredAt, i) => ({ ...message, id: `m-${i}`, occurredAt })),
      ),
    );
    const pending = await store.transaction((tx) => outbox.pending(tx, { limit: 10 }));
    expect(pending.map((entry) => entry.message.occurredAt)).toEqual(ends);
    await store.close();
  });

  it.each<[string, Partial<Snapshot>]>([
    ['schemaVersion 2**31', { schemaVersion: 2 ** 31 }],
    ['position 2n**63n', { position: 2n ** 63n }],
    ...outOfRangeDates.map(([label, recordedAt]): [string, Partial<Snapshot>] => [`recordedAt ${label}`, { recordedAt }]),
  ])('refuses a snapshot with %s, saving nothing', async (_, over) => {
    const snapshots = createInMemorySnapshotStore();
    await expect(snapshots.save({ ...snapshot, ...over })).rejects.toThrow(ValidationError);
    expect(await snapshots.load('s-1', 'state')).toBeUndefined();
  });

  it('accepts a snapshot at the largest schema version and position', async () => {
    const snapshots = createInMemorySnapshotStore();
    await snapshots.save({ ...snapshot, schemaVersion: maxSchemaVersion, position: maxStorablePosition });
    expect(await snapshots.load('s-1', 'state')).toMatchObject({ schemaVersion: maxSchemaVersion, position: maxStorablePosition });
  });

  it('refuses snapshot options whose version no snapshot store could keep', async () => {
    const store = createInMemoryEventStore();
    const evolver = { initialState: () => 0, evolve: (n: number) => n + 1 };
    const snapshots = { store: createInMemorySnapshotStore(), version: 2 ** 31 };
    await expect(loadAggregate(store, 's-1', evolver, { snapshots })).rejects.toThrow(ValidationError);
    await store.close();
  });
});
