/**
 * The Transport port: how messages leave a service and reach others. Two kinds of broker sit
 * behind it — a streaming log (NATS JetStream: retained, replayable) and a work queue
 * (RabbitMQ: deleted on ack) — and the in-process transport of the embedded default. Delivery
 * is at least once everywhere; consumers turn it into exactly-once effects with an inbox.
 */

/** A message handed to a transport: an integration message, never a private domain event. */
export interface OutgoingMessage {
  /**
   * Unique and stable across retries of the same message (the outbox row's or event's id): the
   * broker drops a re-published duplicate within its window (Nats-Msg-Id, AMQP message-id) and
   * the consumer's inbox drops one past it.
   */
  readonly id: string;
  /** Public message type, `domain.entity.action` (`shop.order.placed`); routes the message. */
  readonly type: string;
  /** Schema version of `data`; travels beside the type (`shop.order.placed` v2). */
  readonly schemaVersion: number;
  /** Ordering key (the stream id, say): messages of one key are delivered in publish order. */
  readonly key: string;
  /** JSON-serialisable payload. */
  readonly data: unknown;
  /** Correlation id, causation id, traceparent, tenant…: string headers carried end to end. */
  readonly headers?: Readonly<Record<string, string>>;
  /** When the fact happened (the event's recordedAt); defaults to the publish time. */
  readonly occurredAt?: Date;
}

/** A message as a consumer receives it. */
export interface DeliveredMessage extends OutgoingMessage {
  readonly headers: Readonly<Record<string, string>>;
  readonly occurredAt: Date;
  /** 1 on the first delivery to this consumer group, counting up on every redelivery. */
  readonly attempt: number;
  /** Position in the broker's retained log, for streaming transports (JetStream stream sequence). */
  readonly sequence?: bigint;
}

/** Where a streaming consumer group starts the first time it is created. */
export type StartFrom =
  | { readonly kind: 'new' }
  | { readonly kind: 'all' }
  | { readonly kind: 'sequence'; readonly sequence: bigint }
  | { readonly kind: 'time'; readonly time: Date };

export interface ConsumeOptions {
  /**
   * Consumer group: consumers of one group compete for its messages (each is handled by one of
   * them); every group receives every message of its types.
   */
  readonly group: string;
  /** Message types this group receives. */
  readonly types: readonly string[];
  /** Messages handled at once by this consumer (prefetch). Default 1. */
  readonly concurrency?: number;
  /** Deliveries before a failing message is dead-lettered with its last error. Default 5. */
  readonly maxDeliveries?: number;
  /** Delay before redelivery after the n-th failed attempt. Default: 100 ms × 2^(n-1), capped at 30 s. */
  readonly retryDelayMs?: (attempt: number) => number;
  /** Streaming transports only: where a new group starts. Default `{ kind: 'new' }`. */
  readonly startFrom?: StartFrom;
  /**
   * How long a handler may run before its attempt counts as failed (a HandlerTimeoutError,
   * retried or dead-lettered like a thrown error) and its concurrency slot is freed; whole
   * milliseconds from 1 to 2^31 - 1. A handler cannot be cancelled: it runs on, and whatever it
   * settles with later is ignored — so its side effects must be idempotent (an inbox) like any
   * redelivery's, and its key's next message may start beside it.
   *
   * Default 5 minutes: long enough for a handler doing slow I/O (a payment call, a big
   * projection write), short enough that a hung one does not hold its key, its slot and a
   * stopping consumer for long — and below RabbitMQ's 30-minute delivery acknowledgement
   * timeout, which would close the consumer's channel and requeue everything it holds.
   */
  readonly handlerTimeoutMs?: number;
}

/**
 * Handles one message. Resolving acknowledges it; throwing — or not settling within
 * handlerTimeoutMs — schedules a redelivery after the retry delay (or dead-letters it once
 * maxDeliveries is reached); throwing RejectMessageError dead-letters it at once (a poison
 * message retries cannot fix).
 */
export type MessageHandler = (message: DeliveredMessage) => Promise<void>;

export interface Consumer {
  /**
   * Stops taking new messages, waits for those in hand (each at most its handlerTimeoutMs), and
   * leaves unacknowledged ones to be redelivered.
   */
  stop(): Promise<void>;
}

/** A message that exhausted its deliveries or was rejected, with the error that failed it. */
export interface DeadLetteredMessage {
  readonly message: DeliveredMessage;
  readonly group: string;
  readonly error: string;
  readonly deadLetteredAt: Date;
}

export interface Transport {
  /** Short name for metrics and logs: 'in-memory', 'jetstream', 'rabbitmq'. */
  readonly name: string;
  /** True when the transport retains messages and can replay from a sequence or a time. */
  readonly replayable: boolean;
  /**
   * Publishes messages and resolves only once the broker has durably accepted every one of them
   * (JetStream PubAck, RabbitMQ publisher confirm). Rejects if any was not accepted: the caller
   * (the relay) publishes them again, and the broker's and the inbox's de-duplication make that
   * safe. Messages of one key are accepted in the order given.
   */
  publish(messages: readonly OutgoingMessage[]): Promise<void>;
  /** Starts consuming; resolves once the consumer is subscribed. */
  consume(options: ConsumeOptions, handler: MessageHandler): Promise<Consumer>;
  /** Dead-lettered messages of a group, oldest first. */
  deadLetters(group: string, options?: { limit?: number }): Promise<DeadLetteredMessage[]>;
  /**
   * A consumer group's lag in messages: those published to it that wait for a consumer, not
   * counting the ones in a consumer's hands. JetStream counts what the group's consumer has not
   * yet delivered; RabbitMQ the ready messages of the group's queue (a message waiting out a
   * retry delay is not ready). 0 for a group that does not exist.
   */
  waiting(group: string): Promise<number>;
  close(): Promise<void>;
}

/** Thrown by a handler to dead-letter a message at once instead of retrying it. */
export class RejectMessageError extends Error {
  override readonly name = 'RejectMessageError';
}

/**
 * The failure of an attempt whose handler did not settle within the group's handlerTimeoutMs:
 * the message is retried or dead-lettered with this as its error.
 */
export class HandlerTimeoutError extends Error {
  override readonly name = 'HandlerTimeoutError';

  constructor(
    readonly group: string,
    readonly messageId: string,
    readonly timeoutMs: number,
  ) {
    super(`handler of group '${group}' did not settle message '${messageId}' within ${timeoutMs} ms`);
  }
}
