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
 * of resolving: its confirm alone would say it was stored. A nack or a closed channel rejects
 * with the client's error.
 */
export function confirmedPublish(
  channel: ConfirmChannel,
  exchange: string,
  routingKey: string,
  content: Buffer,
  options: Options.Publish,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
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
        if (error) reject(error instanceof Error ? error : new Error(String(error)));
        else if (entry.returned !== undefined) reject(new UnroutableMessageError(exchange, routingKey, entry.returned));
        else resolve();
      });
    } catch (error) {
      // The channel closed under it: amqplib throws instead of calling back.
      untrack();
      reject(error);
    }
  });
}
