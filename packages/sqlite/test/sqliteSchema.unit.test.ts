import {
  createSqliteEventStore,
  migrateSqliteSchema,
  SchemaTooNewError,
  type SqliteMigration,
  sqliteSchemaVersion,
} from '@tidemark/sqlite';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { tempSqliteFiles } from './tempSqliteFiles.js';

const files = tempSqliteFiles();
afterAll(() => files.remove());

const versions = (file: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT version FROM tidemark_schema_version ORDER BY version').pluck().all();
  } finally {
    db.close();
  }
};

describe('SQLite schema migrations', () => {
  it('creates the schema on a fresh file and records its version', async () => {
    const file = files.next();
    const store = createSqliteEventStore({ file });
    await store.close();
    expect(versions(file)).toEqual(Array.from({ length: sqliteSchemaVersion }, (_, i) => i + 1));
    const db = new Database(file, { readonly: true });
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
    db.close();
    expect(tables).toEqual(expect.arrayContaining(['events', 'tidemark_schema_version']));
  });

  it('re-opens an up-to-date file without applying anything twice and keeps its events', async () => {
    const file = files.next();
    const first = createSqliteEventStore({ file });
    await first.appendToStream('order-1', [{ type: 'order.placed', data: { n: 1 } }]);
    await first.close();
    const second = createSqliteEventStore({ file });
    expect(versions(file)).toEqual(Array.from({ length: sqliteSchemaVersion }, (_, i) => i + 1));
    expect((await second.readStream('order-1')).map((e) => e.data)).toEqual([{ n: 1 }]);
    await second.close();
  });

  it('opens an up-to-date file without the write lock: beside an open transaction of this process, at once', async () => {
    const file = files.next();
    const first = createSqliteEventStore({ file, busyTimeoutMs: 2000 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started!: () => void;
    const inside = new Promise<void>((resolve) => {
      started = resolve;
    });
    const transaction = first.transaction(async (tx) => {
      await tx.appendToStream('order-1', [{ type: 'order.placed', data: { n: 1 } }]);
      started();
      await held;
    });
    await inside;
    // Before: the migration's BEGIN IMMEDIATE waited synchronously for the lock the open
    // transaction holds (which could not finish meanwhile), then threw StoreBusyError.
    const second = createSqliteEventStore({ file, busyTimeoutMs: 2000 });
    release();
    await transaction;
    expect((await second.readStream('order-1')).map((e) => e.data)).toEqual([{ n: 1 }]);
    await second.close();
    await first.close();
  });

  it('refuses a file whose schema is newer than the code, and leaves it untouched', async () => {
    const file = files.next();
    await createSqliteEventStore({ file }).close();
    const db = new Database(file);
    db.prepare('INSERT INTO tidemark_schema_version (version, name, applied_at) VALUES (?, ?, ?)').run(
      sqliteSchemaVersion + 1,
      'future',
      0,
    );
    db.close();
    let error: unknown;
    try {
      createSqliteEventStore({ file });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SchemaTooNewError);
    expect((error as SchemaTooNewError).message).toContain(`schema version ${sqliteSchemaVersion + 1}`);
    expect((error as SchemaTooNewError).details).toMatchObject({ found: sqliteSchemaVersion + 1, supported: sqliteSchemaVersion });
    expect(versions(file)).toHaveLength(sqliteSchemaVersion + 1);
  });

  it('applies only the missing migrations, in order', () => {
    const file = files.next();
    const v1: SqliteMigration = { version: 1, capability: 'test', name: 'one', statements: ['CREATE TABLE a (x)'] };
    const v2: SqliteMigration = {
      version: 2,
      capability: 'test',
      name: 'two',
      statements: ['ALTER TABLE a ADD COLUMN y', 'CREATE TABLE b (z)'],
    };
    const db = new Database(file);
    expect(migrateSqliteSchema(db, file, [v1])).toBe(1);
    // Re-running v1 would fail (the table exists): reaching 2 proves it was skipped.
    expect(migrateSqliteSchema(db, file, [v1, v2])).toBe(2);
    expect(migrateSqliteSchema(db, file, [v1, v2])).toBe(2);
    expect(db.prepare('SELECT version, name FROM tidemark_schema_version ORDER BY version').raw().all()).toEqual([
      [1, 'one'],
      [2, 'two'],
    ]);
    expect(db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('a')).toEqual(['x', 'y']);
    db.close();
  });

  it('rolls a failing migration back completely: no half-applied schema', () => {
    const file = files.next();
    const v1: SqliteMigration = { version: 1, capability: 'test', name: 'one', statements: ['CREATE TABLE a (x)'] };
    const broken: SqliteMigration = {
      version: 2,
      capability: 'test',
      name: 'broken',
      statements: ['CREATE TABLE b (z)', 'THIS IS NOT SQL'],
    };
    const db = new Database(file);
    migrateSqliteSchema(db, file, [v1]);
    expect(() => migrateSqliteSchema(db, file, [v1, broken])).toThrow();
    expect(db.prepare('SELECT max(version) FROM tidemark_schema_version').pluck().get()).toBe(1);
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'b'").pluck().get()).toBe(0);
    db.close();
  });
});
