import { randomUUID } from 'node:crypto';
import { type DeliveredMessage, ValidationError } from '@tidemark/core';
import { serviceAvailable, serviceUrls, waitFor } from '@tidemark/testing';
import { connect } from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { createRabbitTransport } from '../src/index.js';
import { rabbitTestResources } from './rabbitTestResources.js';

const available = await serviceAvailable('rabbitmq');

/** Bodies a foreign producer publishes with the raw client to the exchange, as `a.happened`, confirmed. */
async function publishRaw(exchange: string, bodies: readonly string[]): Promise<void> {
  const model = await connect(serviceUrls.rabbitmq);
  try {
    const channel = await model.createConfirmChannel();
    for (const body of bodies) channel.publish(exchange, 'a.happened', Buffer.from(body));
    await channel.waitForConfirms();
  } finally {
    await model.close();
  }
}
/** Messages and names the broker sees from outside tidemark's own publishing. */
describe.skipIf(!available)('RabbitMQ transport and a foreign producer', () => {
  const { transports, cleanUp } = rabbitTestResources();
  afterAll(cleanUp);
  const open = async (prefix = `tidemark-test-${randomUUID()}`) => {
    const transport = await createRabbitTransport({ url: serviceUrls.rabbitmq, prefix });
    transports.push(transport);
    return transport;
  };

  it('dead-letters what is no envelope at once, with why, lists it, and keeps good messages flowing', async () => {
    const prefix = `tidemark-test-${randomUUID()}`;
    const transport = await open(prefix);
    const seen: DeliveredMessage[] = [];
    await transport.consume({ group: 'g', types: ['a.happened'], retryDelayMs: () => 20 }, async (m) => {
      seen.push(m);
    });
    const envelope = { type: 'a.happened', schemaVersion: 1, key: 'k', occurredAt: new Date().toISOString(), headers: {}, data: {} };
    await publishRaw(prefix, ['not json', '42', JSON.stringify({ ...envelope, id: 'a\u0000b' })]);
    const good = { id: randomUUID(), type: 'a.happened', schemaVersion: 1, key: 'k', data: { ok: true } };
    await transport.publish([good]);
    await waitFor(() => seen.some((m) => m.id === good.id), 'the good message', 10_000);
    await waitFor(async () => (await transport.deadLetters('g')).length === 3, 'three dead letters', 10_000);
    const letters = await transport.deadLetters('g');
    expect(letters.map((dead) => dead.error)).toEqual([
      'message body is not JSON',
      'message body is not a tidemark envelope',
      'message id contains a control character',
    ]);
    expect(letters[1]!.message.data).toBe(42);
    expect(seen.map((m) => m.id)).toEqual([good.id]);
  });

  it('dead-letters an envelope whose type is not the one its routing key names, rather than handing it over under either', async () => {
    const prefix = `tidemark-test-${randomUUID()}`;
    const transport = await open(prefix);
    const seen: DeliveredMessage[] = [];
    // The group takes both types: the envelope's would pass its bindings, so only the check stops it.
    await transport.consume({ group: 'g', types: ['a.happened', 'b.happened'], retryDelayMs: () => 20 }, async (m) => {
      seen.push(m);
    });
    const mislabelled = {
      id: randomUUID(),
      type: 'b.happened',
      schemaVersion: 1,
      key: 'k',
      occurredAt: new Date().toISOString(),
      headers: {},
      data: {},
    };
    await publishRaw(prefix, [JSON.stringify(mislabelled)]);
    const good = { id: randomUUID(), type: 'a.happened', schemaVersion: 1, key: 'k', data: { ok: true } };
    await transport.publish([good]);
    await waitFor(() => seen.some((m) => m.id === good.id), 'the good message', 10_000);
    await waitFor(async () => (await transport.deadLetters('g')).length === 1, 'the dead letter', 10_000);
    const [dead] = await transport.deadLetters('g');
    expect(dead!.error).toBe("message type 'b.happened' does not match its routing key 'a.happened'");
    expect(dead!.message).toMatchObject({ id: mislabelled.id, attempt: 1 });
    expect(seen.map((m) => m.id)).toEqual([good.id]);
  });

  it('refuses a group whose queue names would pass AMQP’s 255 bytes with a ValidationError when consuming, not at its first retry', async () => {
    // 50 characters: the group's queue and dead queue fit, `<queue>.retry.<ms>` does not.
    const transport = await open();
    const group = 'g'.repeat(196);
    await expect(transport.consume({ group, types: ['a.happened'] }, async () => {})).rejects.toBeInstanceOf(ValidationError);
    await expect(transport.consume({ group: 'g'.repeat(200), types: ['a.happened'] }, async () => {})).rejects.toBeInstanceOf(
      ValidationError,
    );
  });

  it('refuses a message id over AMQP’s 255 bytes with a ValidationError, publishing nothing of the batch', async () => {
    const transport = await open();
    const seen: DeliveredMessage[] = [];
    await transport.consume({ group: 'ids', types: ['a.happened'] }, async (m) => {
      seen.push(m);
    });
    const message = (id: string) => ({ id, type: 'a.happened', schemaVersion: 1, key: 'k', data: {} });
    // 256 characters, as the port allows, but 768 bytes of UTF-8.
    await expect(transport.publish([message(randomUUID()), message('€'.repeat(256))])).rejects.toBeInstanceOf(ValidationError);
    const marker = message(randomUUID());
    await transport.publish([marker]);
    await waitFor(() => seen.some((m) => m.id === marker.id), 'the marker', 10_000);
    expect(seen.map((m) => m.id)).toEqual([marker.id]);
  });
});
