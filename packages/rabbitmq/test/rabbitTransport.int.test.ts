import { randomUUID } from 'node:crypto';
import { type DeliveredMessage, ValidationError } from '@tidemark/core';
import { serviceAvailable, serviceUrls, waitFor } from '@tidemark/testing';
import { connect } from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { UnroutableMessageError } from '../src/index.js';
import { rabbitTestResources } from './rabbitTestResources.js';

const available = await serviceAvailable('rabbitmq');

describe.skipIf(!available)('RabbitMQ transport specifics', () => {
  const { open, cleanUp } = rabbitTestResources();
  afterAll(cleanUp);

  it('keeps what a publisher-only service sends for the groups it declared, until their consumers start', async () => {
    const prefix = `tidemark-test-${randomUUID()}`;
    const publisher = await open({ prefix, declareGroups: [{ group: 'mailer', types: ['shop.order.placed'] }] });
    const sent = { id: randomUUID(), type: 'shop.order.placed', schemaVersion: 1, key: 'order-1', data: { total: 5 } };
    await publisher.publish([sent]);
    const consumer = await open({ prefix });
    const seen: DeliveredMessage[] = [];
    await consumer.consume({ group: 'mailer', types: ['shop.order.placed'] }, async (m) => {
      seen.push(m);
    });
    await waitFor(() => seen.length === 1, 'the message published before the consumer started', 10_000);
    expect(seen[0]).toMatchObject({ id: sent.id, data: { total: 5 }, attempt: 1 });
  });

  it('a consumer whose queue was deleted under it declares it again and goes on consuming', async () => {
    const prefix = `tidemark-test-${randomUUID()}`;
    const transport = await open({ prefix });
    const seen: DeliveredMessage[] = [];
    await transport.consume({ group: 'resilient', types: ['a.happened'] }, async (m) => {
      seen.push(m);
    });
    const admin = await connect(serviceUrls.rabbitmq);
    // A check on a missing queue closes its channel (404), so each check gets its own.
    const queueExists = async (queue: string) => {
      const channel = await admin.createChannel();
      channel.on('error', () => {});
      const exists = await channel.checkQueue(queue).then(
        () => true,
        () => false,
      );
      if (exists) await channel.close();
      return exists;
    };
    try {
      const channel = await admin.createChannel();
      await channel.deleteQueue(`${prefix}.resilient`);
      await channel.close();
      await waitFor(() => queueExists(`${prefix}.resilient`), 'the queue to be declared again', 10_000);
    } finally {
      await admin.close();
    }
    const sent = { id: randomUUID(), type: 'a.happened', schemaVersion: 1, key: 'k', data: {} };
    await waitFor(
      async () => {
        // Until the queue is bound again the broker returns the publish (it is mandatory for a
        // type this transport consumes): refused loudly, not dropped, and sent again here.
        if (!seen.some((m) => m.id === sent.id)) {
          await transport.publish([sent]).catch((error: unknown) => {
            if (!(error instanceof UnroutableMessageError)) throw error;
          });
        }
        return seen.some((m) => m.id === sent.id);
      },
      'a message after the re-declaration',
      10_000,
    );
  });

  it('refuses to replay: a work queue keeps nothing once acknowledged', async () => {
    const transport = await open({ prefix: `tidemark-test-${randomUUID()}` });
    expect(transport.replayable).toBe(false);
    await expect(transport.consume({ group: 'g', types: ['a.b'], startFrom: { kind: 'all' } }, async () => {})).rejects.toBeInstanceOf(
      ValidationError,
    );
  });
});
