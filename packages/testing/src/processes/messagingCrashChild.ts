import {
  type CheckpointStore,
  createLocalOutboxDelivery,
  createLogMessageConsumer,
  createMessageMapper,
  type EventStore,
  type Inbox,
  type MessageMapper,
  type Outbox,
  type SqlTransaction,
  type StoreTransaction,
} from '@tidemark/core';

/** The public messages of the crash tests: every `crash.thing.happened` event becomes one. */
export const crashMapper: MessageMapper = createMessageMapper({
  'crash.thing.happened': { type: 'crash.thing.published', data: (event) => event.data },
});

/** The consumer name of the crash tests (its checkpoint and inbox key). */
export const crashConsumer = 'crash-effects';

export interface MessagingCrashChildOptions<Tx extends StoreTransaction & SqlTransaction> {
  store: EventStore<Tx>;
  inbox: Inbox<Tx>;
  checkpoints: CheckpointStore<Tx>;
  /** Effects table (unique per test): one row per application, never de-duplicated by a constraint. */
  table: string;
  /** The store's outbox, for the state-stored cases (MODE outbox-…). */
  outbox?: Outbox<Tx>;
}

const report = (state: string) => process.stdout.write(`${JSON.stringify({ state, pid: process.pid })}\n`);

/**
 * The child process of the messaging crash tests (see messagingCrash in the adapters' e2e
 * tests). It runs the durable embedded consumer — the log read from a checkpoint, each message
 * applied through the inbox — and writes one effect row per application and a counter, so that
 * a double application shows up in the database. MODE (environment):
 *
 * - `consume`: consume; with KILL_POINT=before-commit it reports `before-commit` inside the
 *   transaction of its KILL_BATCH-th batch and then waits there for the SIGKILL; with
 *   after-commit it reports `after-commit` right after that batch committed.
 * - `append-and-consume`: also appends events in a loop while consuming (the parent kills it at
 *   a random moment): appends, effects and checkpoints all interrupted mid-flight.
 * - `drain`: consume until the checkpoint reaches the head, report `drained` and exit.
 */
export async function runMessagingCrashChild<Tx extends StoreTransaction & SqlTransaction>(
  options: MessagingCrashChildOptions<Tx>,
): Promise<void> {
  const { store, inbox, checkpoints, table } = options;
  const mode = process.env.MODE ?? 'consume';
  if (mode.startsWith('outbox-')) return runOutboxChild(options, mode);
  const killPoint = process.env.KILL_POINT;
  const killBatch = Number(process.env.KILL_BATCH ?? '1');
  let batches = 0;
  const consumer = createLogMessageConsumer({
    consumer: crashConsumer,
    store,
    checkpoints,
    inbox,
    mapper: crashMapper,
    batchSize: 5,
    pollIntervalMs: 20,
    retry: { maxAttempts: 1000, initialDelayMs: 5, maxDelayMs: 50 },
    async handle(message, tx) {
      await tx.sql.execute(`INSERT INTO ${table}_effects (message_id) VALUES ($1)`, [message.id]);
      await tx.sql.execute(`UPDATE ${table}_counter SET applied = applied + 1 WHERE one = 1`);
    },
    onBatch() {
      batches++;
      if (killPoint === 'after-commit' && batches === killBatch) report('after-commit');
    },
  });
  // The kill point before the commit: wrap the store so the chosen batch's transaction stops
  // after its effects were written and before COMMIT, and says so.
  if (killPoint === 'before-commit') {
    const transaction = store.transaction.bind(store);
    let transactions = 0;
    store.transaction = (async (work: (tx: Tx) => Promise<unknown>, transactionOptions?: Parameters<typeof transaction>[1]) =>
      transaction(async (tx) => {
        const applied = async () =>
          Number((await tx.sql.query<{ applied: number | string }>(`SELECT applied FROM ${table}_counter`))[0]?.applied);
        const before = await applied();
        const result = await work(tx);
        // Only a batch transaction that applied something counts (not checkpoint loads).
        if ((await applied()) > before && ++transactions === killBatch) {
          report('before-commit');
          await new Promise(() => {}); // hold the transaction open until the SIGKILL
        }
        return result;
      }, transactionOptions)) as typeof store.transaction;
  }
  await consumer.start();
  report('running');
  if (mode === 'append-and-consume') {
    void (async () => {
      for (let n = 0; ; n++) {
        const stream = `thing-${process.pid}-${n % 7}`;
        const count = 1 + (n % 3);
        await store.appendToStream(
          stream,
          Array.from({ length: count }, (_, i) => ({ type: 'crash.thing.happened', data: { n, i } })),
        );
        if (n % 4 === 0) await store.appendToStream(stream, [{ type: 'crash.private.noted', data: { n } }]);
      }
    })();
  }
  if (mode === 'drain') {
    for (;;) {
      const head = await store.headPosition();
      if (await consumer.waitForPosition(head, { timeoutMs: 30_000 })) break;
    }
    await consumer.stop();
    report('drained');
    await store.close();
    process.exit(0);
  }
}

/** The effects tables of one crash test, made by the parent before the first child. */
export async function createCrashTables<Tx extends StoreTransaction & SqlTransaction>(store: EventStore<Tx>, table: string): Promise<void> {
  await store.transaction(async (tx) => {
    await tx.sql.execute(`CREATE TABLE ${table}_effects (message_id TEXT NOT NULL)`);
    await tx.sql.execute(`CREATE TABLE ${table}_counter (one INTEGER PRIMARY KEY, applied BIGINT NOT NULL)`);
    await tx.sql.execute(`INSERT INTO ${table}_counter (one, applied) VALUES (1, 0)`);
    await tx.sql.execute(`CREATE TABLE ${table}_orders (id TEXT PRIMARY KEY, changes BIGINT NOT NULL)`);
  });
}

/**
 * The state-stored cases: `outbox-append-and-deliver` changes an order row and adds an outbox
 * message in one transaction, in a loop, while the local delivery applies the messages through
 * the inbox; the parent kills it at random. `outbox-drain` delivers until the outbox is empty.
 */
async function runOutboxChild<Tx extends StoreTransaction & SqlTransaction>(
  options: MessagingCrashChildOptions<Tx>,
  mode: string,
): Promise<void> {
  const { store, inbox, table } = options;
  const outbox = options.outbox;
  if (!outbox) throw new Error('the outbox cases need an outbox');
  const delivery = createLocalOutboxDelivery({
    store,
    outbox,
    inbox,
    consumer: crashConsumer,
    batchSize: 5,
    pollIntervalMs: 20,
    retry: { initialDelayMs: 5, maxDelayMs: 50 },
    async handle(message, tx) {
      await tx.sql.execute(`INSERT INTO ${table}_effects (message_id) VALUES ($1)`, [message.id]);
      await tx.sql.execute(`UPDATE ${table}_counter SET applied = applied + 1 WHERE one = 1`);
    },
  });
  await delivery.start();
  report('running');
  if (mode === 'outbox-append-and-deliver') {
    for (let n = 0; ; n++) {
      const order = `order-${process.pid}-${n % 7}`;
      await store.transaction(async (tx) => {
        // The state change and its message, in one transaction: both or neither survive a kill.
        const changed = await tx.sql.execute(`UPDATE ${table}_orders SET changes = changes + 1 WHERE id = $1`, [order]);
        if (changed === 0) await tx.sql.execute(`INSERT INTO ${table}_orders (id, changes) VALUES ($1, 1)`, [order]);
        await outbox.add(tx, [{ id: `${process.pid}-${n}`, type: 'crash.order.changed', schemaVersion: 1, key: order, data: { n } }]);
      });
    }
  }
  for (;;) {
    const { backlog } = await store.transaction((tx) => outbox.stats(tx));
    if (backlog === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 20)); // polling the condition, not a synchronisation
  }
  await delivery.stop();
  report('drained');
  await store.close();
  process.exit(0);
}
