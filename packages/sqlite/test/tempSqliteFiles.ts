import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temp directory handing out fresh database file names; `remove()` deletes it all. */
export function tempSqliteFiles(prefix = 'tidemark-sqlite-'): { next(name?: string): string; remove(): void; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let count = 0;
  return {
    dir,
    next: (name) => join(dir, name ?? `store-${++count}.db`),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
