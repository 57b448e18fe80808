import { type Evolver, ValidationError } from '@tidemark/core';
import { describe, expect, it } from 'vitest';
import type { EventStoreHarness } from './eventStoreHarness.js';
import { createManualClock } from './manualClock.js';
import { caught } from './storeSnapshot.js';
import { useStores } from './useStores.js';

type AccountEvent =
  | { type: 'account.opened'; data: { initialDeposit: number } }
  | { type: 'money.deposited'; data: { amount: number } }
  | { type: 'money.withdrawn'; data: { amount: number } };

interface Account {
  open: boolean;
  balance: number;
}

/** The bank account of the founding documents, as an evolver. */
const account: Evolver<AccountEvent, Account> = {
  initialState: () => ({ open: false, balance: 0 }),
  evolve(state, event) {
    switch (event.type) {
      case 'account.opened':
        return { open: true, balance: event.data.initialDeposit };
      case 'money.deposited':
        return { ...state, balance: state.balance + event.data.amount };
      case 'money.withdrawn':
        return { ...state, balance: state.balance - event.data.amount };
    }
  },
};

export function temporalContract(harness: EventStoreHarness): void {
  describe('streamExists and aggregateStream (temporal queries)', () => {
    const open = useStores(harness);

    /** opened 1,000 at 09:00, deposit 500 at 10:00, withdraw 200 at 11:00. */
    async function bank() {
      const clock = createManualClock(new Date('2024-06-01T09:00:00.000Z'));
      const store = await open({ clock });
      await store.appendToStream('account-1', [{ type: 'account.opened', data: { initialDeposit: 1000 } }], {
        expectedVersion: 'no_stream',
      });
      clock.advance(3_600_000);
      await store.appendToStream('account-1', [{ type: 'money.deposited', data: { amount: 500 } }], { expectedVersion: 1 });
      clock.advance(3_600_000);
      await store.appendToStream('account-1', [{ type: 'money.withdrawn', data: { amount: 200 } }], { expectedVersion: 2 });
      return store;
    }

    it('records recordedAt from the store clock', async () => {
      const store = await bank();
      const events = await store.readStream('account-1');
      expect(events.map((e) => e.recordedAt.toISOString())).toEqual([
        '2024-06-01T09:00:00.000Z',
        '2024-06-01T10:00:00.000Z',
        '2024-06-01T11:00:00.000Z',
      ]);
    });

    it('tells whether a stream exists', async () => {
      const store = await bank();
      expect(await store.streamExists('account-1')).toBe(true);
      expect(await store.streamExists('account-2')).toBe(false);
      expect(await store.streamExists('account')).toBe(false);
    });

    it('folds the whole stream: 1,000 + 500 - 200 = 1,300', async () => {
      const store = await bank();
      expect(await store.aggregateStream('account-1', account)).toEqual({ state: { open: true, balance: 1300 }, version: 3, exists: true });
    });

    it('folds up to a version', async () => {
      const store = await bank();
      expect(await store.aggregateStream('account-1', account, { upToVersion: 2 })).toEqual({
        state: { open: true, balance: 1500 },
        version: 2,
        exists: true,
      });
      expect(await store.aggregateStream('account-1', account, { upToVersion: 1 })).toMatchObject({ state: { balance: 1000 }, version: 1 });
      expect(await store.aggregateStream('account-1', account, { upToVersion: 99 })).toMatchObject({
        state: { balance: 1300 },
        version: 3,
      });
      expect(await store.aggregateStream('account-1', account, { upToVersion: 0 })).toEqual({
        state: { open: false, balance: 0 },
        version: 0,
        exists: false,
      });
    });

    it('folds as of a time, inclusive of events recorded exactly then', async () => {
      const store = await bank();
      const at = (iso: string) => store.aggregateStream('account-1', account, { asOf: new Date(iso) });
      expect(await at('2024-06-01T09:30:00.000Z')).toEqual({ state: { open: true, balance: 1000 }, version: 1, exists: true });
      expect(await at('2024-06-01T10:00:00.000Z')).toEqual({ state: { open: true, balance: 1500 }, version: 2, exists: true });
      expect(await at('2024-06-01T10:59:59.999Z')).toMatchObject({ state: { balance: 1500 }, version: 2 });
      expect(await at('2024-06-02T00:00:00.000Z')).toMatchObject({ state: { balance: 1300 }, version: 3 });
      expect(await at('2024-06-01T08:59:59.999Z')).toEqual({ state: { open: false, balance: 0 }, version: 0, exists: false });
    });

    it('folds as of the earliest and the latest time a Date holds (beyond what a database timestamp can)', async () => {
      const store = await bank();
      const asOf = (ms: number) => store.aggregateStream('account-1', account, { asOf: new Date(ms) });
      expect(await asOf(-8.64e15)).toEqual({ state: { open: false, balance: 0 }, version: 0, exists: false });
      expect(await asOf(8.64e15)).toMatchObject({ state: { balance: 1300 }, version: 3 });
    });

    it('applies upToVersion and asOf together (whichever stops first)', async () => {
      const store = await bank();
      const late = new Date('2024-06-02T00:00:00.000Z');
      const early = new Date('2024-06-01T09:30:00.000Z');
      expect(await store.aggregateStream('account-1', account, { upToVersion: 2, asOf: late })).toMatchObject({ version: 2 });
      expect(await store.aggregateStream('account-1', account, { upToVersion: 3, asOf: early })).toMatchObject({ version: 1 });
    });

    it('reports a missing stream as not existing, at version 0, in its initial state', async () => {
      const store = await bank();
      expect(await store.aggregateStream('account-404', account)).toEqual({
        state: { open: false, balance: 0 },
        version: 0,
        exists: false,
      });
    });

    it.each([
      ['upToVersion -1', { upToVersion: -1 }],
      ['upToVersion 1.5', { upToVersion: 1.5 }],
      ['an invalid date', { asOf: new Date('not a date') }],
      ['a string date', { asOf: '2024-06-01' as unknown as Date }],
    ])('rejects %s with ValidationError', async (_, options) => {
      const store = await bank();
      await caught(() => store.aggregateStream('account-1', account, options), ValidationError);
    });
  });
}
