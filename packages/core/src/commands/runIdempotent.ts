import { createHash } from 'node:crypto';
import type { RetryOptions } from '../concurrency/retryUnitOfWork.js';
import { IdempotencyKeyReusedError } from '../domain/errors.js';
import type { EventStore, StoreTransaction } from '../eventStore/eventStore.js';
import { assertValidName } from '../eventStore/prepareAppend.js';
import { toJson } from '../eventStore/toJson.js';
import type { IdempotencyKeyStore } from './idempotencyKeyStore.js';

export interface RunIdempotentOptions {
  /** What the key is unique within: the endpoint or command type (`POST /orders`), a tenant… */
  scope: string;
  /** The client's key (an HTTP `Idempotency-Key`). */
  key: string;
  /** The request the key stands for: the same key with a different request is refused. */
  request: unknown;
  /** Retries of the unit of work on conflicts (default on: the work must redo its reads). */
  retry?: RetryOptions | boolean;
}

export interface IdempotentOutcome<T> {
  /** The first run's result, as JSON (the same value on every replay). */
  result: T;
  /** True when the key was used before and this is the stored result: the work did not run. */
  replayed: boolean;
}

/** JSON with object keys sorted, so that the same request hashes alike whatever its key order. */
function canonicalJson(value: unknown): string {
  const json = toJson(value, 'request');
  return JSON.stringify(JSON.parse(json), (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** SHA-256 of the request's canonical JSON: what a stored key compares a repeated request by. */
export function requestHash(request: unknown): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

/**
 * Runs `work` once per idempotency key: in one store transaction it looks the key up, and
 * either returns the stored first result (`replayed: true`, nothing run, nothing written) or
 * runs `work` and stores its result beside the events it appended — they commit together, so a
 * crash leaves both or neither. The same key with a different request is
 * IdempotencyKeyReusedError. `work`'s result must be JSON-serialisable (it is stored as JSON, and
 * returned as parsed JSON even the first time, so both answers are the same).
 */
export async function runIdempotent<Tx extends StoreTransaction, T>(
  store: EventStore<Tx>,
  keys: IdempotencyKeyStore<Tx>,
  options: RunIdempotentOptions,
  work: (tx: Tx) => Promise<T>,
): Promise<IdempotentOutcome<T>> {
  assertValidName(options.scope, 'idempotency scope');
  assertValidName(options.key, 'idempotency key');
  const hash = requestHash(options.request);
  return store.transaction(
    async (tx) => {
      const stored = await keys.claim(tx, options.scope, options.key);
      if (stored) {
        if (stored.requestHash !== hash) throw new IdempotencyKeyReusedError(options.scope, options.key);
        return { result: JSON.parse(stored.resultJson) as T, replayed: true };
      }
      const result = await work(tx);
      const resultJson = toJson(result, 'idempotent result');
      await keys.save(tx, options.scope, options.key, hash, resultJson);
      return { result: JSON.parse(resultJson) as T, replayed: false };
    },
    { retry: options.retry ?? true },
  );
}
