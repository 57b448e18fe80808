import { idempotencyKeyContract, inboxContract, type MessagingHarness, outboxContract, outboxRelayContract } from '@tidemark/testing';
import { afterAll } from 'vitest';
import {
  createSqliteCheckpointStore,
  createSqliteEventStore,
  createSqliteIdempotencyKeyStore,
  createSqliteInbox,
  createSqliteOutbox,
  type SqliteTransaction,
} from '../src/index.js';
import { tempSqliteFiles } from './tempSqliteFiles.js';

const files = tempSqliteFiles('tidemark-messaging-');
// The three contracts share the directory: removed once, after all of them.
afterAll(() => files.remove());
const harness: MessagingHarness<SqliteTransaction> = {
  create: async (clock) => ({
    store: createSqliteEventStore({ file: files.next(), clock }),
    outbox: createSqliteOutbox(),
    inbox: createSqliteInbox(),
    keys: createSqliteIdempotencyKeyStore(),
    checkpoints: createSqliteCheckpointStore(),
  }),
};
outboxContract('sqlite', harness);
inboxContract('sqlite', harness);
idempotencyKeyContract('sqlite', harness);
outboxRelayContract('sqlite', harness);
