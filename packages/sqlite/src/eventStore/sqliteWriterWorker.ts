import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteDatabase } from './openSqliteDatabase.js';
import { createSqliteAppendWriter } from './sqliteAppendWriter.js';
import { createSqliteBatchWriter } from './sqliteBatchWriter.js';
import { prepareSqliteStatements } from './sqliteStatements.js';
import {
  encodeError,
  encodeOutcomes,
  unflattenBatch,
  type WriterReply,
  type WriterRequest,
  type WriterThreadData,
} from './writerThreadMessages.js';

/**
 * The store's writer thread: its own connection to the file, writing the group commit's batches
 * (inserts, COMMIT with its fsync, SQLite's automatic checkpoints) off the event loop that
 * serves the callers. It only ever writes while the main thread holds the file's writer mutex
 * for it, so it never meets the main connection's lock.
 */
const port = parentPort!;
const data = workerData as WriterThreadData;
try {
  const db = openSqliteDatabase(data.file, { synchronous: data.synchronous, busyTimeoutMs: data.busyTimeoutMs });
  const statements = prepareSqliteStatements(db);
  // The batch's time, taken on the main thread from the store's clock.
  let recordedAt = 0;
  const clock = { now: () => new Date(recordedAt) };
  const writeBatch = createSqliteBatchWriter(db, statements, createSqliteAppendWriter(statements, clock, data.defaultMetadata));
  port.on('message', (request: WriterRequest) => {
    if (request.kind === 'close') {
      db.close();
      port.postMessage({ kind: 'closed' } satisfies WriterReply);
      port.close();
      return;
    }
    recordedAt = request.recordedAt;
    const batch = unflattenBatch(request.batch);
    const outcomes = encodeOutcomes(writeBatch(batch), batch);
    port.postMessage({ kind: 'batch', id: request.id, outcomes } satisfies WriterReply);
  });
  port.postMessage({ kind: 'ready' } satisfies WriterReply);
} catch (error) {
  port.postMessage({ kind: 'failed', error: encodeError(error) } satisfies WriterReply);
}
