import type { ConfirmChannel, Message, Options } from 'amqplib';

/**
 * A message published as mandatory that no queue took — its queue or binding is missing (an
 * operator deleted it): the broker returned it and confirmed it anyway, so it is not stored.
 */
export class UnroutableMessageError extends Error {
  override readonly name = 'UnroutableMessageError';

  constructor(
    readonly exchange: string,
    readonly routingKey: string,
    reason: string,
  ) {
    super(
      `RabbitMQ returned a message for routing key '${routingKey}' on ${exchange === '' ? 'the default exchange' : `exchange '${exchange}'`}: no queue took it (${reason})`,
    );
  }
}

/**
 * The broker closed the publisher channel with NOT_FOUND (404) before confirming a publish: the
 * exchange it was published to does not exist (an operator deleted it). Nothing on that channel
 * still unconfirmed counts as sent: it may or may not have been stored.
 */
export class ExchangeNotFoundError extends Error {
  override readonly name = 'ExchangeNotFoundError';

  constructor(
    readonly exchange: string,
    readonly routingKey: string,
    reason: string,
  ) {
    super(
      `RabbitMQ did not confirm a message for routing key '${routingKey}' on exchange '${exchange}': it closed the channel (${reason})`,
    );
  }
}

/** Why the broker closed a publisher channel (its channel.close: code and text), once it did. */
const closedBy = new WeakMap<ConfirmChannel, { code?: unknown; message: string }>();
const watched = new WeakSet<ConfirmChannel>();

/** Remembers the broker's reason when it closes `channel`: amqplib emits it before the channel's confirms fail with a bare 'channel closed'. */
function watch(channel: ConfirmChannel): void {
  if (watched.has(channel)) return;
  watched.add(channel);
  channel.on('error', (error: { code?: unknown; message?: unknown }) => {
    closedBy.set(channel, { code: error?.code, message: String(error?.message ?? error) });
  });
}

/** The error a failed publish rejects with: ExchangeNotFoundError when the broker closed the channel with 404. */
function failure(channel: ConfirmChannel, exchange: string, routingKey: string, error: unknown): Error {
  const closed = closedBy.get(channel);
  if (closed?.code === 404) return new ExchangeNotFoundError(exchange, routingKey, closed.message);
  return error instanceof Error ? error : new Error(String(error));
}

interface Pending {
  /** The broker's reason, once it returned this publish. */
  returned: string | undefined;
}

/** Per publisher channel: mandatory publishes awaiting their confirm, by exchange, routing key and message id. */
const pendingByChannel = new WeakMap<ConfirmChannel, Map<string, Set<Pending>>>();

const slot = (exchange: string, routingKey: string, messageId: unknown) => JSON.stringify([exchange, routingKey, messageId ?? null]);

function pendingOf(channel: ConfirmChannel): Map<string, Set<Pending>> {
  let pending = pendingByChannel.get(channel);
  if (!pending) {
    const created = new Map<string, Set<Pending>>();
    // The broker sends basic.return before the basic.ack of the same publish, and amqplib handles
    // frames in order, so a publish is marked here before its confirm callback runs. A return
    // carries no publish sequence number: it marks every unconfirmed publish of the same message
    // to the same place — at worst a publish that did land is reported failed and sent again,
    // which at-least-once delivery (and the inbox) already allows; never the other way round.
    channel.on('return', (message: Message) => {
      const reason = (message.fields as { replyText?: string }).replyText ?? 'NO_ROUTE';
      for (const entry of created.get(slot(message.fields.exchange, message.fields.routingKey, message.properties.messageId)) ?? []) {
        entry.returned = reason;
      }
    });
    pendingByChannel.set(channel, created);
    pending = created;
  }
  return pending;
}

/**
 * Publishes on a confirm channel and resolves on the broker's confirm. With `mandatory`, a
 * message the broker returns (no queue bound for it) rejects with UnroutableMessageError instead
 * of resolving: its confirm alone would say it was stored. A channel the broker closed with
 * NOT_FOUND (the exchange is gone) rejects with ExchangeNotFoundError; a nack or another closed
 * channel rejects with the client's error.
 */
export function confirmedPublish(
  channel: ConfirmChannel,
  exchange: string,
  routingKey: string,
  content: Buffer,
  options: Options.Publish,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    watch(channel);
    const pending = options.mandatory ? pendingOf(channel) : undefined;
    const key = slot(exchange, routingKey, options.messageId);
    const entry: Pending = { returned: undefined };
    const untrack = () => {
      const entries = pending?.get(key);
      entries?.delete(entry);
      if (entries?.size === 0) pending?.delete(key);
    };
    if (pending) pending.set(key, (pending.get(key) ?? new Set()).add(entry));
    try {
      channel.publish(exchange, routingKey, content, options, (error: unknown) => {
        untrack();
        if (error) reject(failure(channel, exchange, routingKey, error));
        else if (entry.returned !== undefined) reject(new UnroutableMessageError(exchange, routingKey, entry.returned));
        else resolve();
      });
    } catch (error) {
      // The channel closed under it: amqplib throws instead of calling back.
      untrack();
      reject(failure(channel, exchange, routingKey, error));
    }
  });
}
