import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type NewEvent, stringifyWithPositions } from '@tidemark/core';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createShop, type Shop, type ShopOptions } from '../../src/createShop.js';
import { findAccountBalance } from '../../src/readModels/accountBalanceProjection.js';

const postgres = await serviceAvailable('postgres');

const opened = (accountId: string, owner: unknown): NewEvent => ({
  type: 'bank.account.opened',
  data: { accountId, owner, initialDeposit: 100 },
});
const deposited = (amount: number): NewEvent => ({ type: 'bank.account.funds_deposited', data: { amount } });

/**
 * Events no HTTP request can write any more, appended straight to the store (an older server,
 * a migration, another writer): each makes the balance projection throw. (What issue 8 item 11
 * sent, a NUL in the owner, no longer gets that far: every store refuses U+0000 at append.)
 */
const poisons: Array<{ streamId: string; event: NewEvent }> = [
  // An owner that is not there at all: the NOT NULL column refuses it on both databases.
  { streamId: 'account-poison-null', event: opened('poison-null', null) },
];

type Backend = { name: string; config: () => ShopOptions['config']; cleanup: () => Promise<void> };

function sqliteBackend(): Backend {
  const dataDir = mkdtempSync(join(tmpdir(), 'shop-poison-'));
  return {
    name: 'SQLite',
    config: () => ({ dataDir }),
    cleanup: async () => rmSync(dataDir, { recursive: true, force: true }),
  };
}

function postgresBackend(): Backend {
  const schema = `shop_poison_${randomBytes(5).toString('hex')}`;
  return {
    name: 'PostgreSQL',
    config: () => ({ dataDir: '/nonexistent-not-used', database: { url: serviceUrls.postgres, schema } }),
    cleanup: async () => {
      const admin = new pg.Client({ connectionString: serviceUrls.postgres });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    },
  };
}

const backends: Array<[string, () => Backend]> = [
  ['SQLite', sqliteBackend],
  ['PostgreSQL', postgresBackend],
];

describe.each(backends)('a poison event in the shop on %s', (name, makeBackend) => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it.skipIf(name === 'PostgreSQL' && !postgres)(
    'is parked and the balances of every other account keep moving, across a restart',
    async () => {
      const backend = makeBackend();
      cleanups.push(backend.cleanup);
      const start = async (): Promise<Shop> => {
        const shop = await createShop({ config: backend.config(), monitoringIntervalMs: 0 });
        cleanups.push(() => shop.close());
        await shop.start();
        return shop;
      };
      const balanceOf = (shop: Shop, accountId: string) => shop.store.transaction((tx) => findAccountBalance(tx.sql, accountId));
      const balances = (shop: Shop) => {
        const found = shop.readModels.projectors.find((p) => p.name === 'shop.account_balances');
        if (!found) throw new Error('no balance projector');
        return found;
      };

      let shop = await start();
      await shop.store.appendToStream('account-good', [opened('good', 'gina')]);
      for (const poison of poisons) await shop.store.appendToStream(poison.streamId, [poison.event]);
      await shop.store.appendToStream('account-good', [deposited(50)]);
      // Another account opened after the poison: its row must appear too.
      await shop.store.appendToStream('account-later', [opened('later', 'lou'), deposited(1)]);

      const head = await shop.store.headPosition();
      expect(await balances(shop).waitForPosition(head, { timeoutMs: 30_000 }), stringifyWithPositions(balances(shop).status())).toBe(true);
      expect(balances(shop).status()).toMatchObject({ state: 'running', eventsParked: poisons.length });
      expect(balances(shop).status().error).toBeUndefined();
      expect(await balanceOf(shop, 'good')).toMatchObject({ balance: 150, version: 2 });
      expect(await balanceOf(shop, 'later')).toMatchObject({ balance: 101, version: 2 });
      const parked = await shop.store.transaction((tx) =>
        tx.sql.query(`SELECT stream_id, error FROM tidemark_dead_letters WHERE projection = $1 ORDER BY position`, [
          'shop.account_balances',
        ]),
      );
      expect(parked.map((row) => row.stream_id)).toEqual(poisons.map((p) => p.streamId));
      // The other read models never looked at account events: nothing of theirs is parked.
      for (const projector of shop.readModels.projectors) expect(projector.status().state).toBe('running');

      // Restarted, the projector resumes past the parked events and goes on.
      await shop.close();
      shop = await start();
      const more = await shop.store.appendToStream('account-good', [deposited(7)]);
      expect(await balances(shop).waitForPosition(more.position, { timeoutMs: 30_000 })).toBe(true);
      expect(await balanceOf(shop, 'good')).toMatchObject({ balance: 157, version: 3 });
      expect(balances(shop).status()).toMatchObject({ state: 'running', eventsParked: 0 });
    },
    90_000,
  );
});
