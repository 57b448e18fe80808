import type pg from 'pg';
import type { Queryable } from './queryable.js';
import { toStatementTimeoutError, withSettingValue } from './serverTimeoutErrors.js';

/** pg's callback form of client.query, which takes a Submittable (a fold's COPY) as well as a config. */
type CallbackQuery = {
  query(config: unknown, values: unknown[] | undefined, callback: (error: Error | null, result?: unknown) => void): unknown;
};

/**
 * The pool as the store's pool-direct statements use it (readStream, folds, readAll, readPage,
 * the head, snapshots, the schema registry), run as pg-pool's own pool.query runs them — one
 * connection checked out for the one statement and given back, destroyed if the statement
 * failed — but a statement cut by statement_timeout (57014) comes back as the typed
 * TransactionConflictError *naming the setting's value* (serverTimeoutErrors.ts), as a
 * transaction's does. Other failures come back as they are, for the caller to type
 * (rethrowTyped). Success costs nothing more: the same checkout, statement and release as pool.query.
 *
 * Where the value is read matters. It is read after the timeout only, on the very connection the
 * statement was cancelled on, before that connection goes back (the cancel leaves its session
 * idle and usable: an autocommit statement leaves no transaction aborted). That session shows
 * the value that fired whatever set it: the server's configuration, ALTER DATABASE or ALTER ROLE
 * … SET (every session of the role on the database starts with it), the connection's startup
 * options (the URL's `options=-c statement_timeout=…`, pg's statement_timeout option: every
 * connection of the pool is opened with them) — and also a plain session-level `SET
 * statement_timeout` an earlier unit of work left on that one pooled connection (a SET without
 * LOCAL in tx.sql outlives its transaction). Reading through the pool instead, after pool.query
 * had destroyed the connection, would land on another or a fresh session: right for every
 * setting but the last, which a fresh session never has, and after an ALTER ROLE it would show
 * the new value rather than the one this session was running with. (Behind PgBouncer in
 * transaction mode the read may reach another server session; session SETs mean nothing there,
 * and role and database settings are the same on all of them.)
 */
export function timeoutNamingPool(pool: pg.Pool): Queryable {
  async function query(config: unknown, values?: unknown[]): Promise<unknown> {
    const client = await pool.connect();
    // A checked-out client whose socket dies emits 'error': heard here (as pool.query listens),
    // the statement itself then fails and the client is destroyed below.
    let lost: Error | undefined;
    const onError = (error: Error) => {
      lost ??= error;
    };
    client.on('error', onError);
    try {
      const result = await new Promise<unknown>((resolve, reject) => {
        (client as unknown as CallbackQuery).query(config, values, (error, answer) => (error ? reject(error) : resolve(answer)));
      });
      client.removeListener('error', onError);
      client.release();
      return result;
    } catch (error) {
      const timedOut = lost === undefined ? toStatementTimeoutError(error) : undefined;
      // Bounded (withSettingValue gives up after a second): then the error goes without the value,
      // and the client, still busy with the read, is destroyed below like any failed one.
      const failure = timedOut ? await withSettingValue(timedOut, client) : error;
      client.removeListener('error', onError);
      // Destroyed, as pool.query destroys the client of any failed statement.
      client.release(lost ?? (error instanceof Error ? error : true));
      throw failure;
    }
  }
  return { query } as Queryable;
}
