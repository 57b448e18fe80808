import { TidemarkError } from '../domain/errors.js';
import { InMemoryBroker, type InMemoryBrokerOptions } from './inMemoryBroker.js';
import type { Consumer, Transport } from './transport.js';
import { checkGroupName, deadLetterLimit, prepareMessages, resolveConsumeOptions } from './transportInput.js';

export interface InMemoryTransportOptions extends InMemoryBrokerOptions {
  /**
   * The broker to connect to. Give the same one to several transports to model several
   * processes (closing one drops its consumers' unacknowledged messages back to their groups);
   * by default each transport has its own.
   */
  readonly broker?: InMemoryBroker;
}

/** A broker for several in-memory transports to share (see InMemoryTransportOptions.broker). */
export function createInMemoryBroker(options: InMemoryBrokerOptions = {}): InMemoryBroker {
  return new InMemoryBroker(options);
}

/**
 * The reference Transport, in process: a retained log (replayable from a sequence or a time),
 * consumer groups, per-key order within a group (a key's next message waits until the previous
 * one is acknowledged or dead-lettered, across competing consumers and retries), retries after
 * the configured delay, dead letters with their error, and de-duplication of a re-published
 * message id within a window. Nothing survives the process: it is for tests and for wiring that
 * tolerates loss — the durable embedded default reads the log or the outbox table instead.
 */
export function createInMemoryTransport(options: InMemoryTransportOptions = {}): Transport {
  const ownsBroker = options.broker === undefined;
  const broker = options.broker ?? new InMemoryBroker(options);
  const connection = {};
  let closed = false;
  const open = () => {
    if (closed) throw new TidemarkError('connection_lost', 'the in-memory transport is closed');
  };
  return {
    name: 'in-memory',
    replayable: true,
    async publish(messages) {
      open();
      broker.publish(prepareMessages(messages));
    },
    async consume(consumeOptions, handler): Promise<Consumer> {
      open();
      const consumer = broker.subscribe(resolveConsumeOptions(consumeOptions), handler, connection);
      return { stop: () => broker.stop(consumer) };
    },
    async deadLetters(group, deadLetterOptions) {
      open();
      return broker.deadLetters(checkGroupName(group), deadLetterLimit(deadLetterOptions));
    },
    async waiting(group) {
      open();
      return broker.waiting(checkGroupName(group));
    },
    async close() {
      if (closed) return;
      closed = true;
      // Like a dropped connection: whatever its consumers still hold goes back to their groups.
      broker.drop(connection);
      if (ownsBroker) broker.shutdown();
    },
  };
}
