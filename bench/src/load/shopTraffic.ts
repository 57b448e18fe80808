import { randomUUID } from 'node:crypto';

/** One HTTP command of the mix. */
export interface ShopRequest {
  kind: string;
  method: 'POST';
  path: string;
  body: unknown;
  /** Told the outcome, so later requests can use the streams it created. */
  done?(status: number, response: unknown): void;
  /**
   * The read that shows this command's effect in its read model once the projector has passed
   * `position` (the server waits for it: `minPosition`), and whether a response came from the
   * read model in time.
   */
  readBack?: { path(position: string): string; fromReadModel(response: unknown): boolean };
}

const balanceReadBack = (accountId: string): ShopRequest['readBack'] => ({
  path: (position) => `/accounts/${accountId}/balance?minPosition=${position}`,
  fromReadModel: (response) => (response as { source?: string } | undefined)?.source === 'read-model',
});

/**
 * Realistic shop traffic: accounts opened and then deposited to and withdrawn from, orders
 * created, filled and placed. Most commands go to a small set of hot streams (64 accounts, 64
 * draft orders, contended: optimistic concurrency and its retries happen), the rest to streams
 * created during the run (new and cold). Shares, per command: 10% open an account, 40%
 * deposit, 15% withdraw, 10% create an order, 20% add an item, 5% place an order.
 */
export function createShopTraffic(random: () => number = Math.random) {
  const hotAccounts: string[] = [];
  const accounts: string[] = [];
  const drafts: string[] = [];
  const pick = <T>(list: readonly T[]): T | undefined => list[Math.floor(random() * list.length)];
  const account = () => (random() < 0.7 ? pick(hotAccounts) : pick(accounts)) ?? pick(hotAccounts);

  const openAccount = (hot: boolean): ShopRequest => {
    const accountId = `acc-${randomUUID()}`;
    return {
      kind: 'account.open',
      method: 'POST',
      path: '/accounts',
      body: { accountId, owner: 'Load Test', initialDeposit: 100_000 },
      readBack: balanceReadBack(accountId),
      done: (status) => {
        if (status !== 201) return;
        if (hot) hotAccounts.push(accountId);
        else accounts.push(accountId);
      },
    };
  };
  const createOrder = (): ShopRequest => {
    const orderId = `ord-${randomUUID()}`;
    const customerId = `cust-${Math.floor(random() * 1000)}`;
    return {
      kind: 'order.create',
      method: 'POST',
      path: '/orders',
      body: { orderId, customerId },
      readBack: {
        path: (position) => `/customers/${customerId}/orders?minPosition=${position}`,
        fromReadModel: (response) => (response as { caughtUp?: boolean } | undefined)?.caughtUp === true,
      },
      done: (status) => {
        if (status !== 201 && status !== 200) return;
        drafts.push(orderId);
        // Keep a bounded set of drafts: the oldest leave (as if abandoned) and new ones stay hot.
        if (drafts.length > 64) drafts.shift();
      },
    };
  };

  return {
    /** The streams the mix needs before it starts: 64 hot accounts and 16 draft orders. */
    setUp(): ShopRequest[] {
      return [...Array.from({ length: 64 }, () => openAccount(true)), ...Array.from({ length: 16 }, createOrder)];
    },
    next(): ShopRequest {
      const roll = random();
      if (roll < 0.1) return openAccount(false);
      if (roll < 0.5) {
        const id = account()!;
        return {
          kind: 'account.deposit',
          method: 'POST',
          path: `/accounts/${id}/deposits`,
          readBack: balanceReadBack(id),
          body: { amount: 1 + Math.floor(random() * 500) },
        };
      }
      if (roll < 0.65) {
        const id = account()!;
        return {
          kind: 'account.withdraw',
          method: 'POST',
          path: `/accounts/${id}/withdrawals`,
          readBack: balanceReadBack(id),
          body: { amount: 1 + Math.floor(random() * 300) },
        };
      }
      if (roll < 0.75 || drafts.length === 0) return createOrder();
      if (roll < 0.95) {
        const id = pick(drafts)!;
        return {
          kind: 'order.addItem',
          method: 'POST',
          path: `/orders/${id}/items`,
          body: {
            sku: `sku-${Math.floor(random() * 200)}`,
            quantity: 1 + Math.floor(random() * 3),
            unitPrice: 100 + Math.floor(random() * 5000),
          },
        };
      }
      // Placing takes the order out of the draft set: later items would be refused (422).
      const id = drafts.splice(Math.floor(random() * drafts.length), 1)[0]!;
      return { kind: 'order.place', method: 'POST', path: `/orders/${id}/place`, body: undefined };
    },
  };
}
