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
});
