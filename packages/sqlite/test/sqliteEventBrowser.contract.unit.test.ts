import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventBrowserContract } from '@tidemark/testing';
import { createSqliteEventBrowser, createSqliteEventStore } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tidemark-browser-'));
let n = 0;
eventBrowserContract('sqlite', {
  create: async (options) => {
    const store = createSqliteEventStore({ file: join(dir, `browser${n++}.db`), ...options });
    return { store, browser: createSqliteEventBrowser(store) };
  },
  teardown: async () => rmSync(dir, { recursive: true, force: true }),
});
