import {
  type Consumer,
  type DeliveredMessage,
  decodeEnvelope,
  encodeDeadLetter,
  errorText,
  failureText,
  KeyedDispatcher,
  type MessageHandler,
  RejectMessageError,
  type ResolvedConsumeOptions,
} from '@tidemark/core';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { RabbitConnection } from './rabbitConnection.js';
import type { RabbitTopology } from './rabbitTopology.js';

/** Attempt number the retry path writes on the copy it sends through the retry queue. */
export const attemptHeader = 'x-tidemark-attempt';

interface InHand {
  readonly channel: Channel;
  readonly msg: ConsumeMessage;
  readonly body: string;
  readonly delivered: DeliveredMessage | undefined;
  /** Why the body could not be read as an envelope, when it could not. */
  readonly unreadable: string | undefined;
  readonly key: string;
  readonly attempt: number;
}

/**
 * The delivery number of a message: the attempt its copy carries (1 when first published, n+1
 * on the copy a retry sends) plus the times the queue itself handed it out again after a consumer
 * died holding it (the quorum queue's x-delivery-count).
 */
function attemptOf(msg: ConsumeMessage): number {
  const headers = (msg.properties.headers ?? {}) as Record<string, unknown>;
  const base = Number(headers[attemptHeader] ?? 1);
  // Brokers differ on which returns x-delivery-count counts; a redelivered message is at least its second try.
  const counted = Number(headers['x-delivery-count'] ?? 0);
  const redeliveries = Math.max(Number.isFinite(counted) ? counted : 0, msg.fields.redelivered ? 1 : 0);
  return (Number.isFinite(base) && base >= 1 ? base : 1) + redeliveries;
}

/** Publishes through the confirm channel and resolves on the broker's confirm. */
function confirmed(
  connection: RabbitConnection,
  send: (channel: import('amqplib').ConfirmChannel, done: (error: unknown) => void) => void,
) {
  return connection.publisher().then(
    (channel) =>
      new Promise<void>((resolve, reject) => {
        send(channel, (error) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve()));
      }),
  );
}

/**
 * One consumer of a group: its own channel with prefetch = concurrency, a KeyedDispatcher
 * running the messages (a key's one at a time, in queue order), retries as a copy through the
 * per-delay retry queue, dead letters as a copy into the dead queue — each published with a
 * confirm before the original is acknowledged. When the connection comes back the consumer
 * opens a new channel and resumes; what it held on the old one the broker has requeued.
 */
export async function startRabbitConsumer(
  connection: RabbitConnection,
  topology: RabbitTopology,
  options: ResolvedConsumeOptions,
  handler: MessageHandler,
): Promise<Consumer & { abandon(): void }> {
  const queue = topology.queue(options.group);
  let channel: Channel | undefined;
  let consumerTag: string | undefined;
  let attaching: Promise<void> | undefined;
  let stopped = false;
  let abandoned = false;
  const retryQueues = new Map<number, string>();

  const settle = (item: InHand, action: (channel: Channel) => void) => {
    if (abandoned) return;
    try {
      action(item.channel);
    } catch {
      // The channel is gone: the broker has requeued the message already.
    }
  };

  const copyHeaders = (item: InHand, extra: Record<string, unknown>) => {
    const headers: Record<string, unknown> = { ...(item.msg.properties.headers ?? {}), ...extra };
    // x-death grows on every trip through a retry queue, x-delivery-count belongs to the old copy.
    delete headers['x-death'];
    delete headers['x-delivery-count'];
    delete headers['x-first-death-exchange'];
    delete headers['x-first-death-queue'];
    delete headers['x-first-death-reason'];
    return headers;
  };

  const retry = async (item: InHand, delayMs: number) => {
    let name = retryQueues.get(delayMs);
    if (!name) {
      const publisher = await connection.publisher();
      name = await topology.declareRetry(publisher, options.group, delayMs);
      retryQueues.set(delayMs, name);
    }
    const target = name;
    await confirmed(connection, (publisher, done) =>
      publisher.sendToQueue(
        target,
        item.msg.content,
        { ...item.msg.properties, persistent: true, headers: copyHeaders(item, { [attemptHeader]: item.attempt + 1 }) },
        done,
      ),
    );
  };

  const deadLetter = async (item: InHand, error: unknown) => {
    const text = failureText(errorText(error));
    let envelope = item.body;
    try {
      JSON.parse(envelope);
    } catch {
      envelope = JSON.stringify({ unreadable: envelope });
    }
    const body = encodeDeadLetter(envelope, { group: options.group, error: text, attempt: item.attempt, deadLetteredAt: new Date() });
    await confirmed(connection, (publisher, done) =>
      publisher.sendToQueue(
        topology.deadQueue(options.group),
        Buffer.from(body),
        {
          persistent: true,
          contentType: 'application/json',
          messageId: item.msg.properties.messageId,
          headers: { 'x-tidemark-error': text.slice(0, 1000), 'x-tidemark-group': options.group, [attemptHeader]: item.attempt },
        },
        done,
      ),
    );
  };

  const run = async (item: InHand) => {
    if (abandoned) return;
    let failure: unknown;
    try {
      if (!item.delivered) throw new RejectMessageError(item.unreadable);
      await handler(item.delivered);
      settle(item, (ch) => ch.ack(item.msg));
      return;
    } catch (error) {
      failure = error ?? new Error('handler failed');
    }
    if (abandoned) return;
    try {
      if (failure instanceof RejectMessageError || item.attempt >= options.maxDeliveries) await deadLetter(item, failure);
      else await retry(item, options.retryDelayMs(item.attempt));
      settle(item, (ch) => ch.ack(item.msg));
    } catch {
      // The copy was not confirmed: give the original back, it comes round again.
      settle(item, (ch) => ch.nack(item.msg, false, true));
    }
  };

  const dispatcher = new KeyedDispatcher<InHand>(options.concurrency, (item) => item.key, run);

  const accept = (from: Channel, msg: ConsumeMessage) => {
    const body = msg.content.toString('utf8');
    const attempt = attemptOf(msg);
    let delivered: DeliveredMessage | undefined;
    let unreadable: string | undefined;
    try {
      delivered = decodeEnvelope(body, attempt);
    } catch (error) {
      unreadable = errorText(error);
    }
    const key = delivered?.key ?? `\u0000unreadable:${msg.fields.deliveryTag}`;
    dispatcher.push({ channel: from, msg, body, delivered, unreadable, attempt, key });
  };

  const attach = async (model: ChannelModel): Promise<void> => {
    if (stopped || channel) return;
    const ch = await model.createChannel();
    ch.on('error', () => {});
    ch.on('close', () => {
      if (channel !== ch) return;
      channel = undefined;
      consumerTag = undefined;
      // A channel-level failure on a live connection: re-open here. A dropped connection is
      // handled by the connection's reconnect, which calls attach again.
      setTimeout(() => {
        const current = connection.model;
        if (!stopped && current === model) void reattach(current);
      }, 100);
    });
    await ch.prefetch(options.concurrency);
    await topology.declareGroup(ch, options.group, options.types);
    channel = ch;
    const reply = await ch.consume(
      queue,
      (msg) => {
        if (msg) accept(ch, msg);
        // The broker cancelled the consumer (its queue was deleted or moved): start over on a new
        // channel, which declares the queue again.
        else void ch.close().catch(() => {});
      },
      { noAck: false },
    );
    consumerTag = reply.consumerTag;
  };

  const reattach = (model: ChannelModel): Promise<void> => {
    if (!attaching) {
      attaching = attach(model)
        .catch(() => {
          // Failed half-way (the connection dropped again): the next reconnect tries again.
        })
        .finally(() => {
          attaching = undefined;
        });
    }
    return attaching;
  };

  const unsubscribe = connection.onReconnect((model) => {
    retryQueues.clear();
    return reattach(model);
  });
  try {
    await attach(await connection.up());
  } catch (error) {
    unsubscribe();
    stopped = true;
    await channel?.close().catch(() => {});
    throw error;
  }

  return {
    async stop() {
      stopped = true;
      unsubscribe();
      const ch = channel;
      if (ch && consumerTag) await ch.cancel(consumerTag).catch(() => {});
      await dispatcher.idle();
      channel = undefined;
      // Closing the channel hands back anything delivered after the cancel and not yet run.
      await ch?.close().catch(() => {});
    },
    abandon() {
      stopped = true;
      abandoned = true;
      unsubscribe();
    },
  };
}
