import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkpointStoreContract } from '@tidemark/testing';
import { createSqliteCheckpointStore, createSqliteEventStore } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tidemark-cp-'));
let n = 0;
checkpointStoreContract('sqlite', {
  create: async (options) => ({
    store: createSqliteEventStore({ file: join(dir, `cp${n++}.db`), ...options }),
    checkpoints: createSqliteCheckpointStore(),
  }),
  teardown: async () => rmSync(dir, { recursive: true, force: true }),
});
