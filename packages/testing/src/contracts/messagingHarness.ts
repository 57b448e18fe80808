import type { CheckpointStore, Clock, EventStore, IdempotencyKeyStore, Inbox, Outbox, StoreTransaction } from '@tidemark/core';

/** The bridge from an adapter to the outbox, inbox and idempotency-key contracts: one fresh store and its tables. */
export interface MessagingHarness<Tx extends StoreTransaction = StoreTransaction> {
  create(clock: Clock): Promise<{
    store: EventStore<Tx>;
    outbox: Outbox<Tx>;
    inbox: Inbox<Tx>;
    keys: IdempotencyKeyStore<Tx>;
    checkpoints: CheckpointStore<Tx>;
  }>;
  teardown?(): Promise<void>;
}

export class Rollback extends Error {}
