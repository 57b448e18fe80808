import type { StoreTransaction } from '../eventStore/eventStore.js';

/** What the first use of an idempotency key left behind. */
export interface StoredCommandResult {
  /** Hash of the request the key was first used with. */
  requestHash: string;
  /** The first result, as JSON text. */
  resultJson: string;
  createdAt: Date;
}

/**
 * Idempotency keys of commands, stored in the same transaction as the command's events: a
 * repeated request (a client retrying after a timeout) finds the first result instead of
 * running the command again. The in-memory, SQLite and PostgreSQL stores each have one.
 */
export interface IdempotencyKeyStore<Tx extends StoreTransaction = StoreTransaction> {
  /**
   * The key's stored result, if any. Takes a lock on (scope, key) until `tx` ends where
   * transactions run concurrently (PostgreSQL), so that two first uses of one key queue up and
   * the second finds the first's result instead of running the command too.
   */
  claim(tx: Tx, scope: string, key: string): Promise<StoredCommandResult | undefined>;
  /** Stores the first result of the key, in `tx`. */
  save(tx: Tx, scope: string, key: string, requestHash: string, resultJson: string): Promise<void>;
  /** Deletes at most `limit` keys stored before `before`; answers how many. */
  expire(tx: Tx, before: Date, limit: number): Promise<number>;
}
