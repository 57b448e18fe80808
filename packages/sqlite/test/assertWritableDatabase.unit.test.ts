import { readFileSync, statSync } from 'node:fs';
import { createSqliteEventStore, ReadOnlyDatabaseError } from '@tidemark/sqlite';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { assertWritableDatabase } from '../src/eventStore/assertWritableDatabase.js';
import { tempSqliteFiles } from './tempSqliteFiles.js';

const files = tempSqliteFiles('tidemark-sqlite-writable-');
afterAll(() => files.remove());

async function storeFile(): Promise<string> {
  const file = files.next();
  const store = createSqliteEventStore({ file });
  await store.appendToStream('order-1', [{ type: 'order.placed', data: {} }]);
  await store.close();
  return file;
}

function thrownBy(run: () => void): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('assertWritableDatabase', () => {
  it('refuses a connection SQLite opened read-only, naming the file, and leaves the connection as it found it', async () => {
    const file = await storeFile();
    // SQLite opens a file the process cannot write (mode 0444, a read-only mount) exactly like
    // this, without saying so; root writes whatever the mode, so the test asks for it.
    const db = new Database(file, { readonly: true });
    try {
      const error = thrownBy(() => assertWritableDatabase(db, file));
      expect(error).toBeInstanceOf(ReadOnlyDatabaseError);
      expect(error).toMatchObject({ code: 'validation', details: { file, sqliteCode: 'SQLITE_READONLY' } });
      expect((error as Error).message).toContain(`'${file}' is read-only`);
      expect(db.inTransaction).toBe(false);
    } finally {
      db.close();
    }
  });

  it('lets a writable connection through without writing anything', async () => {
    const file = await storeFile();
    const before = readFileSync(file);
    const db = new Database(file);
    try {
      db.pragma('journal_mode = WAL');
      const version = db.pragma('user_version', { simple: true });
      assertWritableDatabase(db, file);
      expect(db.inTransaction).toBe(false);
      expect(db.pragma('user_version', { simple: true })).toBe(version);
      expect(statSync(`${file}-wal`).size).toBe(0);
    } finally {
      db.close();
    }
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it('does not wait for a write lock held elsewhere: only a connection that can write meets it', async () => {
    const file = await storeFile();
    const holder = new Database(file);
    const db = new Database(file);
    try {
      holder.exec('BEGIN IMMEDIATE');
      db.pragma('busy_timeout = 10000');
      const started = performance.now();
      assertWritableDatabase(db, file);
      expect(performance.now() - started).toBeLessThan(1000);
      expect(db.inTransaction).toBe(false);
    } finally {
      db.close();
      holder.close();
    }
  });

  it("lets ':memory:' through", () => {
    const db = new Database(':memory:');
    try {
      expect(() => assertWritableDatabase(db, ':memory:')).not.toThrow();
    } finally {
      db.close();
    }
  });
});
