import { ValidationError } from '@tidemark/core';
import type pg from 'pg';
import { rethrowTyped, toTypedError, watchClient } from './connectionErrors.js';
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
 * Ends the query's transaction. A session-level advisory lock (pg_advisory_lock, the _shared and
 * pg_try_ variants) is allowed in a READ ONLY transaction and survives its ROLLBACK, so the same
 * string releases them all: without parameters pg sends it as one simple-protocol Query message,
 * one round trip as the ROLLBACK alone took. Transaction-level locks (pg_advisory_xact_lock) end
 * with the ROLLBACK itself.
 */
const rollbackAndUnlock = 'ROLLBACK; SELECT pg_advisory_unlock_all()';

/** SQLSTATE read_only_sql_transaction: the statement tried to write. */
const readOnlyViolation = '25006';

/**
 * One statement of read SQL on a pooled connection (`store.queries`), inside a READ ONLY
 * transaction that is always rolled back: a pooled connection goes on to serve appends and reads,
 * so nothing a caller's text does to its session (SET search_path, SET ROLE, set_config, a
 * statement_timeout, a session-level advisory lock) may outlive the query. The extended protocol
 * takes exactly one statement, so a script cannot carry a COMMIT and then a SET past the rollback.
 * A statement that ends the transaction or changes the session is refused and its connection
 * discarded, not reused; a write is refused by the server (READ ONLY) and reported as on SQLite.
 * Three round trips (BEGIN, the statement, ROLLBACK with the advisory locks' release) where
 * autocommit took one: the price of a connection that comes back clean.
 */
export async function queryPooled<Row extends Record<string, unknown>>(
  pool: pg.Pool,
  text: string,
  params: readonly unknown[] | undefined,
): Promise<Row[]> {
  const client = await pool.connect().catch(rethrowTyped);
  const watched = watchClient(client);
  // Set when the connection must not go back to the pool.
  let discard: Error | undefined;
  // Set once the statement succeeded: a failure from here on is the rollback's or the unlock's.
  let ending = false;
  try {
    // The role's default isolation, as autocommit had: one statement sees one snapshot either way.
    await client.query('BEGIN READ ONLY');
    // queryMode is pg's (8.16+), not yet in its type definitions.
    const config = { text, values: [...(params ?? [])], queryMode: 'extended' } as pg.QueryConfig;
    const result = await client.query<Row>(config);
    if (refusedCommands.has(result.command) || client.getTransactionStatus() !== 'T') {
      discard = new ValidationError(
        `${result.command} is refused: queries run read-only SQL on committed data and must not change the connection's transaction or settings`,
        { field: 'sql' },
      );
      throw discard;
    }
    ending = true;
    await client.query(rollbackAndUnlock);
    return result.rows;
  } catch (error) {
    if (error === discard) throw error;
    watched.check(error);
    // The locks may still be held (a ROLLBACK that ran, then an unlock that did not): not reusable.
    if (ending) discard ??= error as Error;
    if (client.getTransactionStatus() !== 'I' && watched.lost === undefined) {
      // After a failed statement too: it may have taken a lock before it failed.
      await client.query(rollbackAndUnlock).catch((rollbackError: Error) => {
        discard = rollbackError;
      });
    }
    // A ROLLBACK that could not run leaves the transaction open (and maybe a lock held): the
    // connection must go.
    if (client.getTransactionStatus() !== 'I') discard ??= error as Error;
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
