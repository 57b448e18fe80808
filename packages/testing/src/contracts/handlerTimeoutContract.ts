import { type DeliveredMessage, ValidationError } from '@tidemark/core';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../waitFor.js';
import { gate, message, patience, type TransportWorld, type } from './transportFixtures.js';

/** Short, so that the tests stay fast; the default is minutes. */
const handlerTimeoutMs = 300;

/**
 * A handler that never settles must not hold its message, its concurrency slot or a stopping
 * consumer for ever: past handlerTimeoutMs the attempt fails like a thrown error (retried, then
 * dead-lettered), and whatever the abandoned handler settles with later changes nothing.
 */
export function handlerTimeoutContract(world: TransportWorld): void {
  describe('handlers that do not settle', () => {
    const gates: Array<() => void> = [];
    afterEach(() => {
      for (const release of gates.splice(0)) release();
    });
    const hang = () => {
      const hung = gate();
      gates.push(hung.release);
      return hung;
    };
    const attemptsOf = (seen: DeliveredMessage[], id: string) => seen.filter((m) => m.id === id).map((m) => m.attempt);

    it('fails an attempt whose handler outlives handlerTimeoutMs: its slot is freed, the message retried, a late success ignored', async () => {
      const { transport } = await world();
      const stuck = message('stuck', 1);
      const next = message('free', 2);
      const hung = hang();
      const seen: DeliveredMessage[] = [];
      await transport.consume(
        { group: 'slow', types: [type], concurrency: 1, handlerTimeoutMs, retryDelayMs: () => 10 },
        async (delivered) => {
          seen.push(delivered);
          if (delivered.id === stuck.id && delivered.attempt === 1) await hung.wait;
        },
      );
      await transport.publish([stuck, next]);
      await waitFor(() => seen.some((m) => m.id === next.id), 'the next message, in the slot the hung handler held', patience);
      await waitFor(() => attemptsOf(seen, stuck.id).includes(2), 'the hung message’s second attempt', patience);
      // The abandoned first attempt succeeds now: the message was settled already, nothing may be acked twice.
      hung.release();
      const marker = message('stuck', 3);
      await transport.publish([marker]);
      await waitFor(() => seen.some((m) => m.id === marker.id), 'the marker', patience);
      expect(attemptsOf(seen, stuck.id)).toEqual([1, 2]);
      expect(attemptsOf(seen, next.id)).toEqual([1]);
      expect(await transport.deadLetters('slow')).toEqual([]);
    });

    it('dead-letters a message whose handler times out on its last delivery, naming the timeout; late failures are ignored', async () => {
      const { transport } = await world();
      const poison = message('k', 0);
      const behind = message('k', 1);
      const seen: DeliveredMessage[] = [];
      await transport.consume(
        { group: 'hung', types: [type], maxDeliveries: 2, handlerTimeoutMs, retryDelayMs: () => 10 },
        async (delivered) => {
          seen.push(delivered);
          if (delivered.id !== poison.id) return;
          await hang().wait;
          throw new Error('fails long after its timeout');
        },
      );
      await transport.publish([poison, behind]);
      await waitFor(async () => (await transport.deadLetters('hung')).length === 1, 'the dead letter', patience);
      await waitFor(() => seen.some((m) => m.id === behind.id), 'the message behind it', patience);
      const [dead] = await transport.deadLetters('hung');
      expect(dead).toMatchObject({ group: 'hung', message: { id: poison.id } });
      expect(dead!.error).toContain(`within ${handlerTimeoutMs} ms`);
      expect(dead!.error).toContain(poison.id);
      expect(dead!.error).toContain("'hung'");
      // Both abandoned attempts now reject: no second dead letter, no redelivery, no unhandled rejection.
      for (const release of gates.splice(0)) release();
      const marker = message('k', 2);
      await transport.publish([marker]);
      await waitFor(() => seen.some((m) => m.id === marker.id), 'the marker', patience);
      expect(attemptsOf(seen, poison.id)).toEqual([1, 2]);
      expect(await transport.deadLetters('hung')).toHaveLength(1);
    });

    it('lets stop() return once a hung handler has timed out, and the group receives the message again', async () => {
      const { transport } = await world();
      const sent = message('k', 1);
      const held: DeliveredMessage[] = [];
      const hung = hang();
      const first = await transport.consume(
        { group: 'stopping', types: [type], handlerTimeoutMs, retryDelayMs: () => 10 },
        async (delivered) => {
          held.push(delivered);
          await hung.wait;
        },
      );
      await transport.publish([sent]);
      await waitFor(() => held.length === 1, 'the consumer to hold the message', patience);
      let stopped = false;
      const stopping = first.stop().then(() => {
        stopped = true;
      });
      await waitFor(() => stopped, 'stop() to return despite the hung handler', patience);
      await stopping;
      const seen: DeliveredMessage[] = [];
      await transport.consume({ group: 'stopping', types: [type] }, async (delivered) => {
        seen.push(delivered);
      });
      await waitFor(() => seen.length >= 1, 'the message, to the next consumer', patience);
      expect(seen[0]).toMatchObject({ id: sent.id, attempt: 2 });
    });

    it('refuses a handlerTimeoutMs that is not a whole number of milliseconds from 1 to 2^31 - 1 with a ValidationError', async () => {
      const { transport } = await world();
      for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31]) {
        await expect(
          transport.consume({ group: 'bad-timeout', types: [type], handlerTimeoutMs: bad }, async () => {}),
        ).rejects.toBeInstanceOf(ValidationError);
      }
    });
  });
}
