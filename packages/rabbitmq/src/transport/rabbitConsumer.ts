import {
  type Consumer,
  callHandler,
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
import type { Channel, ChannelModel, ConsumeMessage, Options } from 'amqplib';
import { confirmedPublish, UnroutableMessageError } from './confirmedPublish.js';
import type { RabbitConnection } from './rabbitConnection.js';
import { keptAsSentHeader } from './rabbitDeadLetter.js';
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

/**
 * Sends a copy straight to one of the group's queues and resolves on the broker's confirm. It is
 * mandatory: were the queue deleted, the broker would confirm and drop the copy, and acking the
 * original would lose the message.
 */
async function sendCopy(connection: RabbitConnection, queue: string, content: Buffer, options: Options.Publish): Promise<void> {
  await confirmedPublish(await connection.publisher(), '', queue, content, { ...options, mandatory: true });
}

/** How long a consumer waits before trying a failed re-attach on a live connection again. */
const reattachRetryMs = 1000;

/**
 * One consumer of a group: its own channel with prefetch = concurrency, a KeyedDispatcher
 * running the messages (a key's one at a time, in queue order), retries as a copy through the
 * per-delay retry queue, dead letters as a copy into the dead queue — each published as
 * mandatory with a confirm before the original is acknowledged. A handler that has not settled
 * within handlerTimeoutMs is failed like one that threw. When the connection comes back the
 * consumer opens a new channel and resumes; what it held on the old one the broker has requeued.
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
  /** A failed re-attach on a live connection, tried again (reattach). */
  let retryTimer: NodeJS.Timeout | undefined;
  let stopped = false;
  let abandoned = false;
  const retryQueues = new Map<number, string>();
  // Declared with the group on attach; a dead letter returned for want of it declares it again.
  let deadQueueMissing = false;

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
    try {
      await sendCopy(connection, name, item.msg.content, {
        ...item.msg.properties,
        persistent: true,
        headers: copyHeaders(item, { [attemptHeader]: item.attempt + 1 }),
      });
    } catch (error) {
      // The retry queue was deleted under us: the next retry declares it again.
      if (error instanceof UnroutableMessageError) retryQueues.delete(delayMs);
      throw error;
    }
  };

  const deadLetter = async (item: InHand, error: unknown) => {
    const text = failureText(errorText(error));
    let envelope = item.body;
    try {
      JSON.parse(envelope);
    } catch {
      envelope = JSON.stringify({ unreadable: envelope });
    }
    const deadLetteredAt = new Date();
    let content: Buffer = Buffer.from(
      encodeDeadLetter(envelope, { group: options.group, error: text, attempt: item.attempt, deadLetteredAt }),
    );
    let form = {};
    if (content.length > connection.maxMessageBytes) {
      // The broker would refuse the letter and the message come back for ever: kept as it came (see keptAsSentHeader).
      content = item.msg.content;
      form = { [keptAsSentHeader]: deadLetteredAt.toISOString() };
    }
    if (deadQueueMissing) {
      await topology.declareDeadQueue(await connection.publisher(), options.group);
      deadQueueMissing = false;
    }
    try {
      await sendCopy(connection, topology.deadQueue(options.group), content, {
        persistent: true,
        contentType: 'application/json',
        messageId: item.msg.properties.messageId,
        headers: { 'x-tidemark-error': text.slice(0, 1000), 'x-tidemark-group': options.group, [attemptHeader]: item.attempt, ...form },
      });
    } catch (error) {
      if (error instanceof UnroutableMessageError) deadQueueMissing = true;
      throw error;
    }
  };

  const run = async (item: InHand) => {
    if (abandoned) return;
    let failure: unknown;
    try {
      if (!item.delivered) throw new RejectMessageError(item.unreadable);
      await callHandler(handler, item.delivered, options);
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
      // The copy was not confirmed, or was returned (its queue is gone): give the original back,
      // it comes round again.
      settle(item, (ch) => ch.nack(item.msg, false, true));
    }
  };

  const dispatcher = new KeyedDispatcher<InHand>(options.concurrency, (item) => item.key, run);

  const accept = (from: Channel, msg: ConsumeMessage) => {
    const body = msg.content.toString('utf8');
    const attempt = attemptOf(msg);
    let delivered: DeliveredMessage | undefined;
    let unreadable: string | undefined;
    // Only what came through the exchange was routed by its type: a retry copy comes back from
    // its retry queue through the default exchange, keyed by the group's queue name (its first
    // delivery was checked).
    const routed =
      msg.fields.exchange === topology.exchange ? { type: msg.fields.routingKey, by: `routing key '${msg.fields.routingKey}'` } : undefined;
    try {
      delivered = decodeEnvelope(body, attempt, { routed });
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
    try {
      await ch.prefetch(options.concurrency);
      await topology.declareGroup(ch, options.group, options.types);
    } catch (error) {
      // Not left open behind a failed attach (a refused declare on a live connection, say).
      await ch.close().catch(() => {});
      throw error;
    }
    // stop() (or abandon()) came while this channel was opening: stop() could not see it, so
    // it must not start consuming — close it, the stopped consumer takes no more deliveries.
    if (stopped) {
      await ch.close().catch(() => {});
      return;
    }
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
          // Failed half-way. If the connection dropped again, its reconnect re-attaches. If it is
          // still up (a channel-level failure: a refused declare, the broker's channel limit),
          // nothing else would, and the consumer would stay detached without a word: try again.
          if (!stopped && connection.model === model) {
            clearTimeout(retryTimer);
            retryTimer = setTimeout(() => {
              if (!stopped && !channel && connection.model === model) void reattach(model);
            }, reattachRetryMs);
          }
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
      clearTimeout(retryTimer);
      unsubscribe();
      // A re-attach part-way through opening its channel is not in `channel` yet: wait for it.
      // It sees `stopped` and closes its channel, or (past that check) has set `channel` and
      // `consumerTag`, which are cancelled and closed below.
      await attaching;
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
      clearTimeout(retryTimer);
      unsubscribe();
    },
  };
}
