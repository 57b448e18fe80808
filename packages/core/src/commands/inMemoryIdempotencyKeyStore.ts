import type { StoreTransaction } from '../eventStore/eventStore.js';
import type { IdempotencyKeyStore, StoredCommandResult } from './idempotencyKeyStore.js';

interface Staged {
  saved: Map<string, StoredCommandResult>;
  expired: Set<string>;
}

const keyOf = (scope: string, key: string) => `${scope}\u0000${key}`;

/** Idempotency keys of the in-memory store (its transactions run one at a time, so no lock is needed). */
export function createInMemoryIdempotencyKeyStore(): IdempotencyKeyStore<StoreTransaction> {
  const stored = new Map<string, StoredCommandResult>();
  const staging = new WeakMap<StoreTransaction, Staged>();
  const stagedFor = (tx: StoreTransaction): Staged => {
    let staged = staging.get(tx);
    if (!staged) {
      const fresh: Staged = { saved: new Map(), expired: new Set() };
      staged = fresh;
      staging.set(tx, fresh);
      tx.afterCommit(() => {
        staging.delete(tx);
        for (const key of fresh.expired) stored.delete(key);
        for (const [key, value] of fresh.saved) stored.set(key, value);
      });
      tx.afterRollback(() => staging.delete(tx));
    }
    return staged;
  };
  return {
    async claim(tx, scope, key) {
      const k = keyOf(scope, key);
      const staged = staging.get(tx);
      const found = staged?.saved.get(k) ?? (staged?.expired.has(k) ? undefined : stored.get(k));
      return found && { ...found };
    },
    async save(tx, scope, key, requestHash, resultJson) {
      stagedFor(tx).saved.set(keyOf(scope, key), { requestHash, resultJson, createdAt: tx.clock.now() });
    },
    async expire(tx, before, limit) {
      const staged = stagedFor(tx);
      let count = 0;
      for (const [key, value] of stored) {
        if (count >= limit) break;
        if (value.createdAt < before && !staged.expired.has(key)) {
          staged.expired.add(key);
          count++;
        }
      }
      return count;
    },
  };
}
