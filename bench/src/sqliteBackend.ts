import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createSqliteEventStore,
  createSqliteKeyStore,
  createSqliteSnapshotStore,
  type SqliteEventStore,
  sqliteSchemaStatements,
} from '@tidemark/sqlite';
import type { Backend } from './backend.js';
import { openRawSqliteStore, rawSqliteBaseline } from './rawSqliteStore.js';

/**
 * Both databases are files in one fresh temp directory (on disk, not tmpfs, so synchronous=FULL
 * really waits for fsync), removed afterwards.
 */
export function sqliteBackend(): Backend {
  let dir: string | undefined;
  const directory = () => {
    dir ??= mkdtempSync(join(tmpdir(), 'tidemark-bench-'));
    return dir;
  };
  return {
    name: 'sqlite',
    baseline: rawSqliteBaseline,
    concurrent: false,
    callers: 64,
    async unavailable() {
      return undefined;
    },
    async openOurs(options) {
      return createSqliteEventStore({ file: join(directory(), `${options?.name ?? 'tidemark'}.db`), stages: options?.stages ?? [] });
    },
    async openKeyStore() {
      return createSqliteKeyStore({ file: join(directory(), 'tidemark.db') });
    },
    async openBaseline() {
      return openRawSqliteStore(join(directory(), 'raw.db'), sqliteSchemaStatements, 'events');
    },
    snapshots: (ours) => createSqliteSnapshotStore({ store: ours as SqliteEventStore }),
    async cleanup() {
      if (dir) rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    },
  };
}
