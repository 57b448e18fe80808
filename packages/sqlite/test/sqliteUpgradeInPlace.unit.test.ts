import { existsSync } from 'node:fs';
import { SchemaBehindError } from '@tidemark/core';
import { createSqliteCheckpointStore, createSqliteEventStore, sqliteMigrations, sqliteSchemaVersion } from '@tidemark/sqlite';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { tempSqliteFiles } from './tempSqliteFiles.js';

const files = tempSqliteFiles();
afterAll(() => files.remove());

/** The checkpoint DDL the code before versioned checkpoint tables ran at run time. */
const oldCheckpointTables = [
  `CREATE TABLE IF NOT EXISTS tidemark_checkpoints (
    name TEXT PRIMARY KEY, position BIGINT NOT NULL, updated_at TEXT NOT NULL, failed_position BIGINT,
    failed_event_id TEXT, failed_event_type TEXT, failed_stream_id TEXT, error TEXT, attempts INTEGER, failed_at TEXT)`,
  `CREATE TABLE IF NOT EXISTS tidemark_dead_letters (
    projection TEXT NOT NULL, position BIGINT NOT NULL, event_id TEXT NOT NULL, event_type TEXT NOT NULL,
    stream_id TEXT NOT NULL, error TEXT NOT NULL, attempts INTEGER NOT NULL, parked_at TEXT NOT NULL, event TEXT NOT NULL,
    PRIMARY KEY (projection, position))`,
];

/** A file as the old code left it: schema version 1 and checkpoint tables made at run time, with rows. */
function oldFile(): string {
  const file = files.next();
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE tidemark_schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  for (const statement of sqliteMigrations[0]?.statements ?? []) db.exec(statement);
  db.prepare('INSERT INTO tidemark_schema_version VALUES (1, ?, 0)').run('event log');
  for (const statement of oldCheckpointTables) db.exec(statement);
  db.prepare("INSERT INTO tidemark_checkpoints (name, position, updated_at) VALUES ('sums', 42, '2026-01-01T00:00:00.000Z')").run();
  db.prepare(
    `INSERT INTO tidemark_dead_letters VALUES ('sums', 7, 'e-7', 'added', 'a-1', 'boom', 3, '2026-01-01T00:00:00.000Z',
     '{"id":"e-7","type":"added","streamId":"a-1","version":1,"position":7,"recordedAt":"2026-01-01T00:00:00.000Z","data":{},"metadata":{},"schemaVersion":1}')`,
  ).run();
  db.close();
  return file;
}

describe('a SQLite file created by the code before versioned checkpoint tables', () => {
  it('upgrades in place; checkpoints and dead letters survive', async () => {
    const file = oldFile();
    const store = createSqliteEventStore({ file });
    const checkpoints = createSqliteCheckpointStore();
    try {
      expect((await store.transaction((tx) => checkpoints.load('sums', tx)))?.position).toBe(42n);
      expect(await store.transaction((tx) => checkpoints.failedEvents(tx))).toMatchObject([
        { projection: 'sums', status: 'parked', position: 7n, message: 'boom' },
      ]);
      const version = await store.transaction(async (tx) =>
        tx.db.prepare('SELECT max(version) FROM tidemark_schema_version').pluck().get(),
      );
      expect(version).toBe(sqliteSchemaVersion);
    } finally {
      await store.close();
    }
  });

  it('with migrate: false is refused with SchemaBehindError and left untouched', () => {
    const file = oldFile();
    expect(() => createSqliteEventStore({ file, migrate: false })).toThrow(SchemaBehindError);
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT max(version) FROM tidemark_schema_version').pluck().get()).toBe(1);
    db.close();
  });

  it('with migrate: false refuses a missing file without creating it', () => {
    const file = files.next();
    expect(() => createSqliteEventStore({ file, migrate: false })).toThrow(
      expect.objectContaining({ name: SchemaBehindError.name, details: expect.objectContaining({ found: 0 }) }),
    );
    expect(existsSync(file)).toBe(false);
  });

  it('with migrate: false opens a file that is up to date', async () => {
    const file = files.next();
    await createSqliteEventStore({ file }).close();
    const store = createSqliteEventStore({ file, migrate: false });
    await store.appendToStream('a-1', [{ type: 'added', data: {} }]);
    await store.close();
  });
});
