import { keyStoreContract } from '@tidemark/testing';
import { afterAll } from 'vitest';
import { createSqliteEventStore, createSqliteKeyStore, type SqliteKeyStore } from '../src/index.js';
import { tempSqliteFiles } from './tempSqliteFiles.js';

const files = tempSqliteFiles('tidemark-keys-');
const opened: Array<{ close(): unknown }> = [];
afterAll(async () => {
  for (const closable of opened.reverse()) await closable.close();
  files.remove();
});

keyStoreContract('sqlite', {
  async create() {
    const file = files.next();
    const store = createSqliteEventStore({ file });
    const open = (): SqliteKeyStore => {
      const keyStore = createSqliteKeyStore({ file });
      opened.push(keyStore);
      return keyStore;
    };
    opened.push(store);
    return { store, keyStore: open(), openAnother: async () => open() };
  },
});
