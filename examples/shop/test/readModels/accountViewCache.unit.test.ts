import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { handleCommand, type RecordedEvent } from '@tidemark/core';
import { createSqliteCheckpointStore, createSqliteEventStore } from '@tidemark/sqlite';
import { expect, it } from 'vitest';
import { bankAccountStreamId } from '../../src/bankAccounts/bankAccountCommands.js';
import { bankAccountDecider } from '../../src/bankAccounts/bankAccountDecider.js';
import { createShopReadModels, type StampedAccountView } from '../../src/readModels/shopReadModels.js';

it('serves a cached account only to readers whose write it already holds, and lets the cache see every committed balance batch', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tidemark-account-cache-'));
  const store = createSqliteEventStore({ file: join(dir, 'shop.db') });
  // A cache whose invalidation never arrives: the worst case the checkpoint stamp must cover.
  const entries = new Map<string, StampedAccountView>();
  const committed: RecordedEvent[][] = [];
  const readModels = createShopReadModels({
    store,
    checkpoints: createSqliteCheckpointStore(),
    readYourWritesTimeoutMs: 2000,
    accountCache: (load) => ({
      async get(accountId) {
        const cached = entries.get(accountId);
        if (cached) return cached;
        const loaded = await load(accountId);
        if (loaded) entries.set(accountId, loaded);
        return loaded;
      },
      projection: (projection) => ({
        ...projection,
        async apply(events, tx, tables) {
          await projection.apply(events, tx, tables);
          tx.afterCommit(() => committed.push([...events]));
        },
      }),
    }),
  });
  try {
    await readModels.start();
    const account = (command: Parameters<typeof bankAccountDecider.decide>[0]) =>
      handleCommand(store, bankAccountDecider, bankAccountStreamId('a1'), command);
    const opened = await account({ type: 'bank.account.open', data: { accountId: 'a1', owner: 'alice', initialDeposit: 1000 } });
    expect(await readModels.accounts.get('a1', { minPosition: opened.position })).toMatchObject({ view: { balance: 1000 } });
    expect(entries.get('a1')?.checkpoint).toBeGreaterThanOrEqual(opened.position);

    const deposited = await account({ type: 'bank.account.deposit', data: { accountId: 'a1', amount: 500 } });
    // The stale entry is still cached: a reader without a position may get it…
    expect((await readModels.accounts.get('a1')).view?.balance).toBe(1000);
    // …but not the reader who made the deposit.
    expect(await readModels.accounts.get('a1', { minPosition: deposited.position })).toEqual({
      source: 'read-model',
      view: { accountId: 'a1', owner: 'alice', balance: 1500, status: 'open', version: 2 },
    });
    // The wrapped projection ran for both batches, after each commit.
    expect(committed.flat().map((event) => event.type)).toEqual(['bank.account.opened', 'bank.account.funds_deposited']);
  } finally {
    await readModels.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
