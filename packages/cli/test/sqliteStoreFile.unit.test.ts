import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SchemaBehindError, StoreNotFoundError } from '@tidemark/core';
import { migrateSqliteSchema, openSqliteDatabase, sqliteMigrations, sqliteSchemaVersionOf } from '@tidemark/sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/main.js';
import { captureOutput } from './captureOutput.js';

const dir = mkdtempSync(join(tmpdir(), 'tidemark-cli-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(argv: string[]) {
  return runCli(argv, { stdout: captureOutput().stream, stderr: captureOutput().stream, interactive: false });
}

/** Another application's database: a mistyped --sqlite path that happens to exist. */
function foreignDatabase(): string {
  const file = join(dir, `app-${Math.random().toString(36).slice(2)}.db`);
  const db = openSqliteDatabase(file, { synchronous: 'FULL', busyTimeoutMs: 1000 });
  db.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('ada')");
  db.close();
  return file;
}

describe('a --sqlite file that holds no store', () => {
  it.each([
    [['streams']],
    [['stream', 'order-1']],
    [['events', 'tail']],
    [['projections', 'status']],
    [['projections', 'failed']],
    [['outbox', 'status']],
    [['consumers', 'status']],
  ])('%j refuses it (StoreNotFoundError) and leaves it as it was', async (argv) => {
    const file = foreignDatabase();
    const empty = join(dir, `empty-${Math.random().toString(36).slice(2)}.db`);
    writeFileSync(empty, '');
    for (const target of [file, empty]) {
      const before = readFileSync(target);
      const error = await run([...argv, '--sqlite', target]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreNotFoundError);
      // Only migrate takes --create-schema: the hint sends there, not to the library's createSchema option.
      expect((error as Error).message).toContain('holds no tidemark store (tidemark migrate --create-schema to create one)');
      expect((error as Error).message).not.toContain('createSchema');
      expect(readFileSync(target).equals(before)).toBe(true);
    }
  });

  it.each([[['streams']], [['stream', 'order-1']], [['projections', 'status']], [['migrate']], [['migrate', '--create-schema']]])(
    '%j names a --sqlite file that is no SQLite database, escaped, and leaves it as it was',
    async (argv) => {
      // U+202E reorders what a terminal shows after it: the name is printed escaped.
      const file = join(dir, `notes\u202e-${Math.random().toString(36).slice(2)}.txt`);
      writeFileSync(file, 'shopping list: milk, eggs, and a great deal more than a SQLite header holds\n');
      const before = readFileSync(file);
      const error = await run([...argv, '--sqlite', file]).catch((e: unknown) => e);
      expect((error as Error).message).toBe(`--sqlite ${JSON.stringify(file).replace('\u202e', '\\u202e')} is not a SQLite database`);
      expect(readFileSync(file).equals(before)).toBe(true);
    },
  );

  it('migrate without --create-schema refuses it (StoreNotFoundError, exit code 1, as streams does) without writing to it', async () => {
    const empty = join(dir, 'empty-migrate.db');
    writeFileSync(empty, '');
    const error = await run(['migrate', '--sqlite', empty]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreNotFoundError);
    expect((error as Error).message).toBe(`The SQLite file '${empty}' holds no tidemark store (--create-schema to create one)`);
    expect(readFileSync(empty)).toHaveLength(0);
  });

  it('dashboard refuses it too, before listening', async () => {
    const file = foreignDatabase();
    const before = readFileSync(file);
    const running = runCli(['dashboard', '--sqlite', file, '--port', '0'], {
      stdout: captureOutput().stream,
      stderr: captureOutput().stream,
      interactive: false,
      signal: AbortSignal.timeout(10_000),
    });
    const error = await running.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreNotFoundError);
    expect((error as Error).message).toContain('(tidemark migrate --create-schema to create one)');
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it('a store behind this code is not upgraded by a read: SchemaBehindError names tidemark migrate', async () => {
    const file = join(dir, 'behind.db');
    const db = openSqliteDatabase(file, { synchronous: 'FULL', busyTimeoutMs: 1000 });
    migrateSqliteSchema(db, file, sqliteMigrations.slice(0, 1));
    db.close();
    await expect(run(['streams', '--sqlite', file])).rejects.toBeInstanceOf(SchemaBehindError);
    const after = openSqliteDatabase(file, { synchronous: 'FULL', busyTimeoutMs: 1000, readOnly: true });
    expect(sqliteSchemaVersionOf(after)).toBe(sqliteMigrations[0]?.version);
    after.close();
  });
});
