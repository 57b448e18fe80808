import {
  ConcurrencyError,
  createInMemoryEventStore,
  type Decider,
  DomainError,
  type EventStore,
  handleCommand,
  RetriesExhaustedError,
  type StoreTransaction,
  type StreamOperations,
  ValidationError,
} from '@tidemark/core';
import { afterEach, describe, expect, it } from 'vitest';

type AccountCommand = { type: 'open'; amount: number } | { type: 'deposit'; amount: number } | { type: 'withdraw'; amount: number };
type AccountEvent =
  | { type: 'account.opened'; data: { amount: number } }
  | { type: 'money.deposited'; data: { amount: number } }
  | { type: 'money.withdrawn'; data: { amount: number } };
interface Account {
  open: boolean;
  balance: number;
}

class InsufficientFunds extends DomainError {}

/** The bank account of the founding documents; counts its decisions so tests can see retries. */
function accountDecider(): Decider<AccountCommand, AccountEvent, Account> & { decisions: number } {
  const decider = {
    decisions: 0,
    initialState: (): Account => ({ open: false, balance: 0 }),
    evolve(state: Account, event: AccountEvent): Account {
      switch (event.type) {
        case 'account.opened':
          return { open: true, balance: event.data.amount };
        case 'money.deposited':
          return { ...state, balance: state.balance + event.data.amount };
        case 'money.withdrawn':
          return { ...state, balance: state.balance - event.data.amount };
      }
    },
    decide(command: AccountCommand, state: Account): AccountEvent[] {
      decider.decisions++;
      switch (command.type) {
        case 'open':
          return state.open ? [] : [{ type: 'account.opened', data: { amount: command.amount } }];
        case 'deposit':
          return command.amount === 0 ? [] : [{ type: 'money.deposited', data: { amount: command.amount } }];
        case 'withdraw':
          if (command.amount > state.balance) throw new InsufficientFunds(`balance ${state.balance} < ${command.amount}`);
          return [{ type: 'money.withdrawn', data: { amount: command.amount } }];
      }
    },
  };
  return decider;
}

/**
 * The real store, with another writer slipping a deposit in between handleCommand's load and
 * its append, `times` times: the race that optimistic concurrency exists for, made deterministic.
 */
function withInterleavingWriter(store: EventStore, times: number): StreamOperations & { interleaved: number } {
  const ops = {
    interleaved: 0,
    appendToStream: store.appendToStream.bind(store),
    readStream: store.readStream.bind(store),
    streamExists: store.streamExists.bind(store),
    async aggregateStream(...args: Parameters<StreamOperations['aggregateStream']>) {
      const loaded = await store.aggregateStream(...args);
      if (ops.interleaved < times) {
        ops.interleaved++;
        await store.appendToStream(args[0], [{ type: 'money.deposited', data: { amount: 1 } }]);
      }
      return loaded;
    },
  };
  return ops as StreamOperations & { interleaved: number };
}

describe('handleCommand', () => {
  const stores: EventStore[] = [];
  const open = () => {
    const store = createInMemoryEventStore();
    stores.push(store);
    return store;
  };
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  it('loads, decides and appends with the loaded version', async () => {
    const store = open();
    const decider = accountDecider();
    const opened = await handleCommand(store, decider, 'account-1', { type: 'open', amount: 1000 });
    expect(opened.state).toEqual({ open: true, balance: 1000 });
    expect(opened.nextExpectedVersion).toBe(1);
    const deposited = await handleCommand(store, decider, 'account-1', { type: 'deposit', amount: 500 });
    const withdrawn = await handleCommand(store, decider, 'account-1', { type: 'withdraw', amount: 200 });
    expect(withdrawn.state).toEqual({ open: true, balance: 1300 });
    expect(withdrawn.nextExpectedVersion).toBe(3);
    expect(withdrawn.position).toBe(await store.headPosition());
    expect(withdrawn.events.map((e) => [e.type, e.version, e.data])).toEqual([['money.withdrawn', 3, { amount: 200 }]]);
    expect(deposited.position).toBeLessThan(withdrawn.position);
    const stored = await store.readStream('account-1');
    expect(stored.map((e) => e.type)).toEqual(['account.opened', 'money.deposited', 'money.withdrawn']);
    expect((await store.aggregateStream('account-1', decider)).state).toEqual(withdrawn.state);
  });

  it('retries a conflict by reloading and deciding again, and succeeds', async () => {
    const store = open();
    const decider = accountDecider();
    await handleCommand(store, decider, 'account-1', { type: 'open', amount: 100 });
    decider.decisions = 0;
    const racing = withInterleavingWriter(store, 1);
    const result = await handleCommand(racing, decider, 'account-1', { type: 'withdraw', amount: 100 });
    expect(racing.interleaved).toBe(1);
    expect(decider.decisions).toBe(2);
    // 100 + 1 (interleaved) - 100: the returned state was folded from the reloaded stream, not the stale one.
    expect(result.state.balance).toBe(1);
    expect(result.nextExpectedVersion).toBe(3);
    expect((await store.readStream('account-1')).map((e) => [e.version, e.type])).toEqual([
      [1, 'account.opened'],
      [2, 'money.deposited'],
      [3, 'money.withdrawn'],
    ]);
  });

  it('gives up with RetriesExhaustedError, not a ConcurrencyError the caller never asked for, writing nothing of its own', async () => {
    const store = open();
    const decider = accountDecider();
    await handleCommand(store, decider, 'account-1', { type: 'open', amount: 100 });
    decider.decisions = 0;
    const racing = withInterleavingWriter(store, 100);
    const error = await handleCommand(racing, decider, 'account-1', { type: 'withdraw', amount: 50 }, { retry: { maxAttempts: 3 } }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect(error).toMatchObject({ code: 'retries_exhausted', attempts: 3 });
    expect((error as Error).cause).toBeInstanceOf(ConcurrencyError);
    expect(decider.decisions).toBe(3);
    const types = (await store.readStream('account-1')).map((e) => e.type);
    expect(types).toEqual(['account.opened', 'money.deposited', 'money.deposited', 'money.deposited']);
  });

  it('keeps retrying a busy stream for as long as its time budget allows, not a fixed number of attempts', async () => {
    const store = open();
    const decider = accountDecider();
    await handleCommand(store, decider, 'account-1', { type: 'open', amount: 100 });
    decider.decisions = 0;
    // Ten interleaved writers in a row: far more than the three attempts of old.
    const racing = withInterleavingWriter(store, 10);
    const result = await handleCommand(racing, decider, 'account-1', { type: 'deposit', amount: 7 }, { retry: { maxElapsedMs: 60_000 } });
    expect(racing.interleaved).toBe(10);
    expect(decider.decisions).toBe(11);
    expect(result.state.balance).toBe(100 + 10 + 7);
  });

  it('gives up once its time budget is spent', async () => {
    const store = open();
    const decider = accountDecider();
    await handleCommand(store, decider, 'account-1', { type: 'open', amount: 100 });
    const racing = withInterleavingWriter(store, Number.POSITIVE_INFINITY);
    const error = await handleCommand(racing, decider, 'account-1', { type: 'deposit', amount: 7 }, { retry: { maxElapsedMs: 0 } }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect(racing.interleaved).toBe(1);
  });

  it('never retries inside a transaction it was given: the conflict reaches the transaction', async () => {
    const store = open();
    const decider = accountDecider();
    await handleCommand(store, decider, 'account-1', { type: 'open', amount: 100 });
    decider.decisions = 0;
    const error = await store
      .transaction(async (tx) => {
        // A transaction's append that lost a race (on a server store another session wrote first).
        const racing: StoreTransaction = {
          ...tx,
          appendToStream: async (streamId) => {
            throw new ConcurrencyError(streamId, 1, 2);
          },
        };
        await handleCommand(racing, decider, 'account-1', { type: 'deposit', amount: 5 });
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConcurrencyError);
    expect(decider.decisions).toBe(1);
  });

  it('does not retry a conflict when the caller gave an explicit expectedVersion', async () => {
    const store = open();
    const decider = accountDecider();
    await handleCommand(store, decider, 'account-1', { type: 'open', amount: 100 });
    decider.decisions = 0;
    const racing = withInterleavingWriter(store, 1);
    const error = await handleCommand(racing, decider, 'account-1', { type: 'deposit', amount: 5 }, { expectedVersion: 1 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConcurrencyError);
    expect(error).toMatchObject({ expected: 1, actual: 2 });
    expect(decider.decisions).toBe(1);
    expect(await store.readStream('account-1')).toHaveLength(2);
  });

  it("refuses the caller's expectedVersion against the version it read, before appending anything", async () => {
    const store = open();
    const decider = accountDecider();
    await handleCommand(store, decider, 'account-1', { type: 'open', amount: 100 });
    let appends = 0;
    const counting: StreamOperations = {
      appendToStream: (...args) => {
        appends++;
        return store.appendToStream(...args);
      },
      readStream: store.readStream.bind(store),
      streamExists: store.streamExists.bind(store),
      aggregateStream: store.aggregateStream.bind(store),
    };
    const behind = await handleCommand(counting, decider, 'account-1', { type: 'deposit', amount: 5 }, { expectedVersion: 5 }).catch(
      (e: unknown) => e,
    );
    expect(behind).toBeInstanceOf(ConcurrencyError);
    expect(behind).toMatchObject({ expected: 5, actual: 1 });
    const absent = await handleCommand(
      counting,
      decider,
      'account-1',
      { type: 'deposit', amount: 5 },
      { expectedVersion: 'no_stream' },
    ).catch((e: unknown) => e);
    expect(absent).toBeInstanceOf(ConcurrencyError);
    expect(appends).toBe(0);
    await expect(handleCommand(counting, decider, 'account-1', { type: 'deposit', amount: 5 }, { expectedVersion: 1.5 })).rejects.toThrow(
      ValidationError,
    );
    expect(appends).toBe(0);
    expect(await store.readStream('account-1')).toHaveLength(1);
  });

  it('does not append events decided on an older state than the version the caller names', async () => {
    const store = open();
    const decider = accountDecider();
    await handleCommand(store, decider, 'account-1', { type: 'open', amount: 100 });
    // The caller saw version 2, but the load ran before the write that made it: deciding on
    // version 1 and appending "at 2" would skip that write's effect.
    const racing = withInterleavingWriter(store, 1);
    const error = await handleCommand(racing, decider, 'account-1', { type: 'withdraw', amount: 100 }, { expectedVersion: 2 }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ expected: 2, actual: 1 });
    expect((await store.readStream('account-1')).map((event) => event.type)).toEqual(['account.opened', 'money.deposited']);
  });

  it('writes nothing when decide throws a DomainError, and passes the error on', async () => {
    const store = open();
    const decider = accountDecider();
    await handleCommand(store, decider, 'account-1', { type: 'open', amount: 100 });
    const head = await store.headPosition();
    const error = await handleCommand(store, decider, 'account-1', { type: 'withdraw', amount: 500 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InsufficientFunds);
    expect((error as DomainError).code).toBe('domain_rule');
    expect(await store.headPosition()).toBe(head);
    expect(await store.readStream('account-1')).toHaveLength(1);
  });

  it('propagates command metadata: commandId becomes causationId and, by default, correlationId', async () => {
    const store = open();
    const decider = accountDecider();
    await handleCommand(store, decider, 'account-1', { type: 'open', amount: 1 }, { metadata: { commandId: 'cmd-1', userId: 'u-1' } });
    await handleCommand(
      store,
      decider,
      'account-1',
      { type: 'deposit', amount: 2 },
      { metadata: { commandId: 'cmd-2', correlationId: 'flow-9', tenantId: 't-1', traceparent: 'tp' } },
    );
    await handleCommand(store, decider, 'account-1', { type: 'deposit', amount: 3 });
    const metadata = (await store.readStream('account-1')).map((e) => e.metadata);
    expect(metadata).toEqual([
      { causationId: 'cmd-1', correlationId: 'cmd-1', userId: 'u-1' },
      { causationId: 'cmd-2', correlationId: 'flow-9', tenantId: 't-1', traceparent: 'tp' },
      {},
    ]);
  });

  it('appends nothing and returns position 0 when the command decides no events', async () => {
    const store = open();
    const decider = accountDecider();
    await handleCommand(store, decider, 'account-1', { type: 'open', amount: 100 });
    const head = await store.headPosition();
    const result = await handleCommand(store, decider, 'account-1', { type: 'open', amount: 999 });
    expect(result).toEqual({ state: { open: true, balance: 100 }, events: [], nextExpectedVersion: 1, position: 0n });
    expect(await store.headPosition()).toBe(head);
  });

  it('stores the schema version a decider gives its events', async () => {
    const store = open();
    const versioned: Decider<{ type: 'open' }, { type: 'account.opened'; data: { cents: number }; schemaVersion?: number }, null> = {
      initialState: () => null,
      evolve: (state) => state,
      decide: () => [{ type: 'account.opened', data: { cents: 100 }, schemaVersion: 2 }],
    };
    const result = await handleCommand(store, versioned, 'account-v2', { type: 'open' });
    expect(result.events.map((e) => e.schemaVersion)).toEqual([2]);
    const [stored] = await store.readStream('account-v2');
    expect(stored?.schemaVersion).toBe(2);
  });

  it('joins a larger unit of work when given a transaction', async () => {
    const store = open();
    const decider = accountDecider();
    await expect(
      store.transaction(async (tx) => {
        await handleCommand(tx, decider, 'account-1', { type: 'open', amount: 100 });
        await handleCommand(tx, decider, 'account-2', { type: 'open', amount: 200 });
        throw new Error('abandon the transfer');
      }),
    ).rejects.toThrow('abandon the transfer');
    expect(await store.headPosition()).toBe(0n);
    await store.transaction(async (tx) => {
      await handleCommand(tx, decider, 'account-1', { type: 'open', amount: 100 });
      const second = await handleCommand(tx, decider, 'account-1', { type: 'deposit', amount: 5 });
      expect(second.nextExpectedVersion).toBe(2);
    });
    expect(await store.readStream('account-1')).toHaveLength(2);
  });
});
