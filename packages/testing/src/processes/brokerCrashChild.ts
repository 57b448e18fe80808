import { randomUUID } from 'node:crypto';
import {
  type CheckpointStore,
  type ConsumeOptions,
  createIdempotentHandler,
  createOutboxRelay,
  type EventStore,
  type Inbox,
  type Outbox,
  type SqlTransaction,
  type StoreTransaction,
  type Transport,
} from '@tidemark/core';
import { crashConsumer, crashMapper } from './messagingCrashChild.js';

export { crashConsumer };

/** Message types of the broker crash tests: the log form (mapped events) and the outbox table form. */
export const brokerCrashTypes = ['crash.thing.published', 'crash.order.changed'] as const;

export interface BrokerCrashChildOptions<Tx extends StoreTransaction & SqlTransaction> {
  store: EventStore<Tx>;
  inbox: Inbox<Tx>;
  outbox: Outbox<Tx>;
  checkpoints: CheckpointStore<Tx>;
  /** Effects tables' prefix (see createCrashTables). */
  table: string;
  /** Connects the child's own transport to the test's broker (stream / queue names from the environment). */
  connect(): Promise<Transport>;
}

/**
 * The consumer group of the broker crash tests. On a streaming broker it starts from the whole
 * stream (whatever was published before the group's first consumer); a work queue has its
 * queue declared up front instead (declareGroups), and no start position.
 */
export function crashGroup(transport: Transport): ConsumeOptions {
  return { group: crashConsumer, types: brokerCrashTypes, ...(transport.replayable && { startFrom: { kind: 'all' } }) };
}

const report = (state: string) => process.stdout.write(`${JSON.stringify({ state, pid: process.pid })}\n`);
const forever = () => new Promise<never>(() => {});

/**
 * Applies one message: an effect row and the counter, never de-duplicated by a constraint, so
 * that a double application shows up in the database.
 */
export async function applyCrashEffect(tx: SqlTransaction, table: string, messageId: string): Promise<void> {
  await tx.sql.execute(`INSERT INTO ${table}_effects (message_id) VALUES ($1)`, [messageId]);
  await tx.sql.execute(`UPDATE ${table}_counter SET applied = applied + 1 WHERE one = 1`);
}

/**
 * The child process of the broker crash tests (relay and consumer SIGKILLed while a real broker
 * carries the messages). MODE (environment):
 *
 * - `relay`: appends events (the log form) and changes order rows with their outbox messages in
 *   one transaction (the table form), in a loop, while two relays publish both sources to the
 *   broker; the parent kills it at a random moment.
 * - `relay-drain`: runs the relays until both sources have no backlog, reports `drained`, exits.
 * - `consume`: consumes the broker's messages through the inbox (createIdempotentHandler). With
 *   KILL_POINT=before-commit it reports `before-commit` inside the transaction of its KILL_AT-th
 *   new message, effects written, and waits there for the SIGKILL; with after-commit it reports
 *   `after-commit` once that message's transaction committed, before the broker got its ack.
 *   Without KILL_POINT it consumes until killed (the parent's drain).
 */
export async function runBrokerCrashChild<Tx extends StoreTransaction & SqlTransaction>(
  options: BrokerCrashChildOptions<Tx>,
): Promise<void> {
  const mode = process.env.MODE ?? 'consume';
  const transport = await options.connect();
  if (mode === 'relay' || mode === 'relay-drain') return runRelays(options, transport, mode);
  if (mode === 'consume') return runConsumer(options, transport);
  throw new Error(`unknown MODE '${mode}'`);
}

async function runRelays<Tx extends StoreTransaction & SqlTransaction>(
  options: BrokerCrashChildOptions<Tx>,
  transport: Transport,
  mode: string,
): Promise<void> {
  const { store, outbox, checkpoints, table } = options;
  const common = { store, transport, batchSize: 20, pollIntervalMs: 20, retry: { initialDelayMs: 10, maxDelayMs: 200 } };
  const logRelay = createOutboxRelay({ ...common, name: 'crash-log-relay', source: { kind: 'log', checkpoints, mapper: crashMapper } });
  const tableRelay = createOutboxRelay({ ...common, name: 'crash-table-relay', source: { kind: 'table', outbox } });
  await logRelay.start();
  await tableRelay.start();
  report('running');
  if (mode === 'relay') {
    // Three writers at once: on PostgreSQL their transactions commit out of position order, which
    // the log relay must not skip past.
    const writer = async (w: number) => {
      for (let n = 0; ; n++) {
        // The log form: public events and, now and then, a private one the mapper drops.
        const count = 1 + (n % 3);
        await store.appendToStream(`thing-${w}-${n % 7}`, [
          ...Array.from({ length: count }, (_, i) => ({ type: 'crash.thing.happened', data: { w, n, i } })),
          ...(n % 3 === 0 ? [{ type: 'crash.private.noted', data: { w, n } }] : []),
        ]);
        // The table form: the state change and its message in one transaction, both or neither.
        const order = `order-${w}-${n % 5}`;
        await store.transaction(async (tx) => {
          const changed = await tx.sql.execute(`UPDATE ${table}_orders SET changes = changes + 1 WHERE id = $1`, [order]);
          if (changed === 0) await tx.sql.execute(`INSERT INTO ${table}_orders (id, changes) VALUES ($1, 1)`, [order]);
          // One state change, one message: the test compares their counts.
          await outbox.add(tx, [{ id: randomUUID(), type: 'crash.order.changed', schemaVersion: 1, key: order, data: { w, n } }]);
        });
      }
    };
    await Promise.all([0, 1, 2].map(writer)); // until the SIGKILL
  }
  for (;;) {
    const [log, rows] = [await logRelay.sample(), await tableRelay.sample()];
    if (log.backlog === 0 && rows.backlog === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 20)); // polling the condition, not a synchronisation
  }
  await logRelay.stop();
  await tableRelay.stop();
  await transport.close();
  report('drained');
  await store.close();
  process.exit(0);
}

async function runConsumer<Tx extends StoreTransaction & SqlTransaction>(
  options: BrokerCrashChildOptions<Tx>,
  transport: Transport,
): Promise<void> {
  const { store, inbox, table } = options;
  const killPoint = process.env.KILL_POINT;
  const killAt = Number(process.env.KILL_AT ?? '1');
  let applied = 0;
  let committed = 0;
  const idempotent = createIdempotentHandler({
    store,
    inbox,
    consumer: crashConsumer,
    async handle(message, tx) {
      await applyCrashEffect(tx, table, message.id);
      // Only new messages reach here (a duplicate is skipped by the inbox before it).
      if (killPoint === 'before-commit' && ++applied === killAt) {
        report('before-commit');
        await forever(); // the transaction stays open, effects written, until the SIGKILL
      }
    },
  });
  await transport.consume(crashGroup(transport), async (message) => {
    await idempotent(message);
    if (killPoint === 'after-commit' && message.attempt === 1 && ++committed === killAt) {
      report('after-commit');
      await forever(); // committed, never acknowledged: the broker must redeliver it after the SIGKILL
    }
  });
  report('running');
}
