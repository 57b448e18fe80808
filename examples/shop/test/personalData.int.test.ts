import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventStore, Projection } from '@tidemark/core';
import { rebuildProjection, redactedMarker } from '@tidemark/core';
import { createSqliteCheckpointStore, createSqliteTableSwap, type SqliteTransaction } from '@tidemark/sqlite';
import { serviceAvailable, serviceUrls, waitFor } from '@tidemark/testing';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { accountBalanceProjection } from '../src/readModels/accountBalanceProjection.js';
import { startShop } from './support/startShop.js';

const redis = await serviceAvailable('redis');

const owner = 'Philippa Quenneville-Haraldsen';
const email = 'philippa.qh@example.net';

describe('personal data in the shop (SQLite file)', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const started = async (redisPrefix?: string) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'shop-privacy-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const running = await startShop({
      config: { dataDir, ...(redisPrefix && { redisUrl: serviceUrls.redis }) },
      ...(redisPrefix && { redisPrefix }),
    });
    cleanups.push(() => running.shop.close());
    return { ...running, file: join(dataDir, 'shop.db') };
  };

  it('forgets a customer: read models and mails redacted, idempotent, 404 for a stranger', async () => {
    const { client, shop } = await started();
    const opened = await client.post('/accounts', { customerId: 'cust-1', owner, email, initialDeposit: 100 });
    expect(opened.status).toBe(201);
    expect(opened.body).toMatchObject({ customerId: 'cust-1', owner, email });
    const other = await client.post('/accounts', { customerId: 'cust-2', owner: 'Other Person', initialDeposit: 5 });
    // A subject's first event inside a transaction (Idempotency-Key) works too: its key is made before.
    const keyed = await client.post('/accounts', { customerId: 'cust-3', owner: 'Keyed', initialDeposit: 1 }, { 'idempotency-key': 'k-1' });
    expect(keyed.status).toBe(201);
    const accountId = opened.body.accountId as string;
    const balance = await client.get(`/accounts/${accountId}/balance?minPosition=${opened.body.position}`);
    expect(balance.body.owner ?? balance.body.view?.owner).toBe(owner);

    const forgotten = await client.delete('/customers/cust-1/personal-data');
    expect(forgotten.status).toBe(200);
    expect(forgotten.body).toMatchObject({
      customerId: 'cust-1',
      status: 'deleted',
      erased: { fields: ['owner', 'email'], accountIds: [accountId], streamIds: [`account-${accountId}`] },
      readModelsUpToDate: true,
    });
    const after = await client.get(`/accounts/${accountId}/balance`);
    expect(JSON.stringify(after.body)).not.toContain(owner);
    expect(JSON.stringify(after.body)).toContain(redactedMarker);
    // The welcome mails keep their existence, not the name.
    const mails = await shop.store.queries.query('SELECT recipient, body FROM shop_mailbox ORDER BY sent_at, message_id');
    expect(mails).toHaveLength(3);
    expect(JSON.stringify(mails)).not.toContain(owner);
    expect(mails.filter((mail) => mail.recipient === redactedMarker && mail.body === redactedMarker)).toHaveLength(1);
    expect(mails.filter((mail) => mail.recipient === 'Other Person')).toHaveLength(1);
    const otherBalance = await client.get(`/accounts/${other.body.accountId}/balance`);
    expect(JSON.stringify(otherBalance.body)).toContain('Other Person');

    const again = await client.delete('/customers/cust-1/personal-data');
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ customerId: 'cust-1', status: 'already_forgotten', erased: { accountIds: [accountId] } });
    const stranger = await client.delete('/customers/nobody/personal-data');
    expect(stranger.status).toBe(404);
    expect(stranger.body.error).toMatchObject({ code: 'not_found', details: { customerId: 'nobody' } });
  });

  it('makes a customer key only for an open that goes through: a refused or replayed one leaves none', async () => {
    const { client, shop } = await started();
    const keys = async () =>
      (await shop.store.queries.query<{ subject_id: string }>('SELECT subject_id FROM tidemark_subject_keys ORDER BY subject_id')).map(
        (row) => row.subject_id,
      );
    expect((await client.post('/accounts', { accountId: 'a1', owner, initialDeposit: 1 })).status).toBe(201);
    // Refused by the decider (already open), by If-Match, and by a reused Idempotency-Key.
    const refused = await client.post('/accounts', { accountId: 'a1', customerId: 'ghost-1', owner, initialDeposit: 1 });
    expect(refused.status).toBe(422);
    const conflict = await client.post(
      '/accounts',
      { accountId: 'a2', customerId: 'ghost-2', owner, initialDeposit: 1 },
      { 'if-match': '"5"' },
    );
    expect(conflict.status).toBe(409);
    const first = await client.post('/accounts', { customerId: 'cust-k', owner, initialDeposit: 1 }, { 'idempotency-key': 'open-k' });
    expect(first.status).toBe(201);
    const reused = await client.post('/accounts', { customerId: 'ghost-3', owner, initialDeposit: 2 }, { 'idempotency-key': 'open-k' });
    expect(reused.status).toBe(422);
    // Replays answer from the stored result: no new account, no new key.
    const replays = await Promise.all(
      Array.from({ length: 5 }, () =>
        client.post('/accounts', { customerId: 'cust-k', owner, initialDeposit: 1 }, { 'idempotency-key': 'open-k' }),
      ),
    );
    expect(replays.map((replay) => replay.body.accountId)).toEqual(Array(5).fill(first.body.accountId));
    expect(await keys()).toEqual(['a1', 'cust-k']);
    expect((await client.delete('/customers/ghost-1/personal-data')).status).toBe(404);
    // The erasure takes no body: one is a 400, and nothing is forgotten.
    expect((await client.request('DELETE', '/customers/cust-k/personal-data', { json: { all: true } })).status).toBe(400);
    expect(await keys()).toEqual(['a1', 'cust-k']);
  });

  it.each([
    [{ owner: 'A', initialDeposit: 1, email: 'not-an-address' }, 'email'],
    [{ owner: 'A', initialDeposit: 1, customerId: 'bad id' }, 'customerId'],
  ])('refuses %j with a 400 naming %s, opening nothing', async (body, field) => {
    const { client } = await started();
    const refused = await client.post('/accounts', body);
    expect(refused.status).toBe(400);
    expect(refused.body.error.details.issues[0].path).toBe(field);
    expect((await client.get('/health')).body.headPosition).toBe('0');
    expect((await client.request('DELETE', '/customers/bad%20id/personal-data')).status).toBe(400);
  });

  it.skipIf(!redis)('drops the forgotten owner from the Redis account cache', async () => {
    const prefix = `test:${randomBytes(5).toString('hex')}:`;
    const client = new Redis(serviceUrls.redis);
    cleanups.push(async () => {
      const keys = await client.keys(`${prefix}*`);
      if (keys.length > 0) await client.del(...keys);
      client.disconnect();
    });
    const { client: api, shop } = await started(prefix);
    const opened = await api.post('/accounts', { accountId: 'r1', customerId: 'cust-r', owner, initialDeposit: 500 });
    expect((await api.get(`/accounts/r1/balance?minPosition=${opened.body.position}`)).body).toMatchObject({ owner });
    const hits = shop.accountCache!.stats().hits;
    expect((await api.get('/accounts/r1/balance')).body).toMatchObject({ owner });
    expect(shop.accountCache!.stats().hits).toBe(hits + 1);
    const cached = async () => {
      const keys = await client.keys(`${prefix}*`);
      return (await Promise.all(keys.map(async (key) => ((await client.type(key)) === 'string' ? client.get(key) : '')))).join('\n');
    };
    expect(await cached()).toContain(owner);

    expect((await api.delete('/customers/cust-r/personal-data')).body).toMatchObject({ status: 'deleted', readModelsUpToDate: true });
    // The balance projector's batch dropped the entry after its commit; the next read refills it redacted.
    expect((await api.get('/accounts/r1/balance')).body).toMatchObject({ owner: redactedMarker });
    expect(await cached()).not.toContain(owner);
  });

  it('keeps no plaintext in the answers stored for Idempotency-Keys: a replay after forgetting is redacted', async () => {
    const { client, file } = await started();
    const open = () =>
      client.post('/accounts', { customerId: 'cust-7', owner, email, initialDeposit: 100 }, { 'idempotency-key': 'open-7' });
    const opened = await open();
    expect(opened.status, JSON.stringify(opened.body)).toBe(201);
    expect(opened.body).toMatchObject({ owner, email });
    const accountId = opened.body.accountId as string;
    const deposit = () => client.post(`/accounts/${accountId}/deposits`, { amount: 5 }, { 'idempotency-key': 'dep-7' });
    const deposited = await deposit();
    expect(deposited.body).toMatchObject({ owner, email, balance: 105 });
    // Before forgetting, a replay is the first answer.
    expect((await deposit()).body).toEqual(deposited.body);

    expect((await client.delete('/customers/cust-7/personal-data')).body).toMatchObject({ status: 'deleted' });
    // A replay answered the name and e-mail stored with the key, a day after they were forgotten.
    const replayedOpen = await open();
    expect(replayedOpen.status).toBe(201);
    expect(replayedOpen.body).toEqual({ ...opened.body, owner: redactedMarker, email: redactedMarker });
    expect(Object.keys(replayedOpen.body)).toEqual(Object.keys(opened.body));
    const replayedDeposit = await deposit();
    expect(replayedDeposit.body).toEqual({ ...deposited.body, owner: redactedMarker, email: redactedMarker });
    const bytes = () =>
      Buffer.concat([file, `${file}-wal`, `${file}-shm`].filter((path) => existsSync(path)).map((path) => readFileSync(path)));
    await waitFor(() => !bytes().includes(owner) && !bytes().includes(email), 'no plaintext on disk', 10_000);
  });

  it('leaves no plaintext of a forgotten customer in the events, the API, a rebuild or the SQLite file', async () => {
    const { client, file, shop } = await started();
    const opened = await client.post('/accounts', { customerId: 'cust-9', owner, email, initialDeposit: 100 });
    const accountId = opened.body.accountId as string;
    expect((await client.get(`/accounts/${accountId}`)).body).toMatchObject({ owner, email });
    const bytes = () =>
      Buffer.concat([file, `${file}-wal`, `${file}-shm`].filter((path) => existsSync(path)).map((path) => readFileSync(path)));
    // The read model and the mail hold the name in clear until the customer is forgotten: the search can find it.
    await client.get(`/accounts/${accountId}/balance?minPosition=${opened.body.position}`);
    expect(bytes().includes(owner)).toBe(true);

    expect((await client.delete('/customers/cust-9/personal-data')).body).toMatchObject({ status: 'deleted', readModelsUpToDate: true });
    expect((await client.get(`/accounts/${accountId}`)).body).toMatchObject({ owner: redactedMarker, email: redactedMarker });
    const history = (await client.get(`/accounts/${accountId}/history`)).body.events;
    expect(history[0].data).toMatchObject({ customerId: 'cust-9', owner: redactedMarker, email: redactedMarker });
    const onDisk = bytes();
    expect(onDisk.includes(owner)).toBe(false);
    expect(onDisk.includes(email)).toBe(false);

    // A rebuild afterwards replays the redacted events: it brings no plaintext back.
    await rebuildProjection({
      store: shop.store as unknown as EventStore<SqliteTransaction>,
      projection: accountBalanceProjection as Projection<SqliteTransaction>,
      checkpoints: createSqliteCheckpointStore(),
      swap: createSqliteTableSwap(),
    });
    expect((await client.get(`/accounts/${accountId}/balance`)).body).toMatchObject({ owner: redactedMarker, balance: 100 });
    // The store truncates its WAL once writes go quiet.
    await waitFor(() => !bytes().includes(owner) && !bytes().includes(email), 'no plaintext on disk after the rebuild', 10_000);
  });
});
