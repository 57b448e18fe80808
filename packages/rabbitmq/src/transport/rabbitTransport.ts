import {
  checkGroupName,
  type DeadLetteredMessage,
  deadLetterLimit,
  encodeEnvelope,
  PayloadTooLargeError,
  prepareMessages,
  resolveConsumeOptions,
  TidemarkError,
  type Transport,
  ValidationError,
} from '@tidemark/core';
import { type ConfirmChannel, connect } from 'amqplib';
import { confirmedPublish, ExchangeNotFoundError, UnroutableMessageError } from './confirmedPublish.js';
import { RabbitConnection } from './rabbitConnection.js';
import { startRabbitConsumer } from './rabbitConsumer.js';
import { readRabbitDeadLetter } from './rabbitDeadLetter.js';
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
  /**
   * The largest message body the broker takes: its `max_message_size`. A larger one is refused
   * with a PayloadTooLargeError before anything of its batch is sent. Default: the broker's own
   * default for its version (128 MiB before RabbitMQ 4.0, 16 MiB from 4.0); set it when the
   * broker is configured otherwise.
   */
  readonly maxMessageBytes?: number;
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
 * type this transport bound a group to is published as mandatory, so that the broker returns it
 * should no queue take it. When the broker shows that something this transport declared is gone
 * (an operator deleted the exchange, a group's queue or a binding: a returned message, or the
 * channel closed with NOT_FOUND), publish declares the exchange and its groups again on a channel
 * of its own and sends the messages that were not confirmed once more; if they fail again it
 * rejects with UnroutableMessageError or ExchangeNotFoundError, and with a `misconfigured`
 * TidemarkError if the broker refuses the declaration. A confirmed message is never sent again;
 * one left unconfirmed on the closed channel may have been stored, and the copy is the inbox's to
 * drop. Within one
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
  if (options.maxMessageBytes !== undefined && (!Number.isSafeInteger(options.maxMessageBytes) || options.maxMessageBytes < 1)) {
    throw new ValidationError('maxMessageBytes must be a whole number of at least 1', { maxMessageBytes: options.maxMessageBytes });
  }
  const connection = new RabbitConnection({
    url: options.url,
    heartbeatSeconds,
    name: options.name ?? 'tidemark',
    ...(options.maxMessageBytes === undefined ? {} : { maxMessageBytes: options.maxMessageBytes }),
  });
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
  /** A re-declaration under way, which publishes that found the topology gone meanwhile share. */
  let redeclaring: Promise<void> | undefined;
  const redeclare = (after: unknown): Promise<void> => {
    redeclaring ??= (async () => {
      const model = connection.model;
      if (!model) throw new TidemarkError('connection_lost', 'RabbitMQ is unreachable; publish again later');
      try {
        // Not the publisher channel: a refused declaration closes its channel.
        const channel = await model.createChannel();
        channel.on('error', () => {});
        try {
          await topology.redeclare(channel);
        } finally {
          await channel.close().catch(() => {});
        }
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (typeof code !== 'number') {
          throw new TidemarkError(
            'connection_lost',
            `RabbitMQ: declaring the topology again failed: ${String(error)}`,
            {},
            { cause: error },
          );
        }
        // The broker refused (a queue re-created with other arguments, permissions): repeating will not help.
        throw new TidemarkError(
          'misconfigured',
          `RabbitMQ refused to declare again what this transport declared, after ${errorMessage(after)}: ${errorMessage(error)}`,
          { exchange: topology.exchange, replyCode: code },
          { cause: error },
        );
      }
    })().finally(() => {
      redeclaring = undefined;
    });
    return redeclaring;
  };
  const open = () => {
    if (closed) throw new TidemarkError('connection_lost', 'the RabbitMQ transport is closed');
  };
  // What consume would refuse, deadLetters and waiting refuse too, rather than fail in the client on an over-long queue name.
  const checkGroup = (group: string) => topology.checkGroup(checkGroupName(group));

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
      const now = new Date();
      const encoded = prepared.map((p) => ({ type: p.message.type, id: p.message.id, content: Buffer.from(encodeEnvelope(p, now)) }));
      // The broker closes the channel on a message over its max_message_size, after confirming the
      // ones sent before it on the channel: measured first, so that a batch goes out whole or not at all.
      const maxMessageBytes = connection.maxMessageBytes;
      for (const [index, { content }] of encoded.entries()) {
        if (content.length > maxMessageBytes) {
          throw new PayloadTooLargeError(
            `message ${index} is ${content.length} bytes; the RabbitMQ broker takes at most ${maxMessageBytes}`,
            {
              limit: maxMessageBytes,
              actual: content.length,
              index,
            },
          );
        }
      }
      const send = async (batch: typeof encoded): Promise<Array<PromiseSettledResult<void>>> => {
        let publisher: ConfirmChannel;
        try {
          publisher = await connection.publisher();
        } catch (error) {
          return batch.map(() => ({ status: 'rejected', reason: error }));
        }
        // One channel publishes in order; every message resolves on its own confirm.
        return Promise.allSettled(
          batch.map((m) =>
            confirmedPublish(publisher, topology.exchange, m.type, m.content, {
              // A work queue drops what no queue is bound for: a type nobody consumes yet is published
              // and dropped by design (see above), so mandatory would fail publishes that are fine.
              // A type this transport bound a group to (declareGroups, its consumers) must land: if it
              // is returned, that binding or queue was deleted (see below).
              mandatory: topology.boundTypes.has(m.type),
              persistent: true,
              messageId: m.id,
              type: m.type,
              contentType: 'application/json',
              timestamp: Math.floor(now.getTime() / 1000),
              headers: { 'x-tidemark-attempt': 1 },
            }),
          ),
        );
      };
      const first = await send(encoded);
      const failed = encoded.filter((_, index) => first[index]?.status === 'rejected');
      const reasons = first.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []));
      if (failed.length === 0) return;
      // A confirmed message is never sent again. Were all failures the broker telling us that what
      // this transport declared is gone (an operator deleted the exchange, a group's queue or a
      // binding: a returned mandatory message, a channel closed with NOT_FOUND), declare it again
      // on a channel of its own and send the failed messages once more, in their order. They were
      // not stored — or, on the closed channel, not confirmed, and at least once allows a copy.
      if (!reasons.every(missingTopology)) throw publishFailure(reasons.find((reason) => !missingTopology(reason)));
      await redeclare(reasons[0]);
      const second = await send(failed);
      const still = second.find((result) => result.status === 'rejected');
      if (still) throw publishFailure(still.reason);
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
      const limit = deadLetterLimit(deadLetterOptions);
      checkGroup(group);
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
          found.push(readRabbitDeadLetter(msg));
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
      checkGroup(group);
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

/** A publish failure that says the exchange, a group's queue or a binding is gone from the broker. */
const missingTopology = (error: unknown): boolean => error instanceof UnroutableMessageError || error instanceof ExchangeNotFoundError;

const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** What publish rejects with: the broker's word that the topology is gone as it is, anything else as a lost connection. */
function publishFailure(error: unknown): Error {
  if (missingTopology(error) || error instanceof TidemarkError) return error as Error;
  return new TidemarkError('connection_lost', `RabbitMQ did not confirm: ${String(error)}`, {}, { cause: error });
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
