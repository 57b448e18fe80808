import { randomUUID } from 'node:crypto';
import { type DeliveredMessage, RejectMessageError } from '@tidemark/core';
import { serviceAvailable, serviceUrls, waitFor } from '@tidemark/testing';
import { connect } from 'amqplib';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { RabbitTopology, UnroutableMessageError } from '../src/index.js';
import { rabbitTestResources } from './rabbitTestResources.js';

const available = await serviceAvailable('rabbitmq');

/** Deletes a queue as an operator would, from outside the transport. */
async function deleteQueue(queue: string): Promise<void> {
  const model = await connect(serviceUrls.rabbitmq);
  try {
    const channel = await model.createChannel();
    await channel.deleteQueue(queue);
    await channel.close();
  } finally {
    await model.close();
  }
}

async function queueExists(queue: string): Promise<boolean> {
  const model = await connect(serviceUrls.rabbitmq);
  try {
    // A check on a missing queue closes its channel (404).
    const channel = await model.createChannel();
    channel.on('error', () => {});
    return await channel.checkQueue(queue).then(
      () => true,
      () => false,
    );
  } finally {
    await model.close();
  }
}

const message = (type: string, key = 'k') => ({ id: randomUUID(), type, schemaVersion: 1, key, data: {} });

/** Where a message must land and its queue is gone, the broker's confirm alone must not count as delivered. */
describe.skipIf(!available)('RabbitMQ transport when a queue it relies on was deleted', () => {
  const { open, cleanUp } = rabbitTestResources();
  afterAll(cleanUp);

  it('rejects a publish of a declared group’s type whose queue stays gone (deleted again after the one re-declaration), naming the routing key; a type no group consumes is still dropped quietly', async () => {
    const prefix = `tidemark-test-${randomUUID()}`;
    const publisher = await open({ prefix, declareGroups: [{ group: 'mailer', types: ['a.happened'] }] });
    await publisher.publish([message('a.happened')]);
    await deleteQueue(`${prefix}.mailer`);
    // The transport declares the queue again once and sends once more: an operator deleting it
    // again in between leaves the message returned, and the publish fails.
    const redeclare = RabbitTopology.prototype.redeclare;
    const spy = vi.spyOn(RabbitTopology.prototype, 'redeclare').mockImplementation(async function (this: RabbitTopology, channel) {
      await redeclare.call(this, channel);
      await deleteQueue(`${prefix}.mailer`);
    });
    try {
      const publishing = publisher.publish([message('a.happened')]);
      await expect(publishing).rejects.toBeInstanceOf(UnroutableMessageError);
      await expect(publishing).rejects.toThrow("routing key 'a.happened'");
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
    // A work queue keeps a type only for the groups bound to it: with none, dropping it is the design.
    await expect(publisher.publish([message('nobody.listens')])).resolves.toBeUndefined();
  });

  it('does not ack a failed message whose retry copy the broker returned (retry queue deleted): it comes back, and the next retry declares the queue again', async () => {
    const prefix = `tidemark-test-${randomUUID()}`;
    const transport = await open({ prefix });
    const seen: DeliveredMessage[] = [];
    await transport.consume({ group: 'g', types: ['a.happened'], retryDelayMs: () => 50 }, async (delivered) => {
      seen.push(delivered);
      if (delivered.attempt === 1) throw new Error('fails once');
    });
    const warmUp = message('a.happened');
    await transport.publish([warmUp]);
    await waitFor(() => seen.some((m) => m.id === warmUp.id && m.attempt === 2), 'the first retry, which declares the retry queue', 10_000);
    await deleteQueue(`${prefix}.g.retry.50`);
    const sent = message('a.happened');
    await transport.publish([sent]);
    await waitFor(() => seen.some((m) => m.id === sent.id && m.attempt === 2), 'the message, back after its copy was returned', 10_000);
    const after = message('a.happened');
    await transport.publish([after]);
    await waitFor(() => seen.some((m) => m.id === after.id && m.attempt === 2), 'a later retry', 10_000);
    expect(await queueExists(`${prefix}.g.retry.50`)).toBe(true);
    expect(await transport.deadLetters('g')).toEqual([]);
  });

  it('does not ack a rejected message whose dead letter the broker returned (dead queue deleted): it is dead-lettered on its next delivery', async () => {
    const prefix = `tidemark-test-${randomUUID()}`;
    const transport = await open({ prefix });
    const seen: DeliveredMessage[] = [];
    await transport.consume({ group: 'g', types: ['a.happened'] }, async (delivered) => {
      seen.push(delivered);
      throw new RejectMessageError('poison');
    });
    await deleteQueue(`${prefix}.g.dead`);
    const poison = message('a.happened');
    await transport.publish([poison]);
    await waitFor(async () => (await transport.deadLetters('g')).length === 1, 'the dead letter', 10_000);
    const [dead] = await transport.deadLetters('g');
    expect(dead).toMatchObject({ group: 'g', error: 'poison', message: { id: poison.id } });
    expect(seen.filter((m) => m.id === poison.id).length).toBeGreaterThanOrEqual(2);
  });
});
