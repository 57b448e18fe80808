import {
  type ConsumeOptions,
  type DeliveredMessage,
  type MessageHandler,
  RejectMessageError,
  type Transport,
  ValidationError,
} from '@tidemark/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../waitFor.js';
import { handlerTimeoutContract } from './handlerTimeoutContract.js';
import { gate, message, patience, type } from './transportFixtures.js';

/** The bridge from a transport to the transport contract. */
export interface TransportHarness {
  /** Streaming transports: a new group can start from all history, a sequence or a time. */
  replayable: boolean;
  /** The broker drops a re-published message id within its de-duplication window. */
  deduplicates: boolean;
  /**
   * Per-key order holds for the whole group — across competing consumers and across retries —
   * not only within one consumer's first deliveries.
   */
  keyOrderAcrossConsumers: boolean;
  /**
   * A fresh, uniquely named world (stream, subjects, queues): `transport` and `connect()`,
   * which opens one more transport on the same world, as another process would. Closing a
   * transport drops its connection: what its consumers held unacknowledged is redelivered.
   */
  create(): Promise<{ transport: Transport; connect(): Promise<Transport> }>;
  teardown?(): Promise<void>;
}

const otherType = 'contract.other.happened';

const n = (delivered: DeliveredMessage) => (delivered.data as { n: number }).n;

/**
 * What every Transport must do (issue 9): deliver each message to every group of its type and
 * to one consumer within a group; keep a key's order within a consumer, never starting a key's
 * next message before the previous one is settled, also with concurrency > 1; redeliver what a
 * dead consumer held; retry after the configured delay; dead-letter with the error after
 * maxDeliveries or at once on RejectMessageError, with traffic behind the failed message still
 * flowing; fail a handler that outlives handlerTimeoutMs like one that threw; and refuse bad
 * input with nothing published. Capabilities some brokers lack — broker-side de-duplication,
 * replay, group-wide key order — are skipped visibly.
 */
export function transportContract(adapter: string, harness: TransportHarness): void {
  describe(`Transport contract: ${adapter}`, () => {
    const opened: Transport[] = [];
    const gates: Array<() => void> = [];
    afterEach(async () => {
      for (const release of gates.splice(0)) release();
      for (const transport of opened.splice(0).reverse()) await transport.close();
    });
    afterAll(async () => {
      await harness.teardown?.();
    });
    const world = async () => {
      const created = await harness.create();
      opened.push(created.transport);
      return {
        transport: created.transport,
        async connect() {
          const transport = await created.connect();
          opened.push(transport);
          return transport;
        },
      };
    };
    const collect = async (transport: Transport, options: ConsumeOptions, handler?: MessageHandler) => {
      const seen: DeliveredMessage[] = [];
      const consumer = await transport.consume(options, async (delivered) => {
        seen.push(delivered);
        await handler?.(delivered);
      });
      return { seen, consumer };
    };

    it('delivers a published message to a group with its fields intact, as the first attempt', async () => {
      const { transport } = await world();
      const { seen } = await collect(transport, { group: 'fields', types: [type] });
      const occurredAt = new Date('2026-01-02T03:04:05.678Z');
      const sent = message('order-1', 1, {
        schemaVersion: 2,
        data: { n: 1, nested: { list: [1, 'two', null], flag: true }, text: 'ünïcødé ✓' },
        headers: { correlationId: 'c-1', traceparent: '00-abc-def-01' },
        occurredAt,
      });
      await transport.publish([sent]);
      await waitFor(() => seen.length === 1, 'the message', patience);
      const got = seen[0]!;
      expect(got).toMatchObject({ id: sent.id, type, schemaVersion: 2, key: 'order-1', data: sent.data, attempt: 1 });
      expect(got.headers).toMatchObject({ correlationId: 'c-1', traceparent: '00-abc-def-01' });
      expect(got.occurredAt.toISOString()).toBe(occurredAt.toISOString());
      if (harness.replayable) expect(typeof got.sequence).toBe('bigint');
    });

    it('gives every group every message of its types, and no other types', async () => {
      const { transport } = await world();
      const both = await collect(transport, { group: 'both-types', types: [type, otherType] });
      const one = await collect(transport, { group: 'one-type', types: [type] });
      const a = message('k', 1);
      const b = message('k', 2, { type: otherType });
      const c = message('k', 3, { type: 'contract.unrelated.happened' });
      await transport.publish([a, b, c]);
      const marker = message('k', 4);
      await transport.publish([marker]);
      await waitFor(() => both.seen.some((m) => m.id === marker.id), 'the marker in the first group', patience);
      await waitFor(() => one.seen.some((m) => m.id === marker.id), 'the marker in the second group', patience);
      expect(both.seen.map((m) => m.id).sort()).toEqual([a.id, b.id, marker.id].sort());
      expect(one.seen.map((m) => m.id).sort()).toEqual([a.id, marker.id].sort());
    });

    it('lets competing consumers of one group split the work, each message handled by one of them', async () => {
      const { transport, connect } = await world();
      const other = await connect();
      const started = new Set<string>();
      let bothWorked = false;
      const handledBy = new Map<string, string[]>();
      const handler = (label: string) => async (delivered: DeliveredMessage) => {
        handledBy.set(delivered.id, [...(handledBy.get(delivered.id) ?? []), label]);
        if (!started.has(label)) {
          started.add(label);
          // Hold the first message until the other consumer has one too: proves they share, without timing.
          await waitFor(() => started.size === 2, 'both consumers to hold a message', patience);
          bothWorked = true;
        }
      };
      await transport.consume({ group: 'workers', types: [type] }, handler('a'));
      await other.consume({ group: 'workers', types: [type] }, handler('b'));
      const sent = Array.from({ length: 20 }, (_, i) => message(`job-${i}`, i));
      await transport.publish(sent);
      await waitFor(() => sent.every((m) => handledBy.has(m.id)), 'every job to be handled', patience);
      expect(bothWorked).toBe(true);
      for (const m of sent) expect(handledBy.get(m.id)).toHaveLength(1);
      const labels = [...handledBy.values()].flat();
      expect(labels.filter((l) => l === 'a').length).toBeGreaterThan(0);
      expect(labels.filter((l) => l === 'b').length).toBeGreaterThan(0);
    });

    it('redelivers what a consumer held unacknowledged when its process dies, as a later attempt', async () => {
      const { transport, connect } = await world();
      const doomed = await connect();
      const held = gate();
      gates.push(held.release);
      const dying = await collect(doomed, { group: 'survivors', types: [type] }, () => held.wait);
      const sent = message('k', 1);
      await transport.publish([sent]);
      await waitFor(() => dying.seen.length === 1, 'the doomed consumer to take the message', patience);
      await doomed.close();
      const survivor = await collect(transport, { group: 'survivors', types: [type] });
      await waitFor(() => survivor.seen.length >= 1, 'the redelivery', patience);
      expect(survivor.seen[0]).toMatchObject({ id: sent.id, attempt: 2 });
    });

    it('has a stopped consumer finish what it holds and leave the rest to the group', async () => {
      const { transport } = await world();
      const held = gate();
      gates.push(held.release);
      const first = await collect(transport, { group: 'handover', types: [type] }, () => held.wait);
      const sent = Array.from({ length: 5 }, (_, i) => message('k', i));
      await transport.publish(sent);
      await waitFor(() => first.seen.length === 1, 'the first consumer to hold a message', patience);
      const stopping = first.consumer.stop();
      held.release();
      await stopping;
      expect(first.seen.map((m) => m.id)).toEqual([sent[0]!.id]);
      const next = await collect(transport, { group: 'handover', types: [type] });
      await waitFor(() => next.seen.length >= 4, 'the rest', patience);
      expect(next.seen.map((m) => m.id)).toEqual(sent.slice(1).map((m) => m.id));
    });

    it('counts the messages waiting for a group: published to it and not yet taken, down to 0 once handled', async () => {
      const { transport } = await world();
      const first = await collect(transport, { group: 'lagging', types: [type] });
      await first.consumer.stop();
      const sent = Array.from({ length: 5 }, (_, i) => message(`lag-${i}`, i));
      await transport.publish(sent);
      // The group exists and nobody consumes it: everything published to it waits.
      await waitFor(async () => (await transport.waiting('lagging')) === 5, 'five messages waiting', patience);
      const next = await collect(transport, { group: 'lagging', types: [type] });
      await waitFor(() => next.seen.length === 5, 'the five handled', patience);
      await waitFor(async () => (await transport.waiting('lagging')) === 0, 'nothing waiting', patience);
      expect(await transport.waiting('contract-no-such-group')).toBe(0);
    });

    it('keeps each key in publish order within a consumer, never starting a key’s next message before the previous one settles (concurrency 4)', async () => {
      const { transport } = await world();
      const active = new Set<string>();
      const overlaps: string[] = [];
      let maxActive = 0;
      const { seen } = await collect(transport, { group: 'ordered', types: [type], concurrency: 4 }, async (delivered) => {
        if (active.has(delivered.key)) overlaps.push(`${delivered.key}#${n(delivered)}`);
        active.add(delivered.key);
        maxActive = Math.max(maxActive, active.size);
        // Yield a few turns so that another message of the key would be started here if it could.
        for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
        active.delete(delivered.key);
      });
      const keys = ['k0', 'k1', 'k2', 'k3', 'k4'];
      const sent = Array.from({ length: 10 }, (_, i) => keys.map((key) => message(key, i))).flat();
      await transport.publish(sent);
      await waitFor(() => seen.length >= sent.length, 'every message', patience);
      expect(overlaps).toEqual([]);
      expect(seen).toHaveLength(sent.length);
      for (const key of keys) {
        expect(seen.filter((m) => m.key === key).map(n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      }
      // Concurrency is real: different keys were handled at once.
      expect(maxActive).toBeGreaterThan(1);
    });

    it.skipIf(!harness.keyOrderAcrossConsumers)(
      'keeps each key in order across competing consumers and retries: a failed message holds its key until it succeeds',
      async () => {
        const { transport, connect } = await world();
        const other = await connect();
        const active = new Set<string>();
        const overlaps: string[] = [];
        const succeeded: DeliveredMessage[] = [];
        const handler = async (delivered: DeliveredMessage) => {
          if (active.has(delivered.key)) overlaps.push(`${delivered.key}#${n(delivered)}`);
          active.add(delivered.key);
          await new Promise((resolve) => setImmediate(resolve));
          active.delete(delivered.key);
          if (n(delivered) === 2 && delivered.attempt === 1) throw new Error('fails once');
          succeeded.push(delivered);
        };
        const options = { group: 'strict', types: [type], concurrency: 3, retryDelayMs: () => 20 };
        await transport.consume(options, handler);
        await other.consume(options, handler);
        const keys = ['k0', 'k1', 'k2', 'k3'];
        const sent = Array.from({ length: 6 }, (_, i) => keys.map((key) => message(key, i))).flat();
        await transport.publish(sent);
        await waitFor(() => succeeded.length >= sent.length, 'every message to succeed', patience);
        expect(overlaps).toEqual([]);
        for (const key of keys) expect(succeeded.filter((m) => m.key === key).map(n)).toEqual([0, 1, 2, 3, 4, 5]);
      },
    );

    it('retries a failing message after the configured delays, counting attempts', async () => {
      const { transport } = await world();
      const delays = [150, 300];
      const failedAt: number[] = [];
      const startedAt: number[] = [];
      const { seen } = await collect(
        transport,
        { group: 'retrying', types: [type], retryDelayMs: (attempt) => delays[attempt - 1]! },
        async (delivered) => {
          startedAt.push(performance.now());
          if (delivered.attempt < 3) {
            failedAt.push(performance.now());
            throw new Error(`fails on attempt ${delivered.attempt}`);
          }
        },
      );
      await transport.publish([message('k', 1)]);
      await waitFor(() => seen.length >= 3, 'the third attempt', patience);
      expect(seen.map((m) => m.attempt)).toEqual([1, 2, 3]);
      // The delay runs from the failure to the next attempt; 5 ms allows for timer granularity.
      expect(startedAt[1]! - failedAt[0]!).toBeGreaterThanOrEqual(delays[0]! - 5);
      expect(startedAt[2]! - failedAt[1]!).toBeGreaterThanOrEqual(delays[1]! - 5);
      expect(await transport.deadLetters('retrying')).toEqual([]);
    });

    it('dead-letters a message after maxDeliveries with its last error, and traffic behind it flows', async () => {
      const { transport } = await world();
      const poison = message('k', 0);
      const behind = [message('k', 1), message('k', 2), message('other', 3)];
      const { seen } = await collect(
        transport,
        { group: 'poisoned', types: [type], maxDeliveries: 3, retryDelayMs: () => 10 },
        async (delivered) => {
          if (delivered.id === poison.id) throw new Error(`boom on attempt ${delivered.attempt}`);
        },
      );
      await transport.publish([poison, ...behind]);
      await waitFor(async () => (await transport.deadLetters('poisoned')).length === 1, 'the dead letter', patience);
      await waitFor(() => behind.every((m) => seen.some((s) => s.id === m.id)), 'the messages behind it', patience);
      const [dead] = await transport.deadLetters('poisoned');
      expect(dead).toMatchObject({ group: 'poisoned', message: { id: poison.id, key: 'k', data: poison.data } });
      expect(dead!.error).toContain('boom on attempt 3');
      expect(dead!.deadLetteredAt).toBeInstanceOf(Date);
      expect(seen.filter((m) => m.id === poison.id).map((m) => m.attempt)).toEqual([1, 2, 3]);
      expect(await transport.deadLetters('someone-else')).toEqual([]);
    });

    it('dead-letters at once on RejectMessageError, without retrying', async () => {
      const { transport } = await world();
      const poison = message('k', 0);
      const after = message('k', 1);
      const { seen } = await collect(transport, { group: 'rejecting', types: [type], retryDelayMs: () => 10 }, async (delivered) => {
        if (delivered.id === poison.id) throw new RejectMessageError('cannot parse this');
      });
      await transport.publish([poison, after]);
      await waitFor(async () => (await transport.deadLetters('rejecting')).length === 1, 'the dead letter', patience);
      await waitFor(() => seen.some((m) => m.id === after.id), 'the message after it', patience);
      const [dead] = await transport.deadLetters('rejecting');
      expect(dead).toMatchObject({ group: 'rejecting', message: { id: poison.id, attempt: 1 } });
      expect(dead!.error).toContain('cannot parse this');
      // A marker behind both proves no redelivery of the rejected one was on its way.
      const marker = message('k', 2);
      await transport.publish([marker]);
      await waitFor(() => seen.some((m) => m.id === marker.id), 'the marker', patience);
      expect(seen.filter((m) => m.id === poison.id)).toHaveLength(1);
    });

    it.skipIf(!harness.deduplicates)('drops a re-published message id within the broker’s window', async () => {
      const { transport } = await world();
      const { seen } = await collect(transport, { group: 'dedup', types: [type] });
      const once = message('k', 1);
      await transport.publish([once]);
      await transport.publish([once, message('k', 2)]);
      const marker = message('k', 3);
      await transport.publish([marker]);
      await waitFor(() => seen.some((m) => m.id === marker.id), 'the marker', patience);
      expect(seen.map(n)).toEqual([1, 2, 3]);
    });

    it.skipIf(!harness.replayable)('starts a new group from all history, from a sequence, or from now', async () => {
      const { transport } = await world();
      const history = Array.from({ length: 4 }, (_, i) => message('k', i));
      await transport.publish(history);
      const all = await collect(transport, { group: 'from-all', types: [type], startFrom: { kind: 'all' } });
      await waitFor(() => all.seen.length >= 4, 'all history', patience);
      const sequences = all.seen.map((m) => m.sequence!);
      for (let i = 1; i < sequences.length; i++) expect(sequences[i]! > sequences[i - 1]!).toBe(true);
      const fromThird = await collect(transport, {
        group: 'from-sequence',
        types: [type],
        startFrom: { kind: 'sequence', sequence: sequences[2]! },
      });
      const fromNow = await collect(transport, { group: 'from-now', types: [type], startFrom: { kind: 'new' } });
      const marker = message('k', 4);
      await transport.publish([marker]);
      for (const { seen } of [all, fromThird, fromNow]) await waitFor(() => seen.some((m) => m.id === marker.id), 'the marker', patience);
      expect(all.seen.map(n)).toEqual([0, 1, 2, 3, 4]);
      expect(fromThird.seen.map(n)).toEqual([2, 3, 4]);
      expect(fromNow.seen.map(n)).toEqual([4]);
    });

    it.skipIf(!harness.replayable)('starts a new group from a time', async () => {
      const { transport } = await world();
      await transport.publish([message('k', 0), message('k', 1)]);
      // 50 ms either side of the cut keeps the test independent of clock granularity.
      const publishedBefore = Date.now();
      await waitFor(() => Date.now() >= publishedBefore + 50, 'the clock to move on');
      const cut = new Date();
      await waitFor(() => Date.now() >= cut.getTime() + 50, 'the clock to move on');
      await transport.publish([message('k', 2), message('k', 3)]);
      const fromTime = await collect(transport, { group: 'from-time', types: [type], startFrom: { kind: 'time', time: cut } });
      const marker = message('k', 4);
      await transport.publish([marker]);
      await waitFor(() => fromTime.seen.some((m) => m.id === marker.id), 'the marker', patience);
      expect(fromTime.seen.map(n)).toEqual([2, 3, 4]);
    });

    it('refuses bad input with a ValidationError and publishes nothing of the batch', async () => {
      const { transport } = await world();
      const { seen } = await collect(transport, { group: 'strict-input', types: [type] });
      const good = message('k', 1);
      await expect(transport.publish([good, message('k', 2, { data: { at: 1n } })])).rejects.toBeInstanceOf(ValidationError);
      await expect(transport.publish([message('', 3)])).rejects.toBeInstanceOf(ValidationError);
      await expect(transport.publish([message('k', 4, { id: '' })])).rejects.toBeInstanceOf(ValidationError);
      await expect(transport.publish([message('k', 5, { type: 'no spaces>' })])).rejects.toBeInstanceOf(ValidationError);
      await expect(transport.publish([message('k', 6, { schemaVersion: 0 })])).rejects.toBeInstanceOf(ValidationError);
      await expect(transport.consume({ group: '', types: [type] }, async () => {})).rejects.toBeInstanceOf(ValidationError);
      await expect(transport.consume({ group: 'g', types: [] }, async () => {})).rejects.toBeInstanceOf(ValidationError);
      await expect(transport.consume({ group: 'g', types: [type], concurrency: 0 }, async () => {})).rejects.toBeInstanceOf(
        ValidationError,
      );
      const marker = message('k', 7);
      await transport.publish([marker]);
      await waitFor(() => seen.some((m) => m.id === marker.id), 'the marker', patience);
      expect(seen.map(n)).toEqual([7]);
    });

    handlerTimeoutContract(world);
  });
}
