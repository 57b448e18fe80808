import {
  type DeadLetteredMessage,
  decodeDeadLetter,
  encodeEnvelope,
  prepareMessages,
  resolveConsumeOptions,
  TidemarkError,
  type Transport,
  ValidationError,
} from '@tidemark/core';
import { connect } from 'amqplib';
import { confirmedPublish, UnroutableMessageError } from './confirmedPublish.js';
import { RabbitConnection } from './rabbitConnection.js';
import { startRabbitConsumer } from './rabbitConsumer.js';
import { RabbitTopology } from './rabbitTopology.js';

export interface RabbitTransportOptions {
  /** `amqp://user:password@host:port/vhost`. */
  readonly url: string;
  /** Name of the topic exchange and prefix of every queue. Default `tidemark`. */
  readonly prefix?: string;
  /** AMQP heartbeat: how soon a silently dead connection is noticed. Default 5 s. */
  readonly heartbeatSeconds?: number;
  /** Connection name shown by the broker. */
  readonly name?: string;
  /**
   * Groups whose queues are declared at start, before any consumer runs: a publisher-only
   * service (the relay) declares them so that nothing it publishes is unroutable and dropped.
   */
  readonly declareGroups?: ReadonlyArray<{ readonly group: string; readonly types: readonly string[] }>;
}

export interface RabbitTransport extends Transport {
  /** The exchange and queues this transport declared (to remove them after tests). */
  declared(): { exchanges: string[]; queues: string[] };
}

/**
 * The RabbitMQ transport: a work queue. Publishes with publisher confirms to a durable topic
 * exchange routed by type; each consumer group is a durable quorum queue bound to its types,
 * consumed with prefetch = concurrency and explicit acks; a failure is retried after its delay
 * through a per-delay TTL queue dead-lettering back to the group's queue, and after maxDeliveries
 * (or on RejectMessageError) moved to the group's dead queue with the error in its headers and
 * body. The connection reconnects with backoff and consumers resume on new channels.
 *
 * Guarantees: at least once. A message is routed only to groups whose queue exists when it is
 * published: consume, or list the group in `declareGroups`, before publishing. A message of a
 * type this transport bound a group to is published as mandatory: should no queue take it (the
 * queue or binding was deleted), publish rejects with UnroutableMessageError. Within one
 * consumer a key's messages run one at a time in queue order; across competing consumers, or
 * after a retry (the copy re-enters the queue behind later messages), a key's order is not kept.
 * No broker-side de-duplication (AMQP has none): a re-published id is delivered again, for the
 * inbox to drop. Not replayable: an acknowledged message is gone.
 */
export async function createRabbitTransport(options: RabbitTransportOptions): Promise<RabbitTransport> {
  const topology = new RabbitTopology(options.prefix ?? 'tidemark');
  const heartbeatSeconds = options.heartbeatSeconds ?? 5;
  if (!Number.isInteger(heartbeatSeconds) || heartbeatSeconds < 0) {
    throw new ValidationError('heartbeatSeconds must be a non-negative integer', { heartbeatSeconds });
  }
  const connection = new RabbitConnection({ url: options.url, heartbeatSeconds, name: options.name ?? 'tidemark' });
  await connection.start();
  try {
    const channel = await connection.publisher();
    await topology.declareExchange(channel);
    for (const declared of options.declareGroups ?? []) {
      const { group, types } = resolveConsumeOptions({ group: declared.group, types: declared.types });
      topology.checkGroup(group);
      await topology.declareGroup(channel, group, types);
    }
  } catch (error) {
    await connection.close();
    throw error;
  }
  const consumers = new Set<{ abandon(): void }>();
  let closed = false;
  const open = () => {
    if (closed) throw new TidemarkError('connection_lost', 'the RabbitMQ transport is closed');
  };

  return {
    name: 'rabbitmq',
    replayable: false,
    async publish(messages) {
      open();
      const prepared = prepareMessages(messages);
      for (const [index, { message }] of prepared.entries()) {
        // AMQP's message-id is a short string: over 255 bytes the client throws mid-batch, after the messages before it went out.
        if (Buffer.byteLength(message.id) > 255) {
          throw new ValidationError(`message ${index}: id is over the 255 bytes of an AMQP message-id`, { index, id: message.id });
        }
      }
      if (prepared.length === 0) return;
      if (!connection.model) throw new TidemarkError('connection_lost', 'RabbitMQ is unreachable; publish again later');
      const publisher = await connection.publisher();
      const now = new Date();
      // One channel publishes in order; every message resolves on its own confirm.
      const confirms = prepared.map((p) =>
        confirmedPublish(publisher, topology.exchange, p.message.type, Buffer.from(encodeEnvelope(p, now)), {
          // A work queue drops what no queue is bound for: a type nobody consumes yet is published
          // and dropped by design (see above), so mandatory would fail publishes that are fine.
          // A type this transport bound a group to (declareGroups, its consumers) must land: if it
          // is returned, that binding or queue was deleted, and the publish fails for the caller
          // (the relay) to repeat instead of losing the message.
          mandatory: topology.boundTypes.has(p.message.type),
          persistent: true,
          messageId: p.message.id,
          type: p.message.type,
          contentType: 'application/json',
          timestamp: Math.floor(now.getTime() / 1000),
          headers: { 'x-tidemark-attempt': 1 },
        }).catch((error: unknown) => {
          if (error instanceof UnroutableMessageError) throw error;
          throw new TidemarkError('connection_lost', `RabbitMQ did not confirm: ${String(error)}`);
        }),
      );
      await Promise.all(confirms);
    },
    async consume(consumeOptions, handler) {
      open();
      const resolved = resolveConsumeOptions(consumeOptions);
      topology.checkGroup(resolved.group);
      if (resolved.startFrom.kind !== 'new') {
        throw new ValidationError('RabbitMQ is a work queue and cannot replay: startFrom must be { kind: "new" }', {
          group: resolved.group,
        });
      }
      const consumer = await startRabbitConsumer(connection, topology, resolved, handler);
      consumers.add(consumer);
      return {
        async stop() {
          await consumer.stop();
          consumers.delete(consumer);
        },
      };
    },
    async deadLetters(group, deadLetterOptions) {
      open();
      const limit = deadLetterOptions?.limit ?? 1000;
      const model = await connection.up();
      const channel = await model.createChannel();
      channel.on('error', () => {});
      const found: DeadLetteredMessage[] = [];
      try {
        await channel.checkQueue(topology.deadQueue(group));
        // Taken without acknowledging and handed back on close: a classic queue returns them to
        // their places, so the dead letters are read, not consumed.
        while (found.length < limit) {
          const msg = await channel.get(topology.deadQueue(group), { noAck: false });
          if (!msg) break;
          found.push(decodeDeadLetter(msg.content.toString('utf8')));
        }
      } catch (error) {
        // No dead queue: the group never existed or never dead-lettered.
        if ((error as { code?: number }).code !== 404) throw error;
      } finally {
        await channel.close().catch(() => {});
      }
      return found;
    },
    async waiting(group) {
      open();
      const model = await connection.up();
      // A channel of its own: checking a queue that does not exist closes the channel.
      const channel = await model.createChannel();
      channel.on('error', () => {});
      try {
        return (await channel.checkQueue(topology.queue(group))).messageCount;
      } catch (error) {
        if ((error as { code?: number }).code !== 404) throw error;
        return 0;
      } finally {
        await channel.close().catch(() => {});
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      // Like a dropped connection: the broker requeues what consumers held unacknowledged.
      for (const consumer of consumers) consumer.abandon();
      await connection.close();
    },
    declared() {
      return { exchanges: [...topology.declared.exchanges], queues: [...topology.declared.queues] };
    },
  };
}

/** Deletes queues and exchanges (those a transport declared) over a short-lived connection. */
export async function deleteRabbitTopology(url: string, names: { exchanges: readonly string[]; queues: readonly string[] }): Promise<void> {
  const model = await connect(url);
  try {
    for (const queue of names.queues) {
      const channel = await model.createChannel();
      channel.on('error', () => {});
      await channel.deleteQueue(queue).catch(() => {});
      await channel.close().catch(() => {});
    }
    for (const exchange of names.exchanges) {
      const channel = await model.createChannel();
      channel.on('error', () => {});
      await channel.deleteExchange(exchange).catch(() => {});
      await channel.close().catch(() => {});
    }
  } finally {
    await model.close();
  }
}
