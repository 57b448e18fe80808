import { randomUUID } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { DeliveredMessage } from '@tidemark/core';
import { serviceAvailable, serviceUrls, waitFor } from '@tidemark/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createNatsTransport } from '../src/index.js';
import { natsTestResources } from './natsTestResources.js';

const available = await serviceAvailable('nats');

/** Messages a producer other than tidemark writes to the transport's subjects with the raw client. */
describe.skipIf(!available)('NATS JetStream transport and a foreign producer', () => {
  const { streams, transports, cleanUp } = natsTestResources();
  afterAll(cleanUp);
  /** A transport on a stream of its own, whose subjects the foreign producer writes to. */
  const openTransport = async () => {
    const stream = `F${randomUUID().replaceAll('-', '')}`;
    const prefix = stream.toLowerCase();
    streams.push(stream, `${stream}_DLQ`);
    const transport = await createNatsTransport({ servers: serviceUrls.nats, stream, subjectPrefix: prefix, storage: 'memory' });
    transports.push(transport);
    return { stream, prefix, transport };
  };

  it('dead-letters what is no envelope at once, with why, lists it, and keeps good messages flowing', async () => {
    const { stream, prefix, transport } = await openTransport();
    const seen: DeliveredMessage[] = [];
    await transport.consume({ group: 'g', types: ['a.happened'], retryDelayMs: () => 20 }, async (m) => {
      seen.push(m);
    });
    const nc = await connect({ servers: serviceUrls.nats });
    try {
      const js = jetstream(nc);
      const subject = `${prefix}.a.happened`;
      const envelope = { type: 'a.happened', schemaVersion: 1, key: 'k', occurredAt: new Date().toISOString(), headers: {}, data: {} };
      await js.publish(subject, 'not json');
      await js.publish(subject, '42');
      await js.publish(subject, JSON.stringify({ ...envelope, id: 'a\u0000b' }));
      // Binary (protobuf, say): as text its dead letter is several times larger than the message.
      await js.publish(subject, new Uint8Array(400_000));
      const good = { id: randomUUID(), type: 'a.happened', schemaVersion: 1, key: 'k', data: { ok: true } };
      await transport.publish([good]);
      await waitFor(() => seen.some((m) => m.id === good.id), 'the good message', 10_000);
      await waitFor(async () => (await transport.deadLetters('g')).length === 4, 'four dead letters', 10_000);
      const errors = (await transport.deadLetters('g')).map((dead) => dead.error);
      expect(errors[0]).toContain('not JSON');
      expect(errors[1]).toContain('not a tidemark envelope');
      expect(errors[2]).toContain('control character');
      expect(errors[3]).toContain('too large');
      // Each was settled, not nak'd round and round.
      const jsm = await jetstreamManager(nc);
      await waitFor(async () => (await jsm.consumers.info(stream, 'g')).num_ack_pending === 0, 'nothing left pending', 10_000);
      expect((await jsm.consumers.info(stream, 'g')).num_redelivered).toBe(0);
      expect(seen.map((m) => m.id)).toEqual([good.id]);
    } finally {
      await nc.close();
    }
  });

  it('dead-letters an envelope whose type is not the one its subject names, rather than handing it over under either', async () => {
    const { prefix, transport } = await openTransport();
    const seen: DeliveredMessage[] = [];
    // The group takes both types: the envelope's would pass its filter, so only the check stops it.
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
    const nc = await connect({ servers: serviceUrls.nats });
    try {
      await jetstream(nc).publish(`${prefix}.a.happened`, JSON.stringify(mislabelled));
    } finally {
      await nc.close();
    }
    const good = { id: randomUUID(), type: 'a.happened', schemaVersion: 1, key: 'k', data: { ok: true } };
    await transport.publish([good]);
    await waitFor(() => seen.some((m) => m.id === good.id), 'the good message', 10_000);
    await waitFor(async () => (await transport.deadLetters('g')).length === 1, 'the dead letter', 10_000);
    const [dead] = await transport.deadLetters('g');
    expect(dead!.error).toBe(`message type 'b.happened' does not match its subject '${prefix}.a.happened'`);
    expect(dead!.message).toMatchObject({ id: mislabelled.id, attempt: 1 });
    expect(seen.map((m) => m.id)).toEqual([good.id]);
  });
});
