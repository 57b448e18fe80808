import {
  idempotencyKeyContract,
  inboxContract,
  type MessagingHarness,
  outboxContract,
  outboxRelayContract,
  serviceAvailable,
} from '@tidemark/testing';
import { describe } from 'vitest';
import {
  createPostgresCheckpointStore,
  createPostgresIdempotencyKeyStore,
  createPostgresInbox,
  createPostgresOutbox,
  type PostgresTransaction,
} from '../src/index.js';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

describe.skipIf(!available)('postgres outbox, inbox and idempotency keys', () => {
  const stores = createStoreFactory();
  const harness: MessagingHarness<PostgresTransaction> = {
    create: async (clock) => ({
      store: await stores.create({ poolSize: 10, clock }),
      outbox: createPostgresOutbox(),
      inbox: createPostgresInbox(),
      keys: createPostgresIdempotencyKeyStore(),
      checkpoints: createPostgresCheckpointStore(),
    }),
    teardown: () => stores.cleanup(),
  };
  outboxContract('postgres', harness);
  inboxContract('postgres', harness);
  idempotencyKeyContract('postgres', harness);
  outboxRelayContract('postgres', harness);
});
