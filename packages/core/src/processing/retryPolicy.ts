import { ValidationError } from '../domain/errors.js';

/** Exponential backoff for a failing projection handler. */
export interface RetryPolicy {
  /** Attempts per event before giving up (stop or dead-letter). Default 5. */
  maxAttempts?: number;
  /** Delay after the first failure. Default 50 ms. */
  initialDelayMs?: number;
  /** Cap on any single delay. Default 5000 ms. */
  maxDelayMs?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
}

export type ResolvedRetryPolicy = Required<RetryPolicy>;

export function resolveRetryPolicy(policy: RetryPolicy | undefined): ResolvedRetryPolicy {
  const resolved = { maxAttempts: 5, initialDelayMs: 50, maxDelayMs: 5000, factor: 2, ...policy };
  if (!Number.isSafeInteger(resolved.maxAttempts) || resolved.maxAttempts < 1) {
    throw new ValidationError('retry.maxAttempts must be a whole number ≥ 1', { field: 'retry.maxAttempts' });
  }
  for (const field of ['initialDelayMs', 'maxDelayMs', 'factor'] as const) {
    if (!(resolved[field] >= 0)) throw new ValidationError(`retry.${field} must be ≥ 0`, { field: `retry.${field}` });
  }
  return resolved;
}

/** Delay before attempt `attempt + 1` (attempt is 1-based), with ±20% jitter so that instances do not retry in lockstep. */
export function backoffDelay(policy: ResolvedRetryPolicy, attempt: number): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** (attempt - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/** Resolves after `ms`, or early (false) when `signal` aborts: stopping never waits out a backoff. */
export function abortableDelay(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    function onAbort() {
      clearTimeout(timer);
      resolve(false);
    }
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
