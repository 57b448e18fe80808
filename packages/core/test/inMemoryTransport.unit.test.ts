import { randomUUID } from 'node:crypto';
import { createManualClock, waitFor } from '@tidemark/testing';
import { describe, expect, it } from 'vitest';
import { createInMemoryTransport, type DeliveredMessage, type OutgoingMessage } from '../src/index.js';

const message = (id: string, n: number): OutgoingMessage => ({ id, type: 'test.thing.happened', schemaVersion: 1, key: 'k', data: { n } });

describe('in-memory transport', () => {
  it('drops a re-published id only within its window: after it, the id is delivered again', async () => {
    const clock = createManualClock();
    const transport = createInMemoryTransport({ clock, duplicateWindowMs: 1000 });
    const seen: DeliveredMessage[] = [];
    await transport.consume({ group: 'g', types: ['test.thing.happened'] }, async (m) => {
      seen.push(m);
    });
    const id = randomUUID();
    await transport.publish([message(id, 1)]);
    clock.advance(999);
    await transport.publish([message(id, 2)]);
    clock.advance(1);
    await transport.publish([message(id, 3)]);
    await waitFor(() => seen.length >= 2, 'two deliveries');
    expect(seen.map((m) => (m.data as { n: number }).n)).toEqual([1, 3]);
    await transport.close();
  });

  it('refuses to publish or consume once closed', async () => {
    const transport = createInMemoryTransport();
    await transport.close();
    await expect(transport.publish([message(randomUUID(), 1)])).rejects.toMatchObject({ code: 'connection_lost' });
  });

  it('holds keys and header names to the rule an outbox add holds them to, publishing nothing of a bad batch', async () => {
    const transport = createInMemoryTransport();
    const seen: DeliveredMessage[] = [];
    await transport.consume({ group: 'g', types: ['test.thing.happened'], startFrom: { kind: 'all' } }, async (m) => {
      seen.push(m);
    });
    for (const bad of [{ key: 'k\u0000' }, { key: 'k\ud800' }, { key: 'a\u202eb' }, { headers: { 'a\r\nb': 'v' } }]) {
      await expect(
        transport.publish([message(randomUUID(), 1), { ...message(randomUUID(), 2), ...bad }]),
        JSON.stringify(bad),
      ).rejects.toMatchObject({
        code: 'validation',
      });
    }
    await transport.publish([message(randomUUID(), 3)]);
    await waitFor(() => seen.length === 1, 'the good message');
    expect(seen.map((m) => (m.data as { n: number }).n)).toEqual([3]);
    await transport.close();
  });

  it('refuses a misspelt start, and group names and limits deadLetters and waiting cannot use', async () => {
    const transport = createInMemoryTransport();
    const startFrom = { kind: 'al' } as unknown as { kind: 'all' };
    await expect(transport.consume({ group: 'g', types: ['t'], startFrom }, async () => {})).rejects.toMatchObject({ code: 'validation' });
    const beyond = { kind: 'time' as const, time: new Date(8.64e15) };
    await expect(transport.consume({ group: 'g', types: ['t'], startFrom: beyond }, async () => {})).rejects.toMatchObject({
      code: 'validation',
    });
    for (const group of ['*', '', 'a b']) {
      await expect(transport.deadLetters(group)).rejects.toMatchObject({ code: 'validation' });
      await expect(transport.waiting(group)).rejects.toMatchObject({ code: 'validation' });
    }
    for (const limit of [Number.NaN, 0, -1, 1.5]) {
      await expect(transport.deadLetters('g', { limit })).rejects.toMatchObject({ code: 'validation' });
    }
    await transport.close();
  });
});
