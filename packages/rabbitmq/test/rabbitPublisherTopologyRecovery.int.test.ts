import { randomUUID } from 'node:crypto';
import { type DeliveredMessage, TidemarkError } from '@tidemark/core';
import { serviceAvailable, serviceUrls, waitFor } from '@tidemark/testing';
import { type Channel, connect } from 'amqplib';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ExchangeNotFoundError, RabbitTopology } from '../src/index.js';
import { rabbitTestResources } from './rabbitTestResources.js';

const available = await serviceAvailable('rabbitmq');

/** Runs `work` on a channel of a short-lived connection of its own, as an operator's tool would. */
async function asOperator<T>(work: (channel: Channel) => Promise<T>): Promise<T> {
  const model = await connect(serviceUrls.rabbitmq);
  try {
    const channel = await model.createChannel();
    channel.on('error', () => {});
    return await work(channel);
  } finally {
    await model.close().catch(() => {});
  }
}

/** The ids of the messages a queue holds, taken off it (the queue is left empty). */
async function drain(queue: string): Promise<string[]> {
  return asOperator(async (channel) => {
    const ids: string[] = [];
    for (;;) {
      const msg = await channel.get(queue, { noAck: true });
      if (!msg) return ids;
      ids.push(String(msg.properties.messageId));
    }
  });
}

async function exchangeExists(exchange: string): Promise<boolean> {
  // A check on a missing exchange closes its channel (404).
  return asOperator((channel) =>
    channel.checkExchange(exchange).then(
      () => true,
      () => false,
    ),
  );
}

const message = (type: string) => ({ id: randomUUID(), type, schemaVersion: 1, key: randomUUID(), data: {} });

/**
 * A service that only publishes (an outbox relay) must not need a restart after an operator
 * deleted what its transport declared: the publish declares it again and is sent once more —
 * confirmed by the broker before it resolves, and without sending again what was confirmed.
 */
describe.skipIf(!available)('RabbitMQ publisher when an operator deleted the topology it declared', () => {
  const { open, cleanUp } = rabbitTestResources();
  afterAll(cleanUp);

  it('declares a deleted group queue again and publishes into it, every publish after as well', async () => {
    const prefix = `tidemark-test-${randomUUID()}`;
    const publisher = await open({ prefix, declareGroups: [{ group: 'mailer', types: ['a.happened'] }] });
    await publisher.publish([message('a.happened')]);
    await asOperator((channel) => channel.deleteQueue(`${prefix}.mailer`));
    const first = message('a.happened');
    await publisher.publish([first]);
    const second = message('a.happened');
    await publisher.publish([second]);
    expect(await drain(`${prefix}.mailer`)).toEqual([first.id, second.id]);
  });

  it('binds again a group queue whose binding was removed', async () => {
    const prefix = `tidemark-test-${randomUUID()}`;
    const publisher = await open({ prefix, declareGroups: [{ group: 'mailer', types: ['a.happened'] }] });
    await asOperator((channel) => channel.unbindQueue(`${prefix}.mailer`, prefix, 'a.happened'));
    const sent = message('a.happened');
    await publisher.publish([sent]);
    expect(await drain(`${prefix}.mailer`)).toEqual([sent.id]);
  });

  it('declares a deleted exchange again with its bindings; what was confirmed before is not sent again', async () => {
    const prefix = `tidemark-test-${randomUUID()}`;
    const publisher = await open({ prefix, declareGroups: [{ group: 'mailer', types: ['a.happened'] }] });
    const before = message('a.happened');
    await publisher.publish([before]);
    // The queue survives the exchange, and keeps `before`; the exchange's bindings are gone with it.
    await asOperator((channel) => channel.deleteExchange(prefix));
    const batch = [message('a.happened'), message('a.happened'), message('a.happened')];
    await publisher.publish(batch);
    const after = message('a.happened');
    await publisher.publish([after]);
    expect(await drain(`${prefix}.mailer`)).toEqual([before.id, ...batch.map((m) => m.id), after.id]);
  });

  it('declares a deleted exchange again for a transport with no group (what it publishes is dropped, by design)', async () => {
    const prefix = `tidemark-test-${randomUUID()}`;
    const publisher = await open({ prefix });
    await publisher.publish([message('nobody.listens')]);
    await asOperator((channel) => channel.deleteExchange(prefix));
    await expect(publisher.publish([message('nobody.listens')])).resolves.toBeUndefined();
    expect(await exchangeExists(prefix)).toBe(true);
  });

  it('in a batch where one group’s queue was deleted, sends again only the returned messages: each lands once', async () => {
    const prefix = `tidemark-test-${randomUUID()}`;
    const publisher = await open({
      prefix,
      declareGroups: [
        { group: 'a', types: ['a.happened'] },
        { group: 'b', types: ['b.happened'] },
      ],
    });
    await asOperator((channel) => channel.deleteQueue(`${prefix}.a`));
    const batch = [message('a.happened'), message('b.happened'), message('a.happened'), message('b.happened')];
    await publisher.publish(batch);
    expect(await drain(`${prefix}.a`)).toEqual(batch.filter((m) => m.type === 'a.happened').map((m) => m.id));
    expect(await drain(`${prefix}.b`)).toEqual(batch.filter((m) => m.type === 'b.happened').map((m) => m.id));
  });

  it('recovers concurrent publishes that all hit the deleted exchange, each message once', async () => {
    const prefix = `tidemark-test-${randomUUID()}`;
    const publisher = await open({ prefix, declareGroups: [{ group: 'mailer', types: ['a.happened'] }] });
    await asOperator((channel) => channel.deleteExchange(prefix));
    const batches = Array.from({ length: 5 }, () => [message('a.happened'), message('a.happened')]);
    await Promise.all(batches.map((batch) => publisher.publish(batch)));
    const landed = await drain(`${prefix}.mailer`);
    expect([...landed].sort()).toEqual(
      batches
        .flat()
        .map((m) => m.id)
        .sort(),
    );
  });

  it('fails with a typed error, not a success, when the broker refuses to declare the queue again (an operator re-created it otherwise)', async () => {
    const prefix = `tidemark-test-${randomUUID()}`;
    const publisher = await open({ prefix, declareGroups: [{ group: 'mailer', types: ['a.happened'] }] });
    // A classic queue under the quorum queue's name, not bound: publishes are returned, and the
    // transport's declaration (a quorum queue) is refused with PRECONDITION_FAILED.
    await asOperator(async (channel) => {
      await channel.deleteQueue(`${prefix}.mailer`);
      await channel.assertQueue(`${prefix}.mailer`, { durable: true });
    });
    const publishing = publisher.publish([message('a.happened')]);
    await expect(publishing).rejects.toBeInstanceOf(TidemarkError);
    await expect(publishing).rejects.toMatchObject({ code: 'misconfigured' });
    await expect(publishing).rejects.toThrow(`${prefix}.mailer`);
    expect(await drain(`${prefix}.mailer`)).toEqual([]);
  });

  it('binds again the queue of a consumer of the same transport after its exchange was deleted: the consumer receives what is published', async () => {
    const prefix = `tidemark-test-${randomUUID()}`;
    const transport = await open({ prefix });
    const seen: DeliveredMessage[] = [];
    await transport.consume({ group: 'g', types: ['a.happened'] }, async (delivered) => {
      seen.push(delivered);
    });
    await asOperator((channel) => channel.deleteExchange(prefix));
    const sent = message('a.happened');
    await transport.publish([sent]);
    await waitFor(() => seen.some((m) => m.id === sent.id), 'the consumer to receive the message', 10_000);
    expect(seen.map((m) => m.id)).toEqual([sent.id]);
  });

  it('declares again and sends again only once: an exchange gone again fails the publish with ExchangeNotFoundError, and the next publish recovers', async () => {
    const prefix = `tidemark-test-${randomUUID()}`;
    const publisher = await open({ prefix, declareGroups: [{ group: 'mailer', types: ['a.happened'] }] });
    await asOperator((channel) => channel.deleteExchange(prefix));
    const redeclare = RabbitTopology.prototype.redeclare;
    const spy = vi.spyOn(RabbitTopology.prototype, 'redeclare').mockImplementation(async function (this: RabbitTopology, channel) {
      await redeclare.call(this, channel);
      await asOperator((operator) => operator.deleteExchange(prefix));
    });
    try {
      const publishing = publisher.publish([message('a.happened')]);
      await expect(publishing).rejects.toBeInstanceOf(ExchangeNotFoundError);
      await expect(publishing).rejects.toThrow(`exchange '${prefix}'`);
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
    expect(await drain(`${prefix}.mailer`)).toEqual([]);
    const sent = message('a.happened');
    await publisher.publish([sent]);
    expect(await drain(`${prefix}.mailer`)).toEqual([sent.id]);
  });
});
