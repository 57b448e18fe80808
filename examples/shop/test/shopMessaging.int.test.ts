import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInMemoryTransport, type DeliveredMessage } from '@tidemark/core';
import { waitFor } from '@tidemark/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { startShop } from './support/startShop.js';

const dirs: string[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const dataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'shop-messaging-'));
  dirs.push(dir);
  return dir;
};

describe('shop messaging (SQLite, the embedded default)', () => {
  it('mails "account opened" and "order placed" once each, through the durable consumer, across a restart', async () => {
    const dir = dataDir();
    const first = await startShop({ config: { dataDir: dir } });
    const opened = await first.client.post('/accounts', { owner: 'Ada', initialDeposit: 500 });
    expect(opened.status).toBe(201);
    const order = await first.client.post('/orders', { customerId: 'Ada' });
    await first.client.post(`/orders/${order.body.orderId}/items`, { sku: 'sku-1', quantity: 2, unitPrice: 150 });
    const placed = await first.client.post(`/orders/${order.body.orderId}/place`);
    expect(placed.status).toBe(200);
    await waitFor(async () => (await first.client.get('/mailbox/Ada')).body.mails.length === 2, 'two mails for Ada', 15_000);
    const mails = (await first.client.get('/mailbox/Ada')).body.mails as Array<{ messageType: string; subject: string }>;
    expect(mails.map((m) => m.messageType).sort()).toEqual(['shop.account.opened', 'shop.order.placed']);
    expect(mails.find((m) => m.messageType === 'shop.order.placed')?.subject).toBe(`Order ${order.body.orderId} placed`);
    await first.shop.close();

    // A new process on the same file resumes from the mailer's checkpoint: nothing is sent again.
    const second = await startShop({ config: { dataDir: dir } });
    cleanups.push(() => second.shop.close());
    await second.client.post('/accounts', { owner: 'Bea', initialDeposit: 1 });
    await waitFor(async () => (await second.client.get('/mailbox/Bea')).body.mails.length === 1, 'the mail for Bea', 15_000);
    expect((await second.client.get('/mailbox/Ada')).body.mails).toHaveLength(2);
    // The consumer's lag is on /metrics beside the read models'.
    const metrics = await fetch(`${second.url}/metrics`).then((response) => response.text());
    expect(metrics).toMatch(/projection="shop\.mailer"/);
    // And on /projections, as a consumer beside the read models.
    const projections = (await second.client.get('/projections')).body;
    expect(projections.consumers).toEqual([expect.objectContaining({ name: 'shop.mailer', state: 'running' })]);
  });

  it('publishes the public integration messages to a transport through the relay, with its backlog on /metrics', async () => {
    const transport = createInMemoryTransport();
    const received: DeliveredMessage[] = [];
    const consumer = await transport.consume(
      { group: 'partner', types: ['shop.account.opened', 'shop.order.placed'], startFrom: { kind: 'all' } },
      async (message) => void received.push(message),
    );
    const running = await startShop({ config: { dataDir: dataDir() }, transport });
    cleanups.push(async () => {
      await running.shop.close();
      await consumer.stop();
      await transport.close();
    });
    const opened = await running.client.post('/accounts', { owner: 'Cy', initialDeposit: 700 });
    await running.client.post(`/accounts/${opened.body.accountId}/deposits`, { amount: 5 });
    await waitFor(() => received.length === 1, 'the account-opened message', 15_000);
    const [message] = received as [DeliveredMessage];
    // The public shape: renamed type, no initial deposit; the id is the event's, the key its stream.
    expect(message).toMatchObject({
      type: 'shop.account.opened',
      schemaVersion: 1,
      data: { accountId: opened.body.accountId, owner: 'Cy' },
    });
    expect(message.data).not.toHaveProperty('initialDeposit');
    expect(message.key).toBe(`account-${opened.body.accountId}`);
    await running.shop.relay?.sample();
    const metrics = await fetch(`${running.url}/metrics`).then((response) => response.text());
    expect(metrics).toMatch(/tidemark_outbox_backlog_messages\{relay="shop\.integration",transport="in-memory"\} 0/);
    expect(metrics).toMatch(/tidemark_outbox_published_messages_total\{relay="shop\.integration",transport="in-memory"\} 1/);
    const projections = (await running.client.get('/projections')).body;
    expect(projections.relays).toEqual([expect.objectContaining({ name: 'shop.integration', state: 'running', published: 1, backlog: 0 })]);
  });
});
