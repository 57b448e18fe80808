import { realpathSync } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';

/**
 * The fsync of a SQLite WAL file, run in libuv's thread pool instead of inside COMMIT.
 *
 * With synchronous=FULL, SQLite fsyncs the WAL inside every COMMIT: on the one writer
 * connection, which is on the event loop, so nothing else runs for the length of the flush
 * (1–2 ms on a busy disk, measured as 15% of the shop's time under load). A commit made with
 * synchronous=NORMAL has written the same WAL frames without the flush; fsyncing the WAL file
 * afterwards makes them exactly as durable, and meanwhile the process goes on. WAL recovery
 * keeps a prefix of the frames (each frame's checksum covers those before it), so a sync covers
 * every commit written before it started.
 */
export interface WalSync {
  /** Resolves once everything committed on the connection before the call is on disk. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** `databaseFile` must exist (the store has opened it): SQLite names the WAL after the file's real path, symlinks resolved. */
export function createWalSync(databaseFile: string): WalSync {
  const path = `${realpathSync(resolve(databaseFile))}-wal`;
  let handle: Promise<{ file: FileHandle; ino: number }> | undefined;

  const openWal = async () => {
    const file = await open(path, 'r+');
    try {
      return { file, ino: (await file.stat()).ino };
    } catch (error) {
      await file.close();
      throw error;
    }
  };

  return {
    async sync() {
      handle ??= openWal();
      let current = await handle.catch((error: unknown) => {
        handle = undefined;
        throw error;
      });
      await current.file.sync();
      // SQLite keeps the WAL file while a connection is open (a checkpoint truncates it in
      // place), but should it ever be replaced, the handle would sync an unlinked file: check
      // that the path still names ours, and sync the new one otherwise.
      if ((await stat(path)).ino !== current.ino) {
        const stale = current.file;
        handle = openWal();
        current = await handle;
        await stale.close().catch(() => {});
        await current.file.sync();
      }
    },
    async close() {
      const open = handle;
      handle = undefined;
      await (await open?.catch(() => undefined))?.file.close();
    },
  };
}
