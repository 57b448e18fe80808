import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createSqliteEventStore } from '@tidemark/sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { tempSqliteFiles } from './tempSqliteFiles.js';

const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'openStoreAndAppend.ts');
const dropToNobody = ['--reuid=65534', '--regid=65534', '--clear-groups'];

/**
 * What runs the child as a user the files' modes apply to: the test's own user, or — root
 * writes any file whatever its mode — `nobody`, through setpriv (util-linux). Undefined when
 * neither is possible.
 */
function unprivilegedPrefix(): string[] | undefined {
  if (process.getuid?.() !== 0) return [];
  return spawnSync('setpriv', [...dropToNobody, 'true']).status === 0 ? ['setpriv', ...dropToNobody] : undefined;
}
const prefix = unprivilegedPrefix();

const files = tempSqliteFiles('tidemark-sqlite-read-only-');
// mkdtemp makes it 0700: the other user must get through it.
chmodSync(files.dir, 0o755);
const dirs: string[] = [];
afterAll(() => {
  // Writable again, or a user other than root could not delete what they hold.
  for (const dir of dirs) chmodSync(dir, 0o755);
  files.remove();
});

/** A store with one event, alone in a directory; then the file and the directory get the modes given. */
async function storeWith(fileMode: number, dirMode: number): Promise<string> {
  const dir = join(files.dir, `case-${dirs.length + 1}`);
  mkdirSync(dir);
  dirs.push(dir);
  const file = join(dir, 'store.db');
  const store = createSqliteEventStore({ file });
  await store.appendToStream('order-0', [{ type: 'order.placed', data: {} }]);
  await store.close();
  chmodSync(file, fileMode);
  chmodSync(dir, dirMode);
  return file;
}

interface Outcome {
  opened: boolean;
  appended?: boolean;
  error?: { name?: string; message?: string; code?: unknown; details?: Record<string, unknown> };
  openFiles: string[];
}

async function openAndAppend(file: string, mode: 'migrate' | 'no-migrate'): Promise<Outcome> {
  const [command, ...args] = [...(prefix ?? []), process.execPath, '--import', 'tsx', fixture, file, mode];
  const { stdout } = await promisify(execFile)(command!, args);
  return JSON.parse(stdout) as Outcome;
}

// Skipped only as root without setpriv (the modes would not apply).
describe.skipIf(prefix === undefined)('a SQLite store on a file the process cannot write', () => {
  it('opens and appends when the user may write the file and its directory (the setup itself is sound)', async () => {
    const file = await storeWith(0o666, 0o777);
    expect(await openAndAppend(file, 'migrate')).toEqual({ opened: true, appended: true, openFiles: [] });
  });

  // Needs assertWritableDatabase wired into openSqliteDatabase: without it the 0444 file opens
  // and the first append fails with better-sqlite3's untyped SqliteError, and the read-only
  // directory is refused with it at once.
  it.each([
    ['a read-only file (mode 0444) in a directory it may write', 0o444, 0o777, 'migrate', /^SQLITE_READONLY$/],
    ['a read-only file (mode 0444), with migrate: false', 0o444, 0o777, 'no-migrate', /^SQLITE_READONLY$/],
    ['a read-only directory (mode 0555), where the -wal and -shm files cannot be made', 0o644, 0o555, 'migrate', /^SQLITE_READONLY/],
    ['a read-only directory (mode 0555), with migrate: false', 0o644, 0o555, 'no-migrate', /^SQLITE_READONLY/],
  ] as const)(
    'refuses %s when created, typed and naming the file, with nothing left open or written',
    async (_, fileMode, dirMode, mode, sqliteCode) => {
      const file = await storeWith(fileMode, dirMode);
      const before = readFileSync(file);
      const outcome = await openAndAppend(file, mode);
      expect(outcome).toMatchObject({ opened: false, openFiles: [] });
      expect(outcome.error).toMatchObject({ name: 'ReadOnlyDatabaseError', code: 'validation', details: { file } });
      expect(outcome.error?.details?.sqliteCode).toMatch(sqliteCode);
      expect(outcome.error?.message).toContain(`'${file}' is read-only`);
      expect(readFileSync(file).equals(before)).toBe(true);
    },
  );
});
