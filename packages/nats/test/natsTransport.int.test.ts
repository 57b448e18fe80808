import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, nanos } from '@nats-io/transport-node';
import { type DeliveredMessage, RejectMessageError, ValidationError } from '@tidemark/core';
import { serviceAvailable, serviceUrls, waitFor } from '@tidemark/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createNatsTransport } from '../src/index.js';
import { natsTestResources } from './natsTestResources.js';

const available = await serviceAvailable('nats');

describe.skipIf(!available)('NATS JetStream transport specifics', () => {
  const { streams, transports, cleanUp } = natsTestResources();
  afterAll(cleanUp);
  const open = async (options: { stream: string; duplicateWindowMs?: number; ackWaitMs?: number }) => {
    streams.push(options.stream, `${options.stream}_DLQ`);
    const transport = await createNatsTransport({ servers: serviceUrls.nats, subjectPrefix: options.stream.toLowerCase(), ...options });
    transports.push(transport);
    return transport;
  };

  it('creates its streams, and brings an existing stream to the configured de-duplication window', async () => {
    const stream = `T${randomUUID().replaceAll('-', '')}`;
    await open({ stream, duplicateWindowMs: 60_000 });
    const nc = await connect({ servers: serviceUrls.nats });
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info(stream)).config.duplicate_window).toBe(nanos(60_000));
    expect((await jsm.streams.info(`${stream}_DLQ`)).config.subjects).toEqual([`${stream.toLowerCase()}_dlq.>`]);
    await open({ stream, duplicateWindowMs: 30_000 });
    expect((await jsm.streams.info(stream)).config.duplicate_window).toBe(nanos(30_000));
    await nc.close();
  });

  it('a group asked for other types either changes its filter (NATS 2.10+) or is refused, never silently misses a type', async () => {
    const transport = await open({ stream: `T${randomUUID().replaceAll('-', '')}` });
    const first = await transport.consume({ group: 'g', types: ['a.happened'] }, async () => {});
    await first.stop();
    const seen: DeliveredMessage[] = [];
    let refused = false;
    try {
      await transport.consume({ group: 'g', types: ['a.happened', 'b.happened'] }, async (m) => {
        seen.push(m);
      });
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      refused = true;
    }
    if (!refused) {
      await transport.publish([{ id: randomUUID(), type: 'b.happened', schemaVersion: 1, key: 'k', data: {} }]);
      await waitFor(() => seen.length === 1, 'the added type', 10_000);
    }
  });

  it('a dead-lettered message is settled for good: it does not come back after ack_wait', async () => {
    const transport = await open({ stream: `T${randomUUID().replaceAll('-', '')}`, ackWaitMs: 500 });
    const seen: DeliveredMessage[] = [];
    await transport.consume({ group: 'g', types: ['a.happened'] }, async (m) => {
      seen.push(m);
      throw new RejectMessageError('never');
    });
    await transport.publish([{ id: randomUUID(), type: 'a.happened', schemaVersion: 1, key: 'k', data: {} }]);
    await waitFor(async () => (await transport.deadLetters('g')).length === 1, 'the dead letter', 10_000);
    // Several ack_waits: a term the server did not take shows as a redelivery by now.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(seen.map((m) => m.attempt)).toEqual([1]);
  });
});
