import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SqlTransaction, StoreTransaction, TableSwap } from '@tidemark/core';
import { createSqliteCheckpointStore, createSqliteEventStore, createSqliteTableSwap } from '@tidemark/sqlite';
import { afterEach, describe, it } from 'vitest';
import { readModelScenario } from './readModelScenario.js';

type SqlTx = StoreTransaction & SqlTransaction;

describe('shop read models on SQLite', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('builds the order list, daily analytics and balances from the same events; rebuilds and swaps; reads its writes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tidemark-rm-'));
    dirs.push(dir);
    const store = createSqliteEventStore({ file: join(dir, 'shop.db'), synchronous: 'NORMAL' });
    try {
      await readModelScenario(store, createSqliteCheckpointStore(), createSqliteTableSwap() as TableSwap<SqlTx>, 7);
    } finally {
      await store.close();
    }
  });
});
