import { SpanKind } from '@opentelemetry/api';
import type { RetryOptions } from '../concurrency/retryUnitOfWork.js';
import { ValidationError } from '../domain/errors.js';
import type { EventStore, StoreTransaction } from '../eventStore/eventStore.js';
import { assertValidName } from '../eventStore/prepareAppend.js';
import { traceOrigin, withSpan } from '../tracing/tidemarkTracer.js';
import type { DeliveredMessage, MessageHandler } from '../transport/transport.js';
import type { Inbox } from './inbox.js';

export interface IdempotentHandlerOptions<Tx extends StoreTransaction> {
  store: EventStore<Tx>;
  inbox: Inbox<Tx>;
  /** The consumer's stable name: the inbox key beside the message id (one per consumer group). */
  consumer: string;
  /** The effects, written through `tx`: they commit with the inbox record or not at all. */
  handle(message: DeliveredMessage, tx: Tx): Promise<void>;
  /** Retries of the unit of work on conflicts and lost connections. Default on. */
  retry?: RetryOptions | boolean;
  /** Called when a delivery was a duplicate and skipped (for metrics). */
  onDuplicate?(message: DeliveredMessage): void;
}

/**
 * A transport handler that applies each message's effects exactly once: in one store
 * transaction it records (consumer, message id) in the inbox and runs `handle`; a message
 * already recorded is acknowledged and skipped. A crash before the commit leaves neither (the
 * broker redelivers); after it, the redelivery finds the record.
 */
export function createIdempotentHandler<Tx extends StoreTransaction>(options: IdempotentHandlerOptions<Tx>): MessageHandler {
  const { store, inbox, consumer, handle } = options;
  assertValidName(consumer, 'consumer');
  if (typeof handle !== 'function') throw new ValidationError('handle must be a function', { field: 'handle' });
  return (message) =>
    // The handling continues the trace of the request that sent the message (its traceparent header).
    withSpan(
      'tidemark.consume',
      { kind: SpanKind.CONSUMER, attributes: { 'tidemark.consumer': consumer, 'tidemark.message_type': String(message.type) } },
      () => handleOnce(message),
      traceOrigin([message.headers?.traceparent]).parent,
    );

  async function handleOnce(message: DeliveredMessage): Promise<void> {
    const first = await store.transaction(
      async (tx) => {
        if (!(await inbox.record(tx, consumer, message.id))) return false;
        await handle(message, tx);
        return true;
      },
      { retry: options.retry ?? true },
    );
    if (!first) options.onDuplicate?.(message);
  }
}
