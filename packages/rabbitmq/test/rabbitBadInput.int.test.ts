import { randomUUID } from 'node:crypto';
import { type DeliveredMessage, type OutgoingMessage, PayloadTooLargeError, ValidationError } from '@tidemark/core';
import { serviceAvailable, serviceUrls, waitFor } from '@tidemark/testing';
import { connect } from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { createRabbitTransport } from '../src/index.js';
import { rabbitTestResources } from './rabbitTestResources.js';

const available = await serviceAvailable('rabbitmq');

describe.skipIf(!available)('RabbitMQ transport on bad input', () => {
  const { open, cleanUp } = rabbitTestResources();
  afterAll(cleanUp);
  const type = 'probe.thing.happened';
  const message = (key: string, data: unknown = {}): OutgoingMessage => ({ id: randomUUID(), type, schemaVersion: 1, key, data });

  it('refuses a batch holding a message over the broker’s size with a PayloadTooLargeError, publishing none of it', async () => {
    const transport = await open({ prefix: `probe_${randomUUID()}`, maxMessageBytes: 100_000 });
    const seen: DeliveredMessage[] = [];
    await transport.consume({ group: 'g', types: [type] }, async (m) => {
      seen.push(m);
    });
    const batch = [message('before'), message('big', 'x'.repeat(100_000)), message('after')];
    await expect(transport.publish(batch)).rejects.toBeInstanceOf(PayloadTooLargeError);
    await transport.publish([message('marker')]);
    await waitFor(() => seen.length > 0, 'the marker', 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seen.map((m) => m.key)).toEqual(['marker']);
  });

  it('refuses a reserved prefix and a size limit that is no size, before connecting', async () => {
    for (const options of [{ prefix: 'amq.topic' }, { prefix: 'amq.probe' }, { maxMessageBytes: 0 }, { maxMessageBytes: Number.NaN }]) {
      await expect(createRabbitTransport({ url: serviceUrls.rabbitmq, ...options }), JSON.stringify(options)).rejects.toBeInstanceOf(
        ValidationError,
      );
    }
  });

  it('refuses group names and limits deadLetters and waiting cannot use, as consume does', async () => {
    const transport = await open({ prefix: `probe_${randomUUID()}` });
    for (const group of ['*', '', 'a b', 'x'.repeat(300), 'x'.repeat(200)]) {
      await expect(transport.deadLetters(group), group.slice(0, 10)).rejects.toBeInstanceOf(ValidationError);
      await expect(transport.waiting(group), group.slice(0, 10)).rejects.toBeInstanceOf(ValidationError);
    }
    for (const limit of [Number.NaN, 0, -1]) {
      await expect(transport.deadLetters('g', { limit })).rejects.toBeInstanceOf(ValidationError);
    }
    expect(await transport.deadLetters('never-used')).toEqual([]);
  });

  it('dead-letters a foreign message whose dead letter would pass the broker’s size, whole, instead of cycling it for ever', async () => {
    const prefix = `probe_${randomUUID()}`;
    const transport = await open({ prefix });
    await transport.consume({ group: 'g', types: [type] }, async () => {});
    // 25 MB of control bytes is 150 MB as JSON text: past RabbitMQ's default 128 MiB.
    const body = Buffer.alloc(25_000_000, 1);
    const model = await connect(serviceUrls.rabbitmq);
    const channel = await model.createConfirmChannel();
    channel.publish(prefix, type, body, { messageId: 'foreign' });
    await channel.waitForConfirms();
    await model.close();
    await waitFor(async () => (await transport.deadLetters('g')).length === 1, 'the dead letter', 20_000);
    const [letter] = await transport.deadLetters('g');
    expect(letter).toMatchObject({ group: 'g', error: 'message body is not JSON', message: { id: 'foreign' } });
    expect(Buffer.from(letter!.message.data as string).equals(body)).toBe(true);
    // The publisher channel was not closed under the transport's own publishes.
    await transport.publish([message('after')]);
  }, 60_000);
});
