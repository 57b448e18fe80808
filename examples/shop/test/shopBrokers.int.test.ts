import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { DeliveredMessage } from '@tidemark/core';
import { createNatsTransport } from '@tidemark/nats';
import { deleteRabbitTopology } from '@tidemark/rabbitmq';
import { serviceAvailable, serviceUrls, waitFor } from '@tidemark/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createShop, ShopStartError } from '../src/createShop.js';
import { mailerName } from '../src/messaging/fakeMailer.js';
import { startShop } from './support/startShop.js';

const nats = await serviceAvailable('nats');
const rabbitmq = await serviceAvailable('rabbitmq');

const dirs: string[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const dataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'shop-brokers-'));
  dirs.push(dir);
  return dir;
};
/** Names on the shared brokers are this test's own. */
const uniquePrefix = () => `shop_${randomBytes(5).toString('hex')}`;

describe.skipIf(!nats)('the shop with NATS_URL', () => {
  it('publishes the public integration messages to its JetStream stream', async () => {
    const prefix = uniquePrefix();
    const stream = prefix.toUpperCase();
    cleanups.push(async () => {
      const nc = await connect({ servers: serviceUrls.nats });
      const jsm = await jetstreamManager(nc);
      for (const name of [stream, `${stream}_DLQ`]) await jsm.streams.delete(name).catch(() => false);
      await nc.close();
    });
    const running = await startShop({ config: { dataDir: dataDir(), natsUrl: serviceUrls.nats, messagingPrefix: prefix } });
    cleanups.push(() => running.shop.close());
    const opened = await running.client.post('/accounts', { owner: 'Nia', initialDeposit: 300 });
    expect(opened.status).toBe(201);

    // A partner service reading the stream from its start.
    const partner = await createNatsTransport({ servers: serviceUrls.nats, stream, subjectPrefix: prefix });
    const received: DeliveredMessage[] = [];
    const consumer = await partner.consume(
      { group: 'partner', types: ['shop.account.opened'], startFrom: { kind: 'all' } },
      async (message) => void received.push(message),
    );
    cleanups.push(async () => {
      await consumer.stop();
      await partner.close();
    });
    await waitFor(() => received.length === 1, 'the account-opened message on JetStream', 15_000);
    expect(received[0]).toMatchObject({
      type: 'shop.account.opened',
      key: `account-${opened.body.accountId}`,
      data: { accountId: opened.body.accountId, owner: 'Nia' },
    });
    const projections = (await running.client.get('/projections')).body;
    expect(projections.relays).toEqual([expect.objectContaining({ name: 'shop.integration', state: 'running' })]);
  });

  it('refuses to start, naming NATS_URL, when the broker cannot be reached', async () => {
    const error = await createShop({ config: { dataDir: dataDir(), natsUrl: 'nats://127.0.0.1:1' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShopStartError);
    expect((error as ShopStartError).setting).toBe('NATS_URL');
  });
});

describe.skipIf(!rabbitmq)('the shop with RABBITMQ_URL', () => {
  it('sends the mails through a RabbitMQ work queue, once each, across a restart', async () => {
    const prefix = uniquePrefix();
    cleanups.push(() =>
      deleteRabbitTopology(serviceUrls.rabbitmq, {
        exchanges: [prefix],
        queues: [`${prefix}.${mailerName}`, `${prefix}.${mailerName}.dead`],
      }),
    );
    const dir = dataDir();
    const config = { dataDir: dir, rabbitmqUrl: serviceUrls.rabbitmq, messagingPrefix: prefix };
    const first = await startShop({ config });
    const opened = await first.client.post('/accounts', { owner: 'Rai', initialDeposit: 100 });
    expect(opened.status).toBe(201);
    await waitFor(async () => (await first.client.get('/mailbox/Rai')).body.mails.length === 1, 'the mail for Rai', 15_000);
    const projections = (await first.client.get('/projections')).body;
    // No in-process log consumer: the mailer reads the queue, and the relay feeds it.
    expect(projections.consumers).toEqual([]);
    expect(projections.relays).toEqual([expect.objectContaining({ name: 'shop.notifications', state: 'running' })]);
    await first.shop.close();

    const second = await startShop({ config });
    cleanups.push(() => second.shop.close());
    await second.client.post('/accounts', { owner: 'Sol', initialDeposit: 1 });
    await waitFor(async () => (await second.client.get('/mailbox/Sol')).body.mails.length === 1, 'the mail for Sol', 15_000);
    // The restarted relay and consumer sent nothing twice.
    expect((await second.client.get('/mailbox/Rai')).body.mails).toHaveLength(1);
    // The mailer's queue backlog is on /metrics, measured at the scrape: nothing waits now.
    const metrics = await fetch(`${second.url}/metrics`).then((response) => response.text());
    expect(metrics).toContain(`tidemark_consumer_waiting_messages{group="${mailerName}",transport="rabbitmq"} 0`);
  });
});
