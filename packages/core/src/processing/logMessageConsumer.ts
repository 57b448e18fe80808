import { SpanKind } from '@opentelemetry/api';
import { ValidationError } from '../domain/errors.js';
import type { StoreTransaction } from '../eventStore/eventStore.js';
import type { MessageMapper } from '../outbox/messageMapper.js';
import { traceOrigin, withSpan } from '../tracing/tidemarkTracer.js';
import type { DeliveredMessage } from '../transport/transport.js';
import type { Inbox } from './inbox.js';
import { createProjector, type Projector, type ProjectorOptions } from './projector.js';

export interface LogMessageConsumerOptions<Tx extends StoreTransaction> extends Omit<ProjectorOptions<Tx>, 'projection'> {
  /** The consumer's stable name: its checkpoint and its inbox key. */
  consumer: string;
  inbox: Inbox<Tx>;
  /** The same mapper the relay uses: the consumer sees the public messages, never the private events. */
  mapper: MessageMapper;
  /** Public message types this consumer handles (all the mapper makes when absent). */
  types?: readonly string[];
  /** The effects, through `tx`: they commit with the inbox record and the checkpoint. */
  handle(message: DeliveredMessage, tx: Tx): Promise<void>;
  /** Creates the tables the effects write to (idempotent), before the first message; like Projection.setup. */
  setup?(tx: Tx): Promise<void>;
}

/**
 * The durable in-process consumer of the embedded default (no broker configured): it reads the
 * event log from its own checkpoint, maps events to integration messages, and applies each
 * through the inbox — effects, inbox record and checkpoint in one transaction. Nothing is held
 * in memory between a commit and its effects, so a SIGKILL anywhere loses nothing and applies
 * nothing twice (an in-memory emitter would lose what it held). It is a projector underneath:
 * leases, failover, retries and dead letters come with it.
 */
export function createLogMessageConsumer<Tx extends StoreTransaction>(options: LogMessageConsumerOptions<Tx>): Projector {
  const { consumer, inbox, mapper, handle, types, setup } = options;
  if (typeof handle !== 'function') throw new ValidationError('handle must be a function', { field: 'handle' });
  const wanted = types && new Set(types);
  return createProjector({
    ...options,
    projection: {
      name: consumer,
      types: mapper.eventTypes.length > 0 ? mapper.eventTypes : ['tidemark.no-mapped-events'],
      ...(setup && { setup: (tx: Tx) => setup(tx) }),
      async apply(events, tx) {
        for (const event of events) {
          const message = mapper.map(event);
          if (!message || (wanted && !wanted.has(message.type))) continue;
          if (!(await inbox.record(tx, consumer, message.id))) continue;
          const delivered = { ...message, headers: message.headers ?? {}, occurredAt: message.occurredAt ?? event.recordedAt, attempt: 1 };
          await withSpan(
            'tidemark.consume',
            { kind: SpanKind.CONSUMER, attributes: { 'tidemark.consumer': consumer, 'tidemark.message_type': message.type } },
            () => handle(delivered, tx),
            traceOrigin([delivered.headers.traceparent]).parent,
          );
        }
      },
    },
  });
}
