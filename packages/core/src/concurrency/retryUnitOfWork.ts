import {
  ConcurrencyError,
  ConnectionLostError,
  RetriesExhaustedError,
  TransactionConflictError,
  ValidationError,
} from '../domain/errors.js';
import type { TransactionDurability } from '../eventStore/transactionDurability.js';

/** How long a unit of work is retried: whichever bound is reached first ends it. */
export interface RetryOptions {
  /** Attempts at most, the first included. Default 10 (handleCommand: unbounded, see maxElapsedMs). */
  maxAttempts?: number;
  /** No attempt starts later than this after the first began. Default 5000 ms. */
  maxElapsedMs?: number;
  /** Upper bound of the first pause; it doubles per attempt up to maxDelayMs. Default 5 ms. */
  initialDelayMs?: number;
  /** Cap on any one pause. Default 200 ms. */
  maxDelayMs?: number;
}

export interface TransactionOptions {
  /**
   * Run the whole `work` again, in a fresh transaction, when it fails with a retryable error
   * (isRetryableFailure): `true` for the defaults of RetryOptions. Off by default, because only
   * the caller knows that `work` has no effects outside the transaction. When the budget runs
   * out the transaction rejects with RetriesExhaustedError (its `cause` is the last failure).
   */
  retry?: RetryOptions | boolean;
  /** 'relaxed': acknowledged before it is on disk, and no appends (see TransactionDurability). Default 'full'. */
  durability?: TransactionDurability;
}

/**
 * Failures after which running the whole unit of work again, in a fresh transaction, can
 * succeed: a concurrency conflict (someone wrote the stream first; the work reloads it), a
 * serialization failure or deadlock, a connection lost before COMMIT. Not CommitOutcomeUnknownError:
 * the work may have committed.
 */
export function isRetryableFailure(error: unknown): boolean {
  return error instanceof ConcurrencyError || error instanceof TransactionConflictError || error instanceof ConnectionLostError;
}

/** Failures the database itself resolves by aborting: retrying never repeats an effect and never contradicts the caller. */
export function isTransientFailure(error: unknown): boolean {
  return error instanceof TransactionConflictError || error instanceof ConnectionLostError;
}

const defaults: Required<RetryOptions> = { maxAttempts: 10, maxElapsedMs: 5000, initialDelayMs: 5, maxDelayMs: 200 };

export function resolveRetryOptions(options: RetryOptions | boolean | undefined, base: Partial<RetryOptions> = {}): Required<RetryOptions> {
  const resolved = { ...defaults, ...base, ...(typeof options === 'object' ? options : {}) };
  if (!(resolved.maxAttempts >= 1)) throw new ValidationError('retry.maxAttempts must be ≥ 1', { field: 'retry.maxAttempts' });
  for (const field of ['maxElapsedMs', 'initialDelayMs', 'maxDelayMs'] as const) {
    if (!(resolved[field] >= 0)) throw new ValidationError(`retry.${field} must be ≥ 0`, { field: `retry.${field}` });
  }
  return resolved;
}

/**
 * The one retry loop of tidemark's units of work (store.transaction with `retry`, handleCommand,
 * a deadlocked autocommit append). `attempt` must do the WHOLE unit again each time — never one
 * statement of a transaction the database has already aborted. Pauses are "full jitter"
 * exponential backoff (a random pause up to a doubling cap), so writers that collided do not
 * collide again in lockstep. Time is wall time (Date.now), not a store clock a test may freeze.
 */
export async function retryUnitOfWork<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  options: Required<RetryOptions>,
  isRetryable: (error: unknown) => boolean = isRetryableFailure,
): Promise<T> {
  const started = Date.now();
  for (let attempts = 1; ; attempts++) {
    try {
      return await attempt(attempts);
    } catch (error) {
      if (!isRetryable(error)) throw error;
      const pause = Math.random() * Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** (attempts - 1));
      const elapsed = Date.now() - started;
      if (attempts >= options.maxAttempts || elapsed + pause > options.maxElapsedMs) {
        throw new RetriesExhaustedError(attempts, elapsed, Math.max(1000, options.maxDelayMs), error);
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}
