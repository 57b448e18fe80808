import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type StateReportingChild, spawnStateReportingChild, waitFor } from '@tidemark/testing';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteEventStore, createSqliteOutbox } from '../src/index.js';

const fixture = fileURLToPath(new URL('./fixtures/relayFailoverChild.ts', import.meta.url));

describe('SQLite outbox relay failover across processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tidemark-relay-failover-'));
  const children: StateReportingChild[] = [];
  afterAll(() => {
    for (const child of children) child.process.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('one relay publishes at a time; when it is SIGKILLed the standby takes over and publishes the rest', async () => {
    const file = join(dir, 'store.db');
    const store = createSqliteEventStore({ file });
    const outbox = createSqliteOutbox();
    let added = 0;
    const add = async (n: number) => {
      for (let i = 0; i < n; i++, added++) {
        await store.transaction((tx) =>
          outbox.add(tx, [
            { id: `m-${added}`, type: 'shop.order.placed', schemaVersion: 1, key: `order-${added % 7}`, data: { n: added } },
          ]),
        );
      }
    };
    // Reads on a connection of their own: they never take the write lock the relays need.
    const reader = new Database(file, { readonly: true });
    const published = () => reader.prepare('SELECT count(*) FROM tidemark_outbox WHERE published_at IS NOT NULL').pluck().get() as number;

    await add(100);
    const active = spawnStateReportingChild(fixture, { FILE: file });
    children.push(active);
    await active.waitForState('running');
    const standby = spawnStateReportingChild(fixture, { FILE: file });
    children.push(standby);
    await standby.waitForState('standby');

    let adding = true;
    const writer = (async () => {
      while (adding) {
        await add(5);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    try {
      await waitFor(() => published() >= 100, 'the active relay to publish', 20_000);
      active.process.kill('SIGKILL');
      const atKill = published();
      await standby.waitForState('running', 20_000);
      await waitFor(() => published() > atKill + 50, 'the standby to publish', 20_000);
    } finally {
      adding = false;
      await writer;
    }
    await waitFor(() => published() === added, 'every row published', 20_000);
    expect(await store.transaction((tx) => outbox.stats(tx))).toMatchObject({ backlog: 0, retained: added });
    reader.close();
    await store.close();
  });
});
