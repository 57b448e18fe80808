import {
  CommitOutcomeUnknownError,
  ConnectionLostError,
  TidemarkError,
  TransactionConflictError,
  unreachableSocketError,
} from '@tidemark/core';
import type pg from 'pg';
import { toLifecycleError } from './postgresStreamLifecycle.js';
import { idleInTransactionTimeout, toIdleInTransactionTimeoutError, toStatementTimeoutError } from './serverTimeoutErrors.js';
import { toServerUnreachableError } from './serverUnreachable.js';
import { toPermissionDeniedError } from './toPermissionDeniedError.js';
import { toReadOnlyConnectionError } from './toReadOnlyConnectionError.js';
import { toStatementNameConflictError } from './toStatementNameConflictError.js';

/**
 * SQLSTATEs of a session the server ended (admin shutdown, crash shutdown, cannot connect now,
 * connection exceptions, idle_in_transaction_session_timeout) and Node socket errors: the
 * connection is gone, whatever was running on it.
 */
const connectionStates = new Set([
  '57P01',
  '57P02',
  '57P03',
  idleInTransactionTimeout,
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '08007',
]);
const socketCodes = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTCONN']);
/** pg and pg-pool raise these as plain Errors without a code. */
const connectionMessages =
  /Connection terminated|Client has encountered a connection error|Client was closed and is not queryable|Query read timeout|timeout exceeded when trying to connect|Connection terminated due to connection timeout/;

export function isConnectionFailure(error: unknown): boolean {
  if (error instanceof ConnectionLostError) return true;
  if (!(error instanceof Error)) return false;
  // Never made at all counts too: an unknown host (ENOTFOUND) has none of the codes below.
  if (unreachableSocketError(error)) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (connectionStates.has(code) || socketCodes.has(code))) return true;
  return connectionMessages.test(error.message);
}

/**
 * The server's own word that it ended the session for idling in a transaction: whatever was in
 * flight (a COMMIT too) was rolled back, not lost in doubt.
 */
export function endedIdle(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === idleInTransactionTimeout;
}

/** Errors no statement was sent for: failing to get a connection at all. */
function failedBeforeSending(error: unknown): boolean {
  return (
    error instanceof Error && (/timeout exceeded when trying to connect/.test(error.message) || unreachableSocketError(error) !== undefined)
  );
}

/**
 * A driver error as tidemark's typed error: serialization failure, deadlock and lock timeout
 * (40001, 40P01, 55P03 — an operator's `lock_timeout` on the role or database ends a wait behind
 * a concurrent transaction's lock the same way) and statement_timeout (57014, see
 * serverTimeoutErrors.ts) become TransactionConflictError, a missing privilege (42501)
 * PermissionDeniedError, a write on a read-only connection (25006), a prepared-statement name
 * collision or a session ended by idle_in_transaction_session_timeout (25P03)
 * StoreMisconfiguredError, a connection never made ServerUnreachableError (naming the server of
 * `connection`, a pool's options, when given), a dead connection ConnectionLostError (`lost`: the
 * client already reported its connection dead, whatever this error says; given as the error that
 * killed it, a 25P03 there makes every later failure on the connection that
 * StoreMisconfiguredError too — it arrives as the client's 'error' event while the work idles, and
 * the next statement only says "Connection terminated"). Typed errors pass unchanged, but a
 * ConnectionLostError of a session ended for idling.
 */
export function toTypedError(error: unknown, lost: boolean | Error | undefined = false, connection?: pg.ClientConfig): unknown {
  const idle = toIdleInTransactionTimeoutError(error) ?? (lost instanceof Error ? toIdleInTransactionTimeoutError(lost) : undefined);
  if (idle && (!(error instanceof TidemarkError) || error instanceof ConnectionLostError)) return idle;
  if (error instanceof TidemarkError) return error;
  const lifecycle = toLifecycleError(error);
  if (lifecycle) return lifecycle;
  const denied = toPermissionDeniedError(error);
  if (denied) return denied;
  const misconfigured = toStatementNameConflictError(error) ?? toReadOnlyConnectionError(error);
  if (misconfigured) return misconfigured;
  const timedOut = toStatementTimeoutError(error);
  if (timedOut) return timedOut;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === '40001' || code === '40P01' || code === '55P03') {
    return new TransactionConflictError(
      code === '40P01'
        ? 'The database aborted the transaction to break a deadlock; run it again'
        : code === '55P03'
          ? `A lock held by a concurrent transaction was not granted within lock_timeout (${(error as Error).message}); run the transaction again`
          : 'Serialization failure; run the transaction again',
      { sqlState: code },
      { cause: error },
    );
  }
  const unreachable = toServerUnreachableError(error, connection);
  if (unreachable) return unreachable;
  if (lost || isConnectionFailure(error)) {
    return new ConnectionLostError(`The database connection was lost: ${(error as Error)?.message ?? String(error)}`, {}, { cause: error });
  }
  return error;
}

/** toTypedError as a `.catch` handler: `pool.query(…).catch(rethrowTyped)`. */
export function rethrowTyped(error: unknown): never {
  throw toTypedError(error);
}

/**
 * rethrowTyped for a statement or a checkout of `pool`: `pool.connect().catch(rethrowTypedFor(pool))`.
 * A server never reached is then a ServerUnreachableError naming the host and port of the pool's
 * options, where the socket error names an address the host resolved to, or no port at all.
 */
export function rethrowTypedFor(pool: pg.Pool): (error: unknown) => never {
  return (error) => {
    throw toTypedError(error, false, pool.options);
  };
}

/**
 * For a statement that is its own transaction (an autocommit append): a connection lost after it
 * was sent may have lost only the answer, the commit having happened.
 */
export function toAutocommitError(error: unknown): unknown {
  if (error instanceof TidemarkError || !isConnectionFailure(error) || failedBeforeSending(error) || endedIdle(error)) {
    return toTypedError(error);
  }
  return new CommitOutcomeUnknownError(
    'The connection was lost before the append was acknowledged: it may or may not have been written. Appends with supplied event ids can be retried safely.',
    {},
    { cause: error },
  );
}

/**
 * A pool client checked out for a transaction or a migration. pg-pool listens for 'error' only on
 * idle clients; a checked-out client whose socket dies emits 'error' with no listener, which
 * ends the process. This listener holds until the client goes back, and remembers the loss so
 * that the next operation fails with ConnectionLostError and the client is destroyed, not reused.
 */
export interface WatchedClient {
  /** The error that killed the connection, if it died. */
  readonly lost: Error | undefined;
  /**
   * Records a statement's failure if it says the connection died: the server's FATAL can answer a
   * statement before the socket closes and the client emits 'error'.
   */
  check(error: unknown): void;
  /** Back to the pool; destroyed when given an error or when the connection died. */
  release(error?: Error): void;
}

export function watchClient(client: pg.PoolClient): WatchedClient {
  let lost: Error | undefined;
  const onError = (error: Error) => {
    lost ??= error;
  };
  client.on('error', onError);
  let released = false;
  return {
    get lost() {
      return lost;
    },
    check(error) {
      if (!lost && isConnectionFailure(error)) lost = error as Error;
    },
    release(error) {
      if (released) return;
      released = true;
      const reason = error ?? lost;
      // A destroyed client may still report its socket's death: keep listening on it.
      if (!reason) client.removeListener('error', onError);
      client.release(reason);
    },
  };
}
