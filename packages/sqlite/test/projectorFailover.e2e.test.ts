import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type StateReportingChild, spawnStateReportingChild, waitFor } from '@tidemark/testing';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteEventStore } from '../src/index.js';

const fixture = fileURLToPath(new URL('./fixtures/projectorFailoverChild.ts', import.meta.url));

describe('SQLite projector failover across processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tidemark-failover-'));
  const children: StateReportingChild[] = [];
  afterAll(() => {
    for (const child of children) child.process.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('a standby takes over from the checkpoint when the active process is SIGKILLed; no event is applied twice', async () => {
    const file = join(dir, 'store.db');
    const suffix = randomBytes(4).toString('hex');
    const env = { FILE: file, TABLE: `balances_${suffix}` };
    const store = createSqliteEventStore({ file });
    let appended = 0;
    const append = async (n: number) => {
      for (let i = 0; i < n; i++, appended++) {
        await store.appendToStream(`account-${appended % 13}`, [{ type: 'account.deposited', data: { amount: (appended % 97) + 1 } }]);
      }
    };
    await append(200);
    // Reads on a connection of their own: they never take the write lock the projectors need.
    const reader = new Database(file, { readonly: true });
    const checkpoint = async () => {
      try {
        const row = reader.prepare(`SELECT position FROM tidemark_checkpoints WHERE name = 'balances'`).get() as
          | { position: number }
          | undefined;
        return BigInt(row?.position ?? 0);
      } catch {
        return 0n; // the table does not exist until the first projector has set up
      }
    };

    const active = spawnStateReportingChild(fixture, env);
    children.push(active);
    await active.waitForState('running');
    const standby = spawnStateReportingChild(fixture, env);
    children.push(standby);
    await standby.waitForState('standby');

    // Keep commands arriving throughout (about 500/s, paced so the writer does not starve the
    // projectors of SQLite's single write lock), so the kill lands while there is work in flight.
    let appending = true;
    const writer = (async () => {
      while (appending) {
        await append(5);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    try {
      await waitFor(async () => (await checkpoint()) >= 300n, 'the active projector to make progress', 20_000);
      active.process.kill('SIGKILL');
      const atKill = await checkpoint();
      await standby.waitForState('running');
      await waitFor(async () => (await checkpoint()) > atKill + 100n, 'the standby to make progress', 20_000);
    } finally {
      appending = false;
      await writer;
    }
    const head = await store.headPosition();
    await waitFor(async () => (await checkpoint()) === head, 'the standby to catch up', 20_000);

    // The read model equals a rebuild from the log, and every event was applied exactly once.
    const expected = new Map<string, { balance: number; applied: number }>();
    for await (const event of store.readAll()) {
      const row = expected.get(event.streamId) ?? { balance: 0, applied: 0 };
      expected.set(event.streamId, { balance: row.balance + (event.data as { amount: number }).amount, applied: row.applied + 1 });
    }
    const rows = reader.prepare(`SELECT id, balance, applied FROM ${env.TABLE} ORDER BY id`).all() as Array<{
      id: string;
      balance: number;
      applied: number;
    }>;
    reader.close();
    const actual = new Map(rows.map((row) => [row.id, { balance: Number(row.balance), applied: Number(row.applied) }]));
    expect(actual).toEqual(expected);
    expect(BigInt(appended)).toBe(head);
    standby.process.kill('SIGTERM');
    await store.close();
  });
});
