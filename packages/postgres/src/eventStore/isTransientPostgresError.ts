import { isTransientFailure } from '@tidemark/core';

/**
 * SQLSTATEs that say "not now" rather than "never": the same work can succeed on retry.
 * 40001 serialization failure, 40P01 deadlock, 55P03 lock_not_available (lock_timeout, NOWAIT),
 * 57014 query_canceled (statement_timeout; see serverTimeoutErrors.ts for why), 57P01..57P03
 * admin/crash shutdown and cannot connect now, 53300 too many connections. Class 08 (connection
 * exceptions) is matched by prefix. Not 25P03: a session ended by
 * idle_in_transaction_session_timeout is a StoreMisconfiguredError, since the same work idles
 * as long again.
 */
const transientStates = new Set(['40001', '40P01', '55P03', '57014', '57P01', '57P02', '57P03', '53300', '53400']);

// Socket-level failures node reports by errno code, before any SQLSTATE exists.
const transientSocketCodes = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

// pg's own errors for a connection that died or never came: they carry no code.
const transientMessages = [
  /^Connection terminated/,
  /Client has encountered a connection error/,
  /timeout exceeded when trying to connect/,
  /^Query read timeout$/,
  /Client was closed and is not queryable/,
];

/**
 * The PostgreSQL adapter's `isTransient`: see EventStore.isTransient. The store rethrows the
 * driver's errors typed (connectionErrors.ts), so its own TransactionConflictError and
 * ConnectionLostError are transient too: a rebuild's swap hit by a deadlock or lock timeout
 * retries on them.
 */
export function isTransientPostgresError(error: unknown): boolean {
  if (isTransientFailure(error)) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (transientStates.has(code) || code.startsWith('08') || transientSocketCodes.has(code)) return true;
  }
  return transientMessages.some((pattern) => pattern.test(error.message));
}
