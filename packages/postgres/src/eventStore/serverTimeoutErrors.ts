import { StoreMisconfiguredError, TidemarkError, TransactionConflictError } from '@tidemark/core';

/** SQLSTATE query_canceled: statement_timeout, or a cancel request (pg_cancel_backend). */
const queryCanceled = '57014';
/** SQLSTATE idle_in_transaction_session_timeout (FATAL: the server ends the session). */
export const idleInTransactionTimeout = '25P03';

interface Raised {
  code?: unknown;
  message?: unknown;
}

/** The value of the setting as the message shows it: read from the server, or how to read it. */
const shown = (setting: string, value: string | undefined) =>
  `${setting} (${value ?? `SHOW ${setting} as the store's role shows its value`})`;

/**
 * SQLSTATE 57014 from statement_timeout (not from a cancel request: its message differs) as a
 * TransactionConflictError naming the setting; undefined for any other error.
 *
 * Retryable, like lock_timeout's 55P03 (connectionErrors.ts), and for the same reason: nothing
 * in the server's answer tells a statement that waited behind a concurrent transaction's lock or
 * a busy server — which succeeds when run again, and which a retry loop must not dead-letter or
 * stop on — from one that needs more time than the setting will ever allow. A store statement
 * cut by it is most often the first kind: an append waiting for a stream another transaction
 * holds, under a role with statement_timeout but no lock_timeout, is exactly the 55P03 case.
 * The second kind is bounded by the retry budget (`transaction(work, { retry })` ends in
 * RetriesExhaustedError with this error as its cause) and its message names the setting and its
 * value, so the operator sees what to raise. The cancelled statement aborted its transaction:
 * it rolls back whole, nothing half-written.
 */
export function toStatementTimeoutError(error: unknown, value?: string): TransactionConflictError | undefined {
  const raised = error as Raised | null;
  if (raised?.code !== queryCanceled || !/statement timeout/.test(String(raised.message))) return undefined;
  return new TransactionConflictError(
    `The server cancelled a statement that ran longer than ${shown('statement_timeout', value)}, set on the store's role, database or connection: the transaction rolled back, nothing written. Running it again succeeds if it waited behind a concurrent transaction's lock or a busy server; if it keeps failing, the statement needs more time than the setting allows: raise statement_timeout for the store's role or connection`,
    { sqlState: queryCanceled, setting: 'statement_timeout', ...(value !== undefined && { value }) },
    { cause: error },
  );
}

/**
 * SQLSTATE 25P03: the server ended the session of a transaction that sat idle (no statement
 * running) longer than idle_in_transaction_session_timeout — the unit of work awaited something
 * else while holding it open. Not a lost connection to retry: the same work idles as long again
 * and is killed again, so it is a StoreMisconfiguredError naming the setting, never transient
 * (its cause is the server's 25P03, which isTransient does not count either). The server rolled
 * the transaction back when it ended the session: nothing written. Undefined for any other error.
 */
export function toIdleInTransactionTimeoutError(error: unknown, value?: string): StoreMisconfiguredError | undefined {
  const raised = error as Raised | null;
  if (raised?.code !== idleInTransactionTimeout) return undefined;
  return new StoreMisconfiguredError(
    `The server ended the transaction's session: it sat idle inside the transaction longer than ${shown('idle_in_transaction_session_timeout', value)} (${String(raised.message)}). Nothing was written, and running the same work again would idle as long: keep slow awaits (HTTP calls, timers, other connections) out of store.transaction, or raise idle_in_transaction_session_timeout for the store's role or connection`,
    { sqlState: idleInTransactionTimeout, setting: 'idle_in_transaction_session_timeout', ...(value !== undefined && { value }) },
    { cause: error },
  );
}

/** What asks the server for a setting: the pool, or a client whose transaction has ended. */
export interface SettingReader {
  query(text: string, values: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
}

/** How long reading the setting for a message may take before the error goes without it. */
const readTimeoutMs = 1000;

/**
 * A typed timeout error with the setting's current value read from the server (the messages
 * name it; the driver's error does not carry it). Any other error, or one whose setting cannot
 * be read within a second (the pool busy or gone), is returned as it is.
 */
export async function withSettingValue(error: unknown, reader: SettingReader): Promise<unknown> {
  if (!(error instanceof TidemarkError) || error.details.value !== undefined) return error;
  const sqlState = error.details.sqlState;
  const build =
    sqlState === queryCanceled && error instanceof TransactionConflictError
      ? toStatementTimeoutError
      : sqlState === idleInTransactionTimeout && error instanceof StoreMisconfiguredError
        ? toIdleInTransactionTimeoutError
        : undefined;
  if (!build) return error;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), readTimeoutMs);
    timer.unref();
  });
  const read = reader
    .query('SELECT current_setting($1) AS value', [error.details.setting])
    .then((result) => result.rows[0]?.value)
    .catch(() => undefined);
  const value = await Promise.race([read, timedOut]);
  clearTimeout(timer);
  if (typeof value !== 'string') return error;
  const rebuilt = build(error.cause, value);
  return rebuilt ?? error;
}
