import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sqliteAdapter from '@tidemark/sqlite';
import type { Backend, ClosableTarget } from './backend.js';
import { openRawSqliteStore, rawSqliteBaseline } from './rawSqliteStore.js';

interface SqliteAdapter {
  createSqliteEventStore(options: { file: string }): ClosableTarget;
  sqliteSchemaStatements: readonly string[];
}

function adapter(): SqliteAdapter | undefined {
  const found = sqliteAdapter as unknown as Partial<SqliteAdapter>;
  return typeof found.createSqliteEventStore === 'function' && Array.isArray(found.sqliteSchemaStatements)
    ? (found as SqliteAdapter)
    : undefined;
}

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
    async unavailable() {
      return adapter() ? undefined : '@tidemark/sqlite does not export createSqliteEventStore and sqliteSchemaStatements yet';
    },
    async openOurs() {
      return adapter()!.createSqliteEventStore({ file: join(directory(), 'tidemark.db') });
    },
    async openBaseline() {
      return openRawSqliteStore(join(directory(), 'raw.db'), adapter()!.sqliteSchemaStatements, 'events');
    },
    async cleanup() {
      if (dir) rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    },
  };
}
