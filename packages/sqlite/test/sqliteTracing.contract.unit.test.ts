import { createSqliteEventStore } from '@tidemark/sqlite';
import { appendTracingContract } from '@tidemark/testing';
import { tempSqliteFiles } from './tempSqliteFiles.js';

const files = tempSqliteFiles();
appendTracingContract('sqlite', {
  create: async (options?: object) => createSqliteEventStore({ file: files.next(), ...options }),
  teardown: async () => files.remove(),
});
