import { waitFor } from '@tidemark/testing';
import { describe, expect, it } from 'vitest';
import {
  createIdempotentHandler,
  createInMemoryCheckpointStore,
  createInMemoryEventStore,
  createInMemoryInbox,
  createInMemoryLeases,
  createInMemoryOutbox,
  createInMemoryTransport,
  createLocalOutboxDelivery,
  createLogMessageConsumer,
  createMessageMapper,
  type DeliveredMessage,
  ValidationError,
} from '../src/index.js';

const delivery = (id: string, attempt = 1): DeliveredMessage => ({
  id,
  type: 'shop.order.placed',
  schemaVersion: 1,
  key: 'order-1',
  data: { total: 5 },
  headers: {},
  occurredAt: new Date('2026-01-01T00:00:00Z'),
  attempt,
});

describe('createIdempotentHandler', () => {
  it('applies a message once however often it is delivered, and acknowledges the duplicates', async () => {
    const store = createInMemoryEventStore();
    const inbox = createInMemoryInbox();
    const duplicates: string[] = [];
    const handler = createIdempotentHandler({
      store,
      inbox,
      consumer: 'mailer',
      handle: async (message, tx) => void (await tx.appendToStream(`mail-${message.id}`, [{ type: 'mail.sent', data: {} }])),
      onDuplicate: (message) => duplicates.push(message.id),
    });
    await handler(delivery('m-1'));
    await handler(delivery('m-1', 2));
    await Promise.all([handler(delivery('m-2')), handler(delivery('m-2', 2))]);
    expect(await store.readStream('mail-m-1')).toHaveLength(1);
    expect(await store.readStream('mail-m-2')).toHaveLength(1);
    expect(duplicates).toEqual(['m-1', 'm-2']);
  });

  it('records nothing when the handler fails, so the redelivery applies it', async () => {
    const store = createInMemoryEventStore();
    const inbox = createInMemoryInbox();
    let fail = true;
    const handler = createIdempotentHandler({
      store,
      inbox,
      consumer: 'mailer',
      handle: async (message, tx) => {
        await tx.appendToStream(`mail-${message.id}`, [{ type: 'mail.sent', data: {} }]);
        if (fail) throw new Error('smtp down');
      },
    });
    await expect(handler(delivery('m-1'))).rejects.toThrow('smtp down');
    expect(await store.streamExists('mail-m-1')).toBe(false);
    fail = false;
    await handler(delivery('m-1', 2));
    expect(await store.readStream('mail-m-1')).toHaveLength(1);
  });

  it('works as a transport handler: a redelivery after a failed attempt applies once', async () => {
    const store = createInMemoryEventStore();
    const inbox = createInMemoryInbox();
    const transport = createInMemoryTransport();
    let attempts = 0;
    const consumer = await transport.consume(
      { group: 'mailer', types: ['shop.order.placed'], retryDelayMs: () => 1 },
      createIdempotentHandler({
        store,
        inbox,
        consumer: 'mailer',
        handle: async (message, tx) => {
          attempts++;
          await tx.appendToStream(`mail-${message.id}`, [{ type: 'mail.sent', data: {} }]);
          if (attempts === 1) throw new Error('first attempt fails');
        },
      }),
    );
    await transport.publish([{ id: 'm-9', type: 'shop.order.placed', schemaVersion: 1, key: 'order-9', data: {} }]);
    await waitFor(async () => (await store.readStream('mail-m-9')).length === 1, 'the mail after the retry');
    expect(attempts).toBe(2);
    await consumer.stop();
    await transport.close();
  });

  it('refuses a bad consumer name', () => {
    const store = createInMemoryEventStore();
    expect(() => createIdempotentHandler({ store, inbox: createInMemoryInbox(), consumer: 'a\u0000b', handle: async () => {} })).toThrow(
      ValidationError,
    );
  });
});

describe('createLogMessageConsumer (the durable embedded consumer)', () => {
  it('hands each mapped event to the handler once, as a public message, and resumes from its checkpoint', async () => {
    const store = createInMemoryEventStore();
    const checkpoints = createInMemoryCheckpointStore();
    const inbox = createInMemoryInbox();
    const mapper = createMessageMapper({
      'order.placed': { type: 'shop.order.placed', data: (event) => ({ total: (event.data as { total: number }).total }) },
      'order.cancelled': { type: 'shop.order.cancelled', data: () => ({}) },
    });
    const handled: DeliveredMessage[] = [];
    const consumerOf = () =>
      createLogMessageConsumer({
        consumer: 'mailer',
        store,
        checkpoints,
        inbox,
        mapper,
        types: ['shop.order.placed'],
        pollIntervalMs: 10,
        handle: async (message) => void handled.push(message),
      });
    const first = consumerOf();
    await first.start();
    await store.appendToStream('order-1', [
      { type: 'order.placed', data: { total: 3, internal: true } },
      { type: 'order.cancelled', data: {} },
      { type: 'order.noted', data: {} },
    ]);
    await first.waitForPosition(await store.headPosition());
    await first.stop();
    expect(handled.map((m) => [m.type, m.data])).toEqual([['shop.order.placed', { total: 3 }]]);
    const second = consumerOf();
    await second.start();
    await store.appendToStream('order-2', [{ type: 'order.placed', data: { total: 4 } }]);
    await second.waitForPosition(await store.headPosition());
    await second.stop();
    expect(handled.map((m) => m.key)).toEqual(['order-1', 'order-2']);
    expect(await store.transaction((tx) => inbox.has(tx, 'mailer', handled[0]?.id as string))).toBe(true);
  });
});

describe('createMessageMapper', () => {
  it('refuses a public type no broker accepts, and a mapping without data', () => {
    expect(() => createMessageMapper({ a: { type: 'has space', data: () => ({}) } })).toThrow(ValidationError);
    expect(() => createMessageMapper({ a: { type: 'x..y', data: () => ({}) } })).toThrow(ValidationError);
    expect(() => createMessageMapper({ a: { type: 'ok.type', schemaVersion: 0, data: () => ({}) } })).toThrow(ValidationError);
    expect(() => createMessageMapper({ a: { type: 'ok.type' } as never })).toThrow(ValidationError);
  });

  it('keys by stream unless told otherwise, and carries correlation metadata as headers', () => {
    const mapper = createMessageMapper({
      'order.placed': { type: 'shop.order.placed', data: () => ({}), key: (event) => `customer-${(event.data as { c: string }).c}` },
    });
    const message = mapper.map({
      id: '0190c2a4-0000-7000-8000-000000000001',
      type: 'order.placed',
      schemaVersion: 3,
      streamId: 'order-1',
      version: 1,
      position: 1n,
      recordedAt: new Date('2026-01-01T00:00:00Z'),
      data: { c: 'c9' },
      metadata: { correlationId: 'corr', causationId: 'cause', userId: 'u', service: 'shop', extra: 42 },
    });
    expect(message).toEqual({
      id: '0190c2a4-0000-7000-8000-000000000001',
      type: 'shop.order.placed',
      schemaVersion: 1,
      key: 'customer-c9',
      data: {},
      headers: { eventId: '0190c2a4-0000-7000-8000-000000000001', correlationId: 'corr', causationId: 'cause', userId: 'u' },
      occurredAt: new Date('2026-01-01T00:00:00Z'),
    });
  });
});

describe('createLocalOutboxDelivery (the durable embedded consumer of an outbox table)', () => {
  it('hands each message to the handler once, in order per key, marking it published in the same transaction', async () => {
    const store = createInMemoryEventStore();
    const outbox = createInMemoryOutbox();
    const inbox = createInMemoryInbox();
    const handled: string[] = [];
    let failOn: string | undefined = 'k1-2';
    const delivery = createLocalOutboxDelivery({
      store,
      outbox,
      inbox,
      consumer: 'mailer',
      batchSize: 3,
      pollIntervalMs: 10,
      retry: { initialDelayMs: 1, maxDelayMs: 5 },
      handle: async (message, tx) => {
        if (message.id === failOn) {
          failOn = undefined;
          throw new Error('smtp down');
        }
        // An effect of the transaction: it counts only if the batch commits.
        tx.afterCommit(() => handled.push(message.id));
      },
    });
    await delivery.start();
    for (let round = 0; round < 4; round++) {
      await store.transaction((tx) =>
        outbox.add(
          tx,
          ['k1', 'k2'].map((key) => ({ id: `${key}-${round}`, type: 'shop.order.placed', schemaVersion: 1, key, data: { round } })),
        ),
      );
    }
    // The same message added twice (a retried state change): the inbox lets it through once.
    await store.transaction((tx) => outbox.add(tx, [{ id: 'k1-0', type: 'shop.order.placed', schemaVersion: 1, key: 'k1', data: {} }]));
    await waitFor(async () => (await store.transaction((tx) => outbox.stats(tx))).backlog === 0, 'an empty outbox');
    await delivery.stop();
    expect(handled.filter((id) => id.startsWith('k1'))).toEqual(['k1-0', 'k1-1', 'k1-2', 'k1-3']);
    expect(handled.filter((id) => id.startsWith('k2'))).toEqual(['k2-0', 'k2-1', 'k2-2', 'k2-3']);
    expect(delivery.status()).toMatchObject({ state: 'stopped', delivered: 8 });
  });

  it('stands by while another instance holds the lease', async () => {
    const store = createInMemoryEventStore();
    const outbox = createInMemoryOutbox();
    const leases = createInMemoryLeases();
    const holder = leases.lease('outbox');
    expect(await holder.acquire()).toBe(true);
    const delivery = createLocalOutboxDelivery({
      store,
      outbox,
      inbox: createInMemoryInbox(),
      consumer: 'c',
      lease: leases.lease('outbox'),
      leaseRetryMs: 5,
      handle: async () => {},
    });
    await delivery.start();
    await store.transaction((tx) => outbox.add(tx, [{ id: 'm', type: 'shop.order.placed', schemaVersion: 1, key: 'k', data: {} }]));
    await waitFor(() => delivery.status().state === 'standby', 'standby');
    expect((await store.transaction((tx) => outbox.stats(tx))).backlog).toBe(1);
    await holder.release();
    await waitFor(async () => (await store.transaction((tx) => outbox.stats(tx))).backlog === 0, 'delivery after the hand-over');
    await delivery.stop();
  });
});
