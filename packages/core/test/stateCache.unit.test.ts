import { createInMemoryEventStore, createStateCache, type Decider, DomainError, type EventStore, handleCommand } from '@tidemark/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

type Command = { type: 'deposit'; amount: number } | { type: 'withdraw'; amount: number };
type Event = { type: 'deposited'; data: { amount: number } } | { type: 'withdrawn'; data: { amount: number } };
interface Account {
  balance: number;
  events: number;
}

class InsufficientFunds extends DomainError {}

const account: Decider<Command, Event, Account> = {
  initialState: () => ({ balance: 0, events: 0 }),
  evolve: (state, event) => ({
    balance: state.balance + (event.type === 'deposited' ? event.data.amount : -event.data.amount),
    events: state.events + 1,
  }),
  decide(command, state) {
    if (command.type === 'withdraw' && command.amount > state.balance) throw new InsufficientFunds('not enough');
    return [{ type: command.type === 'deposit' ? 'deposited' : 'withdrawn', data: { amount: command.amount } }];
  },
};

/** The in-memory store, counting how often each read path runs and how many events it returned. */
function countingStore() {
  const store = createInMemoryEventStore();
  const counts = { aggregates: 0, tailReads: 0, tailEvents: 0, appends: 0 };
  const counted: EventStore = {
    ...store,
    async appendToStream(streamId, events, options) {
      counts.appends++;
      return store.appendToStream(streamId, events, options);
    },
    async aggregateStream(streamId, evolver, options) {
      counts.aggregates++;
      return store.aggregateStream(streamId, evolver, options);
    },
    async readStream(streamId, options) {
      counts.tailReads++;
      const events = await store.readStream(streamId, options);
      counts.tailEvents += events.length;
      return events;
    },
  };
  return { store: counted, raw: store, counts };
}

describe('state cache', () => {
  it("folds a stream once, then decides on the cached state: the append's expected version proves it current", async () => {
    const { store, counts } = countingStore();
    const cache = createStateCache();
    for (let i = 1; i <= 50; i++) await handleCommand(store, account, 'a-1', { type: 'deposit', amount: i }, { cache });
    expect(counts.aggregates).toBe(1);
    expect(counts.tailReads).toBe(0);
    const result = await handleCommand(store, account, 'a-1', { type: 'withdraw', amount: 1275 }, { cache });
    expect(result.state).toEqual({ balance: 0, events: 51 });
    // A rejection is only answered after reading the tail: the cached state might be stale.
    await expect(handleCommand(store, account, 'a-1', { type: 'withdraw', amount: 1 }, { cache })).rejects.toBeInstanceOf(
      InsufficientFunds,
    );
    expect(counts.tailReads).toBe(1);
  });

  it('lets commands on one stream take turns instead of conflicting with each other', async () => {
    const { store, counts } = countingStore();
    const cache = createStateCache();
    await handleCommand(store, account, 'hot', { type: 'deposit', amount: 1 }, { cache });
    await Promise.all(Array.from({ length: 20 }, () => handleCommand(store, account, 'hot', { type: 'deposit', amount: 1 }, { cache })));
    // One append per command: none was refused for a version another of them had taken.
    expect(counts.appends).toBe(21);
    expect(cache.get(store, account, 'hot')?.version).toBe(21);
  });

  it('picks up what another writer appended since, so decisions see the whole stream', async () => {
    const { store, raw, counts } = countingStore();
    const cache = createStateCache();
    await handleCommand(store, account, 'a-1', { type: 'deposit', amount: 10 }, { cache });
    // Another process (or a command without the cache) writes twice.
    await raw.appendToStream('a-1', [
      { type: 'deposited', data: { amount: 5 } },
      { type: 'withdrawn', data: { amount: 15 } },
    ]);
    await expect(handleCommand(store, account, 'a-1', { type: 'withdraw', amount: 1 }, { cache })).rejects.toBeInstanceOf(
      InsufficientFunds,
    );
    expect(counts.tailEvents).toBe(2);
    expect(cache.get(store, account, 'a-1')).toEqual({ state: { balance: 0, events: 3 }, version: 3 });
  });

  it('stays correct under concurrent commands on one stream (conflicts reload the tail)', async () => {
    const { store, raw } = countingStore();
    const cache = createStateCache();
    await Promise.all(Array.from({ length: 25 }, () => handleCommand(store, account, 'hot', { type: 'deposit', amount: 2 }, { cache })));
    const folded = await raw.aggregateStream('hot', account);
    expect(folded).toMatchObject({ state: { balance: 50, events: 25 }, version: 25 });
    expect(cache.get(store, account, 'hot')).toEqual({ state: folded.state, version: 25 });
  });

  it('is bypassed inside a transaction, which may still roll back', async () => {
    const { store } = countingStore();
    const cache = createStateCache();
    await handleCommand(store, account, 'a-1', { type: 'deposit', amount: 10 }, { cache });
    await expect(
      store.transaction(async (tx) => {
        await handleCommand(tx, account, 'a-1', { type: 'deposit', amount: 90 }, { cache });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(cache.get(store, account, 'a-1')).toEqual({ state: { balance: 10, events: 1 }, version: 1 });
    const next = await handleCommand(store, account, 'a-1', { type: 'deposit', amount: 1 }, { cache });
    expect(next.state).toEqual({ balance: 11, events: 2 });
  });

  it('keeps the most recently used streams, and never steps an entry back', () => {
    const { store } = countingStore();
    const cache = createStateCache({ maxStreams: 2 });
    cache.set(store, account, 'a', { state: { balance: 1, events: 1 }, version: 1 });
    cache.set(store, account, 'b', { state: { balance: 2, events: 1 }, version: 1 });
    cache.get(store, account, 'a');
    cache.set(store, account, 'c', { state: { balance: 3, events: 1 }, version: 1 });
    expect(cache.size).toBe(2);
    expect(cache.get(store, account, 'b')).toBeUndefined();
    cache.set(store, account, 'a', { state: { balance: 0, events: 0 }, version: 0 });
    expect(cache.get(store, account, 'a')?.version).toBe(1);
    expect(() => createStateCache({ maxStreams: 0 })).toThrow(RangeError);
  });

  it('drops every state of the streams named, for any store and decider (a forgotten subject’s)', () => {
    const one = countingStore().store;
    const two = countingStore().store;
    const other: Decider<Command, Event, Account> = { ...account };
    const cache = createStateCache();
    const entry = { state: { balance: 1, events: 1 }, version: 1 };
    cache.set(one, account, 'account-1:x', entry);
    cache.set(two, other, 'account-1:x', entry);
    cache.set(one, account, 'account-2', entry);
    cache.set(one, account, 'x', entry);
    cache.deleteStreams(['account-1:x', 'x']);
    expect(cache.get(one, account, 'account-1:x')).toBeUndefined();
    expect(cache.get(two, other, 'account-1:x')).toBeUndefined();
    expect(cache.get(one, account, 'x')).toBeUndefined();
    expect(cache.get(one, account, 'account-2')).toBe(entry);
    expect(cache.size).toBe(1);
  });

  it('tells stores and deciders apart', async () => {
    const one = countingStore().store;
    const two = countingStore().store;
    const other: Decider<Command, Event, Account> = { ...account };
    const cache = createStateCache();
    await handleCommand(one, account, 's', { type: 'deposit', amount: 1 }, { cache });
    expect(cache.get(two, account, 's')).toBeUndefined();
    expect(cache.get(one, other, 's')).toBeUndefined();
  });

  it('agrees with a full fold whatever the interleaving of cached commands, other writers and evictions', async () => {
    const step = fc.oneof(
      fc.record({
        kind: fc.constant('command' as const),
        stream: fc.integer({ min: 0, max: 3 }),
        amount: fc.integer({ min: -20, max: 20 }),
      }),
      fc.record({ kind: fc.constant('other' as const), stream: fc.integer({ min: 0, max: 3 }), amount: fc.integer({ min: -20, max: 20 }) }),
      fc.constant({ kind: 'clear' as const }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 60 }), fc.integer({ min: 1, max: 4 }), async (steps, maxStreams) => {
        const { store, raw } = countingStore();
        const cache = createStateCache({ maxStreams });
        for (const s of steps) {
          if (s.kind === 'clear') {
            cache.clear();
            continue;
          }
          const streamId = `s-${s.stream}`;
          const command: Command = s.amount >= 0 ? { type: 'deposit', amount: s.amount } : { type: 'withdraw', amount: -s.amount };
          if (s.kind === 'other') {
            await raw.appendToStream(streamId, account.decide(command, { balance: Number.MAX_SAFE_INTEGER, events: 0 }));
            continue;
          }
          const full = await raw.aggregateStream(streamId, account);
          let expected: unknown;
          try {
            expected = account.decide(command, full.state);
          } catch (error) {
            expected = error;
          }
          const outcome = await handleCommand(store, account, streamId, command, { cache }).then(
            (result) => result,
            (error: unknown) => error,
          );
          if (expected instanceof Error) expect(outcome).toBeInstanceOf(InsufficientFunds);
          else expect((outcome as { state: Account }).state).toEqual((expected as Event[]).reduce(account.evolve, full.state));
        }
      }),
      { numRuns: 150 },
    );
  });
});
