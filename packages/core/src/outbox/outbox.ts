import type { StoreTransaction } from '../eventStore/eventStore.js';
import type { OutgoingMessage } from '../transport/transport.js';

/** A message waiting in (or published from) the outbox table. */
export interface OutboxEntry {
  /** Order of the add: per key, the order the messages must be published in. */
  sequence: bigint;
  message: OutgoingMessage & { readonly headers: Readonly<Record<string, string>>; readonly occurredAt: Date };
  createdAt: Date;
}

export interface OutboxStats {
  /** Messages not yet published. */
  backlog: number;
  /** When the oldest of them was added (absent when the backlog is empty). */
  oldestUnpublishedAt?: Date;
  /** Published messages kept until the retention period has passed. */
  retained: number;
}

/**
 * The transactional outbox of state-stored entities: a message is added in the same
 * transaction as the state change that caused it, so both commit or neither does, and a relay
 * publishes it afterwards. Every method takes the caller's transaction of the store the outbox
 * belongs to (the in-memory, SQLite or PostgreSQL store), which is where its table lives.
 *
 * Order: messages of one key are published in the order they were added. On PostgreSQL an
 * add holds a per-key lock until commit, so sequence order is commit order per key.
 */
export interface Outbox<Tx extends StoreTransaction = StoreTransaction> {
  /**
   * Adds messages in `tx`. Bad input (non-JSON data, malformed Unicode, control characters in
   * ids or keys, an oversized message) is a typed error and nothing is written.
   */
  add(tx: Tx, messages: readonly OutgoingMessage[]): Promise<void>;
  /** The oldest unpublished messages in sequence order, at most `limit`, leaving out `exclude` (in flight). */
  pending(tx: Tx, options: { limit: number; exclude?: ReadonlySet<bigint> }): Promise<OutboxEntry[]>;
  /** Marks these messages published (the broker acknowledged them). */
  markPublished(tx: Tx, sequences: readonly bigint[]): Promise<void>;
  /** Deletes at most `limit` messages published before `before`; answers how many. */
  deletePublished(tx: Tx, before: Date, limit: number): Promise<number>;
  stats(tx: Tx): Promise<OutboxStats>;
  /**
   * Overwrites the data of stored messages of `types` — pending and published-but-retained
   * alike — in `tx`: `rewrite` gets each one and answers its new data (plain JSON), or
   * undefined to leave it as it is. The message keeps its id, key, headers and place in the
   * order: a pending one is published later with the new data. For erasing a forgotten data
   * subject's personal data (see `redactOutbox`). Answers how many messages changed.
   */
  rewriteData(tx: Tx, types: readonly string[], rewrite: (message: OutboxEntry['message']) => unknown): Promise<number>;
  /**
   * Calls `listener` after a transaction of this process that added messages committed: a hint
   * for the relay so it need not busy-poll (adds by other processes are found by polling).
   */
  onAdded(listener: () => void): () => void;
}
