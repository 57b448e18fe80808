import { type Lease, LeaseLostError, type StoreTransaction } from '@tidemark/core';
import { afterAll, describe, expect, it } from 'vitest';

/** The bridge from an adapter to the lease contract. */
export interface LeaseHarness<Tx extends StoreTransaction = StoreTransaction> {
  /** Whether the leases fence transactions (then `transaction` is given). */
  fencing: boolean;
  /** A fresh lease name's world: `contender()` makes one more instance competing for it, as another process would. */
  create(): Promise<{
    contender(): Lease<Tx>;
    /** Makes the current holder's deadline pass, as if it had vanished and stopped renewing (no sleeping). */
    expire(): Promise<void>;
    /** Runs `work` in one transaction of the store the leases fence (absent: fencing is not tested). */
    transaction?<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
  }>;
  teardown?(): Promise<void>;
}

/**
 * What every Lease must do: one holder at a time, handed over at once on release, taken over
 * once a silent holder's deadline passes — and a holder that lost it finds out on renew and
 * cannot commit a fenced transaction any more.
 */
export function leaseContract<Tx extends StoreTransaction>(adapter: string, harness: LeaseHarness<Tx>): void {
  describe(`Lease contract: ${adapter}`, () => {
    const released: Lease<Tx>[] = [];
    afterAll(async () => {
      for (const lease of released) await lease.release();
      await harness.teardown?.();
    });
    const world = async () => {
      const created = await harness.create();
      return {
        ...created,
        contender() {
          const lease = created.contender();
          released.push(lease);
          return lease;
        },
      };
    };

    it('lets one instance hold it at a time, and renew while it does', async () => {
      const { contender } = await world();
      const a = contender();
      const b = contender();
      expect(await a.acquire()).toBe(true);
      expect(await a.acquire()).toBe(true);
      expect(await b.acquire()).toBe(false);
      expect(await a.renew()).toBe(true);
      expect(await b.renew()).toBe(false);
      expect(await b.acquire()).toBe(false);
    });

    it('hands it over at once on release, and the releaser no longer holds it', async () => {
      const { contender } = await world();
      const a = contender();
      const b = contender();
      expect(await a.acquire()).toBe(true);
      await a.release();
      expect(await a.renew()).toBe(false);
      expect(await b.acquire()).toBe(true);
      expect(await a.acquire()).toBe(false);
    });

    it('is taken over once a silent holder’s deadline passes, and the old holder cannot renew it back', async () => {
      const { contender, expire } = await world();
      const a = contender();
      const b = contender();
      expect(await a.acquire()).toBe(true);
      expect(await b.acquire()).toBe(false);
      await expire();
      expect(await b.acquire()).toBe(true);
      expect(await a.renew()).toBe(false);
      expect(await b.renew()).toBe(true);
    });

    it.skipIf(!harness.fencing)('fences: only the current holder’s transactions pass, a holder that lost it is refused', async () => {
      const created = await world();
      const transaction = created.transaction;
      if (!transaction) throw new Error('a fencing harness must give a transaction');
      const a = created.contender();
      const b = created.contender();
      expect(typeof a.fence).toBe('function');
      expect(await a.acquire()).toBe(true);
      await transaction((tx) => a.fence?.(tx) ?? Promise.resolve());
      await expect(transaction((tx) => b.fence?.(tx) ?? Promise.resolve())).rejects.toBeInstanceOf(LeaseLostError);
      await created.expire();
      // Expired and not yet taken: already refused — the deadline, not the takeover, ends it.
      await expect(transaction((tx) => a.fence?.(tx) ?? Promise.resolve())).rejects.toBeInstanceOf(LeaseLostError);
      expect(await b.acquire()).toBe(true);
      await expect(transaction((tx) => a.fence?.(tx) ?? Promise.resolve())).rejects.toBeInstanceOf(LeaseLostError);
      await transaction((tx) => b.fence?.(tx) ?? Promise.resolve());
      // Even re-acquiring after a takeover gives a new token: b's old one stays refused.
      await b.release();
      expect(await a.acquire()).toBe(true);
      await expect(transaction((tx) => b.fence?.(tx) ?? Promise.resolve())).rejects.toBeInstanceOf(LeaseLostError);
    });
  });
}
