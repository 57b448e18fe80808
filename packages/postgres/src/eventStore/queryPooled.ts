import { ValidationError } from '@tidemark/core';
import type pg from 'pg';
import { rethrowTypedFor, toTypedError, watchClient } from './connectionErrors.js';
import { ReadOnlyStatementQuery, type TypeParserSource } from './readOnlyStatementQuery.js';
import { withSettingValue } from './serverTimeoutErrors.js';

/**
 * Command tags (pg reports the tag's first word) of statements that control the transaction or
 * change the session instead of reading data. Refused as on SQLite, where `queries` refuses the
 * same kinds of statement; PREPARE, DEALLOCATE and LOAD also outlive a rollback.
 */
const refusedCommands = new Set([
  'BEGIN',
  'START',
  'COMMIT',
  'ROLLBACK',
  'SAVEPOINT',
  'RELEASE',
  'PREPARE',
  'SET',
  'RESET',
  'DISCARD',
  'LOAD',
  'DEALLOCATE',
  'LISTEN',
  'UNLISTEN',
]);

/**
 * Ends a transaction the read-only batch left open: its statement failed, so the server skipped
 * the batch's own ROLLBACK and unlock. A session-level advisory lock (pg_advisory_lock, the
 * _shared and pg_try_ variants) is allowed in a READ ONLY transaction and survives its ROLLBACK,
 * and the statement may have taken one before it failed: the same string releases them all.
 * Without parameters pg sends it as one simple-protocol Query message, one round trip.
 */
const rollbackAndUnlock = 'ROLLBACK; SELECT pg_advisory_unlock_all()';

/** SQLSTATE read_only_sql_transaction: the statement tried to write. */
const readOnlyViolation = '25006';

/** SQLSTATE character_not_in_repertoire: text PostgreSQL cannot hold (U+0000 in a parameter or the statement). */
const unstorableCharacter = '22021';

/**
 * One statement of read SQL on a pooled connection (`store.queries`), inside a READ ONLY
 * transaction that is always rolled back: a pooled connection goes on to serve appends and reads,
 * so nothing a caller's text does to its session (SET search_path, SET ROLE, set_config, a
 * statement_timeout, a session-level advisory lock) may outlive the query. The extended protocol
 * takes exactly one statement, so a script cannot carry a COMMIT and then a SET past the rollback.
 * A statement that ends the transaction or changes the session is refused and its connection
 * discarded, not reused; a write is refused by the server (READ ONLY) and reported as on SQLite.
 * BEGIN, the statement, the ROLLBACK and the locks' release go out together and come back in one
 * round trip (ReadOnlyStatementQuery); a failed statement costs a second one, to end the
 * transaction it left aborted.
 */
export async function queryPooled<Row extends Record<string, unknown>>(
  pool: pg.Pool,
  text: string,
  params: readonly unknown[] | undefined,
): Promise<Row[]> {
  const client = await pool.connect().catch(rethrowTypedFor(pool));
  const watched = watchClient(client);
  // Set when the connection must not go back to the pool.
  let discard: Error | undefined;
  const query = new ReadOnlyStatementQuery<Row>(text, [...(params ?? [])], client as unknown as TypeParserSource);
  try {
    const result = await query.run(client);
    // Every statement that can end the transaction has one of these tags (END is COMMIT, ABORT
    // is ROLLBACK; a procedure or DO block that commits fails inside a transaction block).
    if (refusedCommands.has(result.command)) {
      discard = new ValidationError(
        `${result.command} is refused: queries run read-only SQL on committed data and must not change the connection's transaction or settings`,
        { field: 'sql' },
      );
      throw discard;
    }
    return result.rows;
  } catch (error) {
    if (error === discard) throw error;
    watched.check(error);
    // The statement ran, and then the ROLLBACK or the unlock failed: a lock may still be held.
    if (query.statementDone) discard ??= error as Error;
    if (watched.lost === undefined) {
      // Whatever the client's transaction status says: pg reports a statement's error before the
      // server's ReadyForQuery updates it. After a row pg could not parse, the batch had already
      // ended the transaction, and the ROLLBACK only draws a warning.
      await client.query(rollbackAndUnlock).catch((rollbackError: Error) => {
        discard = rollbackError;
      });
    }
    // A ROLLBACK that could not run leaves the transaction open (and maybe a lock held): the
    // connection must go.
    if (client.getTransactionStatus() !== 'I') discard ??= error as Error;
    if ((error as { code?: unknown } | null)?.code === unstorableCharacter) {
      // Bad input, as SQLite's queries and every append report it: the caller's to fix, never retried.
      throw new ValidationError(
        'The statement or a parameter holds a character PostgreSQL text cannot hold (U+0000)',
        { field: 'params' },
        { cause: error },
      );
    }
    if ((error as { code?: unknown } | null)?.code === readOnlyViolation) {
      throw new ValidationError(
        'Only a single read-only statement may run outside a transaction: write inside store.transaction',
        { field: 'sql' },
        { cause: error },
      );
    }
    const typed = toTypedError(error, watched.lost);
    // A statement_timeout named with its value, read on this client if it came back clean.
    throw discard === undefined && watched.lost === undefined ? await withSettingValue(typed, client) : typed;
  } finally {
    watched.release(discard);
  }
}
