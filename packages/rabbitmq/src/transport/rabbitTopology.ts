import { ValidationError } from '@tidemark/core';
import type { Channel } from 'amqplib';

/**
 * The exchange and queues of one RabbitMQ transport: a durable topic exchange `<prefix>` routing
 * by message type; per group a durable quorum queue `<prefix>.<group>` bound to its types, a
 * classic queue `<prefix>.<group>.dead` for dead letters, and per retry delay a classic queue
 * `<prefix>.<group>.retry.<ms>` whose messages expire after the delay and are dead-lettered
 * back to the group's queue (the TTL + DLX retry pattern; one TTL per queue keeps them FIFO).
 */
export class RabbitTopology {
  /** Every queue and exchange this transport declared, so tests and tools can remove them. */
  readonly declared = { exchanges: new Set<string>(), queues: new Set<string>() };
  /** Message types this transport bound a group's queue to: a message of one of them must land somewhere. */
  readonly boundTypes = new Set<string>();
  /** The groups this transport declared, with the types it bound each to: what redeclare() declares again. */
  private readonly groups = new Map<string, Set<string>>();

  constructor(readonly exchange: string) {
    if (!/^[A-Za-z0-9_.-]{1,100}$/.test(exchange)) {
      throw new ValidationError('prefix must be 1–100 letters, digits, _, . or -', { prefix: exchange });
    }
    // The broker reserves these names: 'amq.x' is refused at start, and 'amq.topic' (which exists)
    // would be taken for the transport's own exchange and then fail on its first queue.
    if (exchange.startsWith('amq.'))
      throw new ValidationError("prefix must not start with 'amq.', which RabbitMQ reserves", { prefix: exchange });
  }

  /**
   * Refuses a group whose queue names would pass AMQP's 255 bytes: the broker client would throw
   * only when the name is first used — for a retry queue at the first retry, so a failed message
   * could neither be retried nor dead-lettered.
   */
  checkGroup(group: string): void {
    // The longest name: a retry queue for the longest delay a timer takes (2^31 - 1 ms).
    const longest = this.retryQueue(group, 2 ** 31 - 1);
    if (Buffer.byteLength(longest) > 255) {
      throw new ValidationError(`group '${group}' is too long for this prefix: its queue names would pass AMQP's 255 bytes`, {
        group,
        prefix: this.exchange,
      });
    }
  }

  queue(group: string): string {
    return `${this.exchange}.${group}`;
  }

  deadQueue(group: string): string {
    return `${this.queue(group)}.dead`;
  }

  retryQueue(group: string, delayMs: number): string {
    return `${this.queue(group)}.retry.${delayMs}`;
  }

  async declareExchange(channel: Channel): Promise<void> {
    await channel.assertExchange(this.exchange, 'topic', { durable: true });
    this.declared.exchanges.add(this.exchange);
  }

  async declareGroup(channel: Channel, group: string, types: readonly string[]): Promise<void> {
    await this.declareExchange(channel);
    const queue = this.queue(group);
    await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    this.declared.queues.add(queue);
    const bound = this.groups.get(group) ?? new Set<string>();
    this.groups.set(group, bound);
    for (const type of types) {
      await channel.bindQueue(queue, this.exchange, type);
      this.boundTypes.add(type);
      bound.add(type);
    }
    await this.declareDeadQueue(channel, group);
  }

  /**
   * Declares again what publishing relies on, after the broker showed some of it gone (an operator
   * deleted the exchange, a queue or a binding): the exchange, and every group this transport
   * declared with its queue, bindings and dead queue. Declarations are idempotent, so what is
   * still there is left as it is. Retry queues are the consumers' to declare again.
   */
  async redeclare(channel: Channel): Promise<void> {
    await this.declareExchange(channel);
    for (const [group, types] of [...this.groups]) await this.declareGroup(channel, group, [...types]);
  }

  async declareDeadQueue(channel: Channel, group: string): Promise<void> {
    await channel.assertQueue(this.deadQueue(group), { durable: true });
    this.declared.queues.add(this.deadQueue(group));
  }

  async declareRetry(channel: Channel, group: string, delayMs: number): Promise<string> {
    const name = this.retryQueue(group, delayMs);
    await channel.assertQueue(name, {
      durable: true,
      arguments: { 'x-message-ttl': delayMs, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': this.queue(group) },
    });
    this.declared.queues.add(name);
    return name;
  }
}
