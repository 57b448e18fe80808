import type { TransactionOptions } from '@tidemark/core';
import { createSqliteEventStore, createSqliteSnapshotStore } from '@tidemark/sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { tempSqliteFiles } from './tempSqliteFiles.js';

const files = tempSqliteFiles();
afterAll(() => files.remove());

describe('SQLite snapshot store durability', () => {
  it("saves in a 'relaxed' transaction (a cache of the events) and erases in a fully durable one", async () => {
    const store = createSqliteEventStore({ file: files.next() });
    const durabilities: Array<TransactionOptions['durability']> = [];
    const transaction = store.transaction.bind(store);
    store.transaction = (work, options) => {
      durabilities.push(options?.durability);
      return transaction(work, options);
    };
    const snapshots = createSqliteSnapshotStore({ store });
    const { position } = await store.appendToStream('account-1', [{ type: 'account.deposited', data: { amount: 1 } }]);
    const snapshot = { streamId: 'account-1', name: 'balance', streamVersion: 1, position, recordedAt: new Date(), schemaVersion: 1 };
    await snapshots.save({ ...snapshot, payload: new Uint8Array([1, 2, 3]) });
    expect(await snapshots.load('account-1', 'balance')).toMatchObject(snapshot);
    await snapshots.deleteStream('account-1');
    expect(await snapshots.load('account-1', 'balance')).toBeUndefined();
    expect(durabilities).toEqual(['relaxed', undefined]);
    await store.close();
  });
});
