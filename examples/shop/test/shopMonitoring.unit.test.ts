import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Alert, handleCommand, loadAggregate, type SnapshotStore, takeSnapshot } from '@tidemark/core';
import { createSqliteCheckpointStore, createSqliteEventStore, createSqliteSnapshotStore } from '@tidemark/sqlite';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { bankAccountStreamId } from '../src/bankAccounts/bankAccountCommands.js';
import { bankAccountDecider } from '../src/bankAccounts/bankAccountDecider.js';
import { bankAccountSnapshots } from '../src/bankAccounts/bankAccountMessages.js';
import { createPrometheusMetrics } from '../src/monitoring/prometheusMetrics.js';
import { createShopMonitoring } from '../src/monitoring/shopMonitoring.js';
import { createShopReadModels } from '../src/readModels/shopReadModels.js';

describe('shop monitoring on the real read models (SQLite)', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('catches a corrupted account balance row, alerts, and serves the figures as Prometheus metrics', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tidemark-shop-monitoring-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const store = createSqliteEventStore({ file: join(dir, 'shop.db') });
    cleanups.push(() => store.close());
    const readModels = createShopReadModels({ store, checkpoints: createSqliteCheckpointStore() });
    await readModels.start();
    cleanups.push(() => readModels.stop());
    for (let i = 0; i < 30; i++) {
      const accountId = `acc-${i}`;
      await handleCommand(store, bankAccountDecider, bankAccountStreamId(accountId), {
        type: 'bank.account.open',
        data: { accountId, owner: `owner ${i}`, initialDeposit: 1000 },
      });
      await handleCommand(store, bankAccountDecider, bankAccountStreamId(accountId), {
        type: 'bank.account.deposit',
        data: { accountId, amount: i + 1 },
      });
    }
    expect(await readModels.waitForPosition(await store.headPosition(), 10_000)).toBe(true);

    const metrics = createPrometheusMetrics();
    const alerts: Alert[] = [];
    const monitoring = createShopMonitoring({ store, readModels, metrics, onAlert: (alert) => alerts.push(alert) });

    expect(await monitoring.accounts.check()).toMatchObject({ checked: 30, consistent: 30, rate: 1, mismatches: [] });
    const lags = await monitoring.lag.measure();
    expect(lags.map((lag) => lag.eventsBehind)).toEqual([0, 0, 0]);
    const probed = await monitoring.probe.probe();
    expect(probed.map((p) => p.reached)).toEqual([true, true, true]);
    expect(alerts).toEqual([]);

    // Corrupt one row behind the projector's back: the events still say 1,008.
    await store.transaction((tx) => tx.sql.execute(`UPDATE shop_account_balances SET balance = balance + 1 WHERE account_id = 'acc-7'`));
    const report = await monitoring.accounts.check();
    expect(report.rate).toBeCloseTo(29 / 30);
    expect(report.mismatches).toEqual([
      {
        id: 'acc-7',
        actual: { owner: 'owner 7', balance: 1009, status: 'open', version: 2 },
        expected: { owner: 'owner 7', balance: 1008, status: 'open', version: 2 },
      },
    ]);
    expect(alerts).toMatchObject([{ kind: 'consistency', subject: 'shop.account_balances', details: { mismatchedIds: ['acc-7'] } }]);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/tidemark_consistency_rate\{read_model="shop.account_balances"\} 0\.96/);
    expect(text).toContain('tidemark_consistency_mismatches{read_model="shop.account_balances"} 1');
    expect(text).toContain('tidemark_projection_events_behind{projection="shop.account_balances"} 0');
    expect(text).toMatch(/tidemark_replication_lag_seconds\{read_model="shop.order_list"\} \d/);
  });

  it("folds the sampled accounts from the accounts' snapshots when given their snapshot store", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tidemark-shop-monitoring-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const store = createSqliteEventStore({ file: join(dir, 'shop.db') });
    cleanups.push(() => store.close());
    const readModels = createShopReadModels({ store, checkpoints: createSqliteCheckpointStore() });
    await readModels.start();
    cleanups.push(() => readModels.stop());
    const sqliteSnapshots = createSqliteSnapshotStore({ store });
    const loaded: string[] = [];
    // The real snapshot store, recording which streams the check loads snapshots of.
    const snapshots: SnapshotStore = {
      ...sqliteSnapshots,
      load: (streamId, name, query) => {
        loaded.push(streamId);
        return sqliteSnapshots.load(streamId, name, query);
      },
    };
    for (let i = 0; i < 5; i++) {
      const accountId = `acc-${i}`;
      const streamId = bankAccountStreamId(accountId);
      await handleCommand(store, bankAccountDecider, streamId, {
        type: 'bank.account.open',
        data: { accountId, owner: `owner ${i}`, initialDeposit: 1000 },
      });
      for (let d = 1; d <= 3; d++) {
        await handleCommand(store, bankAccountDecider, streamId, { type: 'bank.account.deposit', data: { accountId, amount: d } });
      }
      const { state } = await loadAggregate(store, streamId, bankAccountDecider, { upToVersion: 2 });
      const [second] = await store.readStream(streamId, { from: 2, to: 2 });
      await takeSnapshot(bankAccountSnapshots(sqliteSnapshots), streamId, state, second as NonNullable<typeof second>);
    }
    expect(await readModels.waitForPosition(await store.headPosition(), 10_000)).toBe(true);

    const monitoring = createShopMonitoring({ store, readModels, metrics: createPrometheusMetrics(), onAlert: () => {}, snapshots });
    // The snapshot at version 2 plus the two deposits after it give what the read model holds.
    expect(await monitoring.accounts.check()).toMatchObject({ checked: 5, consistent: 5, rate: 1, mismatches: [] });
    expect(loaded.sort()).toEqual([0, 1, 2, 3, 4].map((i) => bankAccountStreamId(`acc-${i}`)));
  });

  it('stop waits for the round in flight, so that the store can close after it without a failure', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tidemark-shop-monitoring-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const store = createSqliteEventStore({ file: join(dir, 'shop.db') });
    const readModels = createShopReadModels({ store, checkpoints: createSqliteCheckpointStore() });
    await readModels.start();
    await handleCommand(store, bankAccountDecider, bankAccountStreamId('acc-1'), {
      type: 'bank.account.open',
      data: { accountId: 'acc-1', owner: 'owner', initialDeposit: 1000 },
    });
    const warnings: unknown[] = [];
    const warn = vi.spyOn(console, 'warn').mockImplementation((message) => void warnings.push(message));
    cleanups.push(() => warn.mockRestore());
    // The first round is a heavy one: the probe and the consistency check wait for the projectors.
    let rounds = 0;
    let finished = false;
    const monitoring = createShopMonitoring({ store, readModels, metrics: createPrometheusMetrics(), onAlert: () => {} });
    const measure = monitoring.lag.measure.bind(monitoring.lag);
    monitoring.lag.measure = async () => {
      rounds++;
      await new Promise((resolve) => setTimeout(resolve, 50));
      try {
        return await measure();
      } finally {
        finished = true;
      }
    };
    const stop = monitoring.start(1);
    await vi.waitFor(() => expect(rounds).toBe(1));
    const stopped = stop();
    await readModels.stop();
    await stopped;
    expect(finished).toBe(true);
    await store.close();
    expect(rounds).toBe(1);
    expect(warnings).toEqual([]);
  });
});
