import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { type DeliveredMessage, type OutgoingMessage, PayloadTooLargeError, RejectMessageError, ValidationError } from '@tidemark/core';
import { serviceAvailable, serviceUrls, waitFor } from '@tidemark/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createNatsTransport, type NatsTransportOptions } from '../src/index.js';
import { natsTestResources } from './natsTestResources.js';

const available = await serviceAvailable('nats');

describe.skipIf(!available)('NATS JetStream transport on bad input', () => {
  const { streams, transports, cleanUp } = natsTestResources();
  afterAll(cleanUp);
  const open = async (options: Partial<NatsTransportOptions> = {}) => {
    const stream = `probe_${randomUUID().replaceAll('-', '')}`;
    streams.push(stream, `${stream}_DLQ`);
    const transport = await createNatsTransport({ servers: serviceUrls.nats, stream, subjectPrefix: stream, ...options });
    transports.push(transport);
    return transport;
  };
  const type = 'probe.thing.happened';
  const message = (id: string, data: unknown = {}): OutgoingMessage => ({ id, type, schemaVersion: 1, key: 'k', data });
  const collect = async (transport: Awaited<ReturnType<typeof open>>) => {
    const seen: DeliveredMessage[] = [];
    await transport.consume({ group: 'g', types: [type], startFrom: { kind: 'all' } }, async (m) => {
      seen.push(m);
    });
    return seen;
  };

  it('refuses a batch holding a message over max_payload with a PayloadTooLargeError, publishing none of it; one at the limit goes', async () => {
    const transport = await open();
    const seen = await collect(transport);
    const error = await transport.publish([message('before'), message('big', 'x'.repeat(1024 * 1024)), message('after')]).catch((e) => e);
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    const { limit, actual } = error.details as { limit: number; actual: number };
    // The size counted is the client's (body and headers): a message exactly at the limit (an id as
    // long, data shorter by the excess) is sent.
    const fits = message('fit', 'x'.repeat(1024 * 1024 - (actual - limit)));
    await transport.publish([fits]);
    await waitFor(() => seen.length > 0, 'the message at the limit', 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seen.map((m) => m.id)).toEqual(['fit']);
  });

  it('delivers messages whose ids differ only by leading or trailing spaces, and still drops a republished one', async () => {
    const transport = await open();
    const seen = await collect(transport);
    const ids = ['x', ' x', 'x ', 'x\u00a0', '"x"'];
    for (const id of ids) await transport.publish([message(id)]);
    await transport.publish([message(' x')]);
    await transport.publish([message('end')]);
    await waitFor(() => seen.some((m) => m.id === 'end'), 'the last message', 10_000);
    expect(seen.map((m) => m.id)).toEqual([...ids, 'end']);
  });

  it('refuses option values that would publish nothing, or that JetStream would refuse under another name', async () => {
    for (const options of [
      { publishWindow: Number.NaN },
      { publishWindow: 0 },
      { maxAgeMs: 50 },
      { maxAgeMs: 1000, duplicateWindowMs: 5000 },
      { duplicateWindowMs: 1e15 },
      { ackWaitMs: 2 ** 31 },
    ]) {
      await expect(open(options), JSON.stringify(options)).rejects.toBeInstanceOf(ValidationError);
    }
    // A short maxAgeMs alone is fine: the default de-duplication window shrinks to it.
    const transport = await open({ maxAgeMs: 1000 });
    await transport.publish([message('kept briefly')]);
  });

  it("reports the server's refusal of the stream, not a missing stream", async () => {
    const taken = await open();
    const nc = await connect({ servers: serviceUrls.nats });
    const subjects = (await (await jetstreamManager(nc)).streams.info(streams.at(-2)!)).config.subjects;
    await nc.close();
    expect(taken).toBeDefined();
    // Another stream already holds these subjects: the add fails for that reason.
    const error = await open({ subjectPrefix: subjects[0]!.slice(0, -2) }).catch((e) => e);
    expect(String(error)).not.toMatch(/stream not found/);
    expect(String(error)).toMatch(/overlap/);
  });

  it('refuses group names and limits that deadLetters and waiting would misread', async () => {
    const transport = await open();
    await transport.consume({ group: 'victim', types: [type] }, async () => {
      throw new RejectMessageError('no');
    });
    await transport.publish([message('poison')]);
    await waitFor(async () => (await transport.deadLetters('victim')).length === 1, 'the dead letter', 10_000);
    for (const group of ['*', '>', '', 'a b']) {
      await expect(transport.deadLetters(group), group).rejects.toBeInstanceOf(ValidationError);
      await expect(transport.waiting(group), group).rejects.toBeInstanceOf(ValidationError);
    }
    for (const limit of [Number.NaN, 0, -1]) {
      await expect(transport.deadLetters('victim', { limit })).rejects.toBeInstanceOf(ValidationError);
    }
  });

  it('refuses a start a JetStream consumer cannot take', async () => {
    const transport = await open();
    const starts = [{ kind: 'sequence', sequence: 2n ** 60n }, { kind: 'time', time: new Date(8.64e15) }, { kind: 'Al' }] as const;
    for (const startFrom of starts) {
      await expect(
        transport.consume({ group: 'late', types: [type], startFrom: startFrom as never }, async () => {}),
        String(startFrom.kind),
      ).rejects.toBeInstanceOf(ValidationError);
    }
  });

  it("rejects a publish that close() cut short as connection_lost, not as the client's raw request error", async () => {
    const transport = await open();
    const batch = Array.from({ length: 20_000 }, (_, i) => message(`m-${i}`, { i }));
    const publishing = transport.publish(batch).then(
      () => undefined,
      (error: unknown) => error,
    );
    // Under way: the first window is on the wire when close() ends the connection.
    await new Promise((resolve) => setTimeout(resolve, 20));
    await transport.close();
    const error = await publishing;
    expect(error).toMatchObject({ code: 'connection_lost' });
    expect((error as Error).message).toContain('closed while this publish was in flight');
  });
});
