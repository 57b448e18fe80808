import { StoreBusyError } from '@tidemark/core';

/**
 * SQLITE_BUSY after the busy timeout means another connection — another process, since this
 * process's stores on one file share a writer lock (sqliteWriterLock.ts) — held the write lock
 * all that time: a typed, retryable error instead of the driver's.
 */
export function storeBusy(error: unknown, file: string, busyTimeoutMs: number): unknown {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_BUSY')) return error;
  return new StoreBusyError(
    `The database '${file}' stayed locked by another connection (another process?) for the whole busy timeout of ${busyTimeoutMs} ms`,
    { file, busyTimeoutMs, sqliteCode: code },
    { cause: error },
  );
}
