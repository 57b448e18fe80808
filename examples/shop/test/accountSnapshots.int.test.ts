import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createInMemoryEventStore,
  createInMemorySnapshotStore,
  type EventStore,
  type SnapshotStore,
  snapshotsSettled,
} from '@tidemark/core';
import { createSqliteEventStore, createSqliteSnapshotStore } from '@tidemark/sqlite';
import { createManualClock, waitFor } from '@tidemark/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { bankAccountStreamId } from '../src/bankAccounts/bankAccountCommands.js';
import { type ShopClient, startShopServer } from './support/shopClient.js';

const clock = () => createManualClock(new Date('2026-03-01T08:00:00.000Z'));
type Clock = ReturnType<typeof clock>;

// Snapshots and temporal history over HTTP, in memory and in a SQLite file.
const worlds: Array<[string, (clock: Clock) => { store: EventStore; snapshots: SnapshotStore; cleanup: () => void }]> = [
  ['in-memory', (c) => ({ store: createInMemoryEventStore({ clock: c }), snapshots: createInMemorySnapshotStore(), cleanup: () => {} })],
  [
    'sqlite file',
    (c) => {
      const dir = mkdtempSync(join(tmpdir(), 'shop-snapshots-'));
      const store = createSqliteEventStore({ file: join(dir, 'shop.db'), clock: c });
      return { store, snapshots: createSqliteSnapshotStore({ store }), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
    },
  ],
];

describe.each(worlds)('bank account snapshots and history on the %s store', (_name, makeWorld) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  async function shop() {
    const c = clock();
    const world = makeWorld(c);
    const server = await startShopServer(world.store, { snapshots: world.snapshots });
    cleanups.push(async () => {
      await server.close();
      await snapshotsSettled(world.snapshots);
      await world.store.close();
      world.cleanup();
    });
    return { ...world, clock: c, client: server.client };
  }

  /** Opens account `id` with 1,000 at 08:00, then one deposit of 1 per hour. */
  async function account(client: ShopClient, c: Clock, id: string, deposits: number) {
    expect((await client.post('/accounts', { accountId: id, owner: 'alice', initialDeposit: 1000 })).status).toBe(201);
    for (let i = 0; i < deposits; i++) {
      c.advance(3_600_000);
      expect((await client.post(`/accounts/${id}/deposits`, { amount: 1 })).status).toBe(200);
    }
  }

  it('snapshots an account every 100 events and answers past versions from them', async () => {
    const { client, clock: c, snapshots } = await shop();
    await account(client, c, 'a1', 149);
    await waitFor(
      async () => (await snapshots.load(bankAccountStreamId('a1'), 'state'))?.streamVersion === 100,
      'the snapshot at version 100',
    );
    expect((await client.get('/accounts/a1')).body).toMatchObject({ balance: 1149, version: 150 });
    expect((await client.get('/accounts/a1?version=120')).body).toMatchObject({ balance: 1119, version: 120 });
    expect((await client.get('/accounts/a1?version=100')).body).toMatchObject({ balance: 1099, version: 100 });
    // 08:00 + 130 h: the deposit of version 131 at the latest.
    const asOf = new Date(Date.parse('2026-03-01T08:00:00.000Z') + 130 * 3_600_000).toISOString();
    expect((await client.get(`/accounts/a1?asOf=${encodeURIComponent(asOf)}`)).body).toMatchObject({ balance: 1130, version: 131 });
  });

  it('answers "what was the balance at 10 AM, and what happened until 1 PM?"', async () => {
    const { client, clock: c } = await shop();
    await account(client, c, 'a2', 8);
    const reply = await client.get('/accounts/a2/history?from=2026-03-01T10:00:00.000Z&to=2026-03-01T13:00:00.000Z');
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.body.opening).toMatchObject({ balance: 1002, version: 3 });
    expect(
      reply.body.events.map((e: { version: number; recordedAt: string; balance: number }) => [e.version, e.recordedAt, e.balance]),
    ).toEqual([
      [4, '2026-03-01T11:00:00.000Z', 1003],
      [5, '2026-03-01T12:00:00.000Z', 1004],
      [6, '2026-03-01T13:00:00.000Z', 1005],
    ]);
    // Before the account was opened there is no opening state.
    const early = await client.get('/accounts/a2/history?from=2026-03-01T07:00:00.000Z&to=2026-03-01T08:30:00.000Z');
    expect(early.body.opening).toBeNull();
    expect(early.body.events.map((e: { version: number }) => e.version)).toEqual([1]);
  });

  it('refuses a malformed window (400) and an unknown account (404)', async () => {
    const { client } = await shop();
    expect((await client.get('/accounts/a3/history?from=yesterday')).status).toBe(400);
    const backwards = await client.get('/accounts/a3/history?from=2026-03-02T00:00:00.000Z&to=2026-03-01T00:00:00.000Z');
    expect(backwards.status).toBe(400);
    expect(backwards.body.error.code).toBe('validation');
    const unknown = await client.get('/accounts/nobody/history?from=2026-03-01T00:00:00.000Z');
    expect(unknown.status).toBe(404);
  });
});
