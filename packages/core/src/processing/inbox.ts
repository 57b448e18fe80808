import type { StoreTransaction } from '../eventStore/eventStore.js';

/**
 * The inbox of idempotent consumers: a record of (consumer, message id) written in the same
 * transaction as the handler's effects. Delivery is at least once; a message whose record is
 * already there was handled, so its effects are skipped and the delivery acknowledged — that
 * turns at-least-once delivery into exactly-once effects. Records expire after a window longer
 * than any redelivery (the broker's de-duplication window, a relay's restart).
 */
export interface Inbox<Tx extends StoreTransaction = StoreTransaction> {
  /**
   * Records that `consumer` handled `messageId`, in `tx`. True when this is the first record,
   * false when it was already there (a duplicate: skip the effects). Two transactions recording
   * the same pair at once: the second waits for the first and answers false once it commits.
   * Names and ids are refused (ValidationError) when empty, longer than 256 characters, holding
   * control characters or lone surrogates.
   */
  record(tx: Tx, consumer: string, messageId: string): Promise<boolean>;
  /** Whether the pair is recorded (committed, or written earlier in `tx`). */
  has(tx: Tx, consumer: string, messageId: string): Promise<boolean>;
  /** Deletes at most `limit` records made before `before`; answers how many. */
  expire(tx: Tx, before: Date, limit: number): Promise<number>;
  /** The consumers that hold records, by name: how many they keep and when they last handled a message (for status views). */
  consumers(tx: Tx): Promise<InboxConsumer[]>;
}

/** One consumer as its inbox records show it. */
export interface InboxConsumer {
  consumer: string;
  /** Records kept (handled messages not yet expired). */
  records: number;
  /** When its latest record was made. */
  lastHandledAt: Date;
}
