import { TidemarkError } from '@tidemark/core';

/**
 * The process cannot write the database: the file is read-only for it (its mode, its owner),
 * or its directory is (SQLite keeps the -wal and -shm files beside it), or the file system is
 * mounted read-only. Refused when the connection opens, since SQLite itself would open the file
 * read-only without a word and fail at the first write. Retrying cannot help: fix the
 * permissions or the mount.
 */
export class ReadOnlyDatabaseError extends TidemarkError {
  constructor(file: string, sqliteCode: string, options?: ErrorOptions) {
    super(
      'validation',
      `The SQLite file '${file}' is read-only for this process (${sqliteCode}): the store writes to it, so the process needs write access to the file and to its directory, where SQLite keeps its -wal and -shm files`,
      { file, sqliteCode },
      options,
    );
  }
}
