import type { AppendResult, PreparedAppend } from '@tidemark/core';
import type { Database } from 'better-sqlite3';
import type { SqliteAppendWriter } from './sqliteAppendWriter.js';
import type { SqliteStatements } from './sqliteStatements.js';

/** One append's outcome in a batch: its result, or why it alone failed. */
export type BatchOutcome = AppendResult | { error: unknown };

/** Writes a batch of prepared appends in one transaction; never throws. */
export type SqliteBatchWriter = (batch: readonly PreparedAppend[]) => BatchOutcome[];

/**
 * A batch first runs as one plain transaction. If any append in it fails (conflict, duplicate
 * id), it is rolled back and run again with a savepoint per append, so the failing one is
 * rolled back alone and fails alone; a failing BEGIN or COMMIT fails the whole batch.
 * Synchronous, on whichever connection it was made for: the store's own, or its writer thread's.
 */
export function createSqliteBatchWriter(db: Database, statements: SqliteStatements, writeAppend: SqliteAppendWriter): SqliteBatchWriter {
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  const rollback = db.prepare('ROLLBACK');
  const appendAlone = db.transaction(writeAppend).immediate;

  /**
   * The common case, at the cost of the raw inserts: every append of the batch succeeds, so none
   * needs a savepoint. Undefined (and nothing written) when one of them failed; a failing BEGIN
   * or COMMIT throws, as trying again with savepoints would only meet the same failure.
   */
  function writeAll(batch: readonly PreparedAppend[]): AppendResult[] | undefined {
    begin.run();
    let results: AppendResult[];
    try {
      results = batch.map((prepared) => writeAppend(prepared));
    } catch {
      if (db.inTransaction) rollback.run();
      return undefined;
    }
    commit.run();
    return results;
  }

  /**
   * Again, each append in its own savepoint: a failing one is rolled back alone and the rest
   * commit. A failure of the batch as a whole (BEGIN, COMMIT) throws, rolled back by the caller.
   */
  function writeEachInSavepoint(batch: readonly PreparedAppend[]): BatchOutcome[] {
    const outcomes: BatchOutcome[] = [];
    begin.run();
    for (const prepared of batch) {
      statements.savepoint.run();
      try {
        outcomes.push(writeAppend(prepared));
        statements.releaseSavepoint.run();
      } catch (error) {
        // SQLite rolled the whole transaction back by itself (I/O error, disk full): the
        // appends before this one are gone too, so the batch fails as a whole.
        if (!db.inTransaction) throw error;
        statements.rollbackToSavepoint.run();
        statements.releaseSavepoint.run();
        outcomes.push({ error });
      }
    }
    commit.run();
    return outcomes;
  }

  return (batch) => {
    if (batch.length === 1) {
      // One append needs no savepoint: exactly the plain autocommit transaction.
      try {
        return [appendAlone(batch[0]!)];
      } catch (error) {
        return [{ error }];
      }
    }
    try {
      return writeAll(batch) ?? writeEachInSavepoint(batch);
    } catch (error) {
      // BEGIN or COMMIT failed (another connection held the lock past the busy timeout, say),
      // or SQLite rolled back by itself: nothing of the batch is written, so all of it fails.
      if (db.inTransaction) rollback.run();
      return batch.map(() => ({ error }));
    }
  };
}
