import { createSqliteEventStore, createSqliteSnapshotStore } from '@tidemark/sqlite';
import { snapshotStoreContract } from '@tidemark/testing';
import { tempSqliteFiles } from './tempSqliteFiles.js';

const files = tempSqliteFiles();
snapshotStoreContract('sqlite', {
  create: async (options) => {
    const events = createSqliteEventStore({ file: files.next(), ...options });
    return { events, snapshots: createSqliteSnapshotStore({ store: events }) };
  },
  teardown: async () => files.remove(),
});
