import { idempotencyKeyContract, inboxContract, type MessagingHarness, outboxContract } from '@tidemark/testing';
import {
  createInMemoryCheckpointStore,
  createInMemoryEventStore,
  createInMemoryIdempotencyKeyStore,
  createInMemoryInbox,
  createInMemoryOutbox,
} from '../src/index.js';

const harness: MessagingHarness = {
  create: async (clock) => ({
    store: createInMemoryEventStore({ clock }),
    outbox: createInMemoryOutbox(),
    inbox: createInMemoryInbox(),
    keys: createInMemoryIdempotencyKeyStore(),
    checkpoints: createInMemoryCheckpointStore(),
  }),
};
outboxContract('in-memory', harness);
inboxContract('in-memory', harness);
idempotencyKeyContract('in-memory', harness);
