import {
  createManualClock,
  idempotencyKeyContract,
  inboxContract,
  type MessagingHarness,
  outboxContract,
  outboxRelayContract,
} from '@tidemark/testing';
import { describe, expect, it } from 'vitest';
import {
  createInMemoryCheckpointStore,
  createInMemoryEventStore,
  createInMemoryIdempotencyKeyStore,
  createInMemoryInbox,
  createInMemoryOutbox,
  startExpirySweeper,
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
outboxRelayContract('in-memory', harness);

describe('expiry sweeper', () => {
  it('deletes inbox records past the window, by the store clock, and leaves younger ones', async () => {
    const clock = createManualClock(new Date('2026-01-01T00:00:00Z'));
    const store = createInMemoryEventStore({ clock });
    const inbox = createInMemoryInbox();
    for (let i = 0; i < 1500; i++) await store.transaction((tx) => inbox.record(tx, 'c', `old-${i}`));
    clock.advance(60_000);
    await store.transaction((tx) => inbox.record(tx, 'c', 'young'));
    const sweeper = startExpirySweeper({
      store,
      windowMs: 30_000,
      intervalMs: 3_600_000,
      expire: (tx, before, limit) => inbox.expire(tx, before, limit),
    });
    expect(await sweeper.sweep()).toBe(1500);
    sweeper.stop();
    expect(await store.transaction((tx) => inbox.has(tx, 'c', 'old-0'))).toBe(false);
    expect(await store.transaction((tx) => inbox.has(tx, 'c', 'young'))).toBe(true);
    expect(() => startExpirySweeper({ store, windowMs: -1, expire: async () => 0 })).toThrow(/windowMs/);
  });
});
