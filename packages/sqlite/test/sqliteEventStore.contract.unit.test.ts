import { createSqliteEventStore } from '@tidemark/sqlite';
import { eventStoreContract, eventStoreModelContract } from '@tidemark/testing';
import { tempSqliteFiles } from './tempSqliteFiles.js';

const files = tempSqliteFiles();
const harness = {
  create: async (options?: object) => createSqliteEventStore({ file: files.next(), ...options }),
  teardown: async () => files.remove(),
};

eventStoreContract('sqlite', harness);
eventStoreModelContract('sqlite', harness);

// Group commit is on by default; the contract holds with it off too.
const plainFiles = tempSqliteFiles();
const oneCommitPerAppend = {
  create: async (options?: object) => createSqliteEventStore({ file: plainFiles.next(), groupCommit: false, ...options }),
  teardown: async () => plainFiles.remove(),
};
eventStoreContract('sqlite (groupCommit: false)', oneCommitPerAppend);
