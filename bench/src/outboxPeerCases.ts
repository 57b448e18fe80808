import { createLocalOutboxDelivery, type EventStore } from '@tidemark/core';
import { Logger, run, runMigrations } from 'graphile-worker';
import pg from 'pg';
import { type BenchResult, benchResult } from './benchResult.js';
import { latencies, openLoop, percentile, until } from './openLoop.js';
import type { BenchTx, OutboxBenchStore } from './outboxStores.js';
import { postgresUrl } from './postgresBackend.js';
import { quote } from './rawPgStore.js';
import { benchMessageType } from './transportMessages.js';
import type { WorkloadDefinition } from './workload.js';

export const graphileBaseline = 'graphile-worker-0.17';
/** Writers filling the backlog of the drain case (untimed) at once. */
const fillWriters = 8;
/** graphile-worker's jobs in hand at once: the pool's default size (10). */
const graphileConcurrency = 10;

/**
 * One side of the comparison: a state change and the message about it in one transaction
 * (`produce`), and a consumer that commits one effect row per message (`start`).
 */
interface PeerSide {
  produce(i: number): Promise<void>;
  start(onEffect: (i: number, at: number) => void): Promise<void>;
  stop(): Promise<void>;
}

async function prepareTables(bench: OutboxBenchStore): Promise<{ accounts: string; effects: string }> {
  const accounts = bench.table('bench_accounts');
  const effects = bench.table('bench_effects');
  await bench.store.transaction(async (tx) => {
    await tx.sql.execute(`CREATE TABLE ${accounts} (id TEXT PRIMARY KEY, balance BIGINT NOT NULL)`);
    await tx.sql.execute(`INSERT INTO ${accounts} (id, balance) SELECT 'account-' || n, 0 FROM generate_series(0, 99) AS n`);
    await tx.sql.execute(`CREATE TABLE ${effects} (message_id TEXT PRIMARY KEY, i INTEGER NOT NULL)`);
  });
  return { accounts, effects };
}

/**
 * tidemark: the state change and `outbox.add` in one transaction; the local delivery applies each
 * message through the inbox — effect, inbox record and published mark in one transaction per batch.
 */
async function tidemarkSide(bench: OutboxBenchStore, workload: WorkloadDefinition): Promise<PeerSide> {
  const { accounts, effects } = await prepareTables(bench);
  const { store, outbox, inbox } = bench;
  let onEffect: (i: number, at: number) => void = () => {};
  // The indexes applied in the batch transaction in flight, stamped once it committed: the delivery
  // only calls store.transaction, so a store whose transaction says when it resolved is enough.
  const inFlight: number[] = [];
  const tracked: EventStore<BenchTx> = Object.create(store);
  tracked.transaction = (async (work: (tx: BenchTx) => Promise<unknown>, options?: Parameters<typeof store.transaction>[1]) => {
    inFlight.length = 0;
    const result = await store.transaction(work, options);
    const at = performance.now();
    for (const i of inFlight.splice(0)) onEffect(i, at);
    return result;
  }) as typeof store.transaction;
  const delivery = createLocalOutboxDelivery({
    store: tracked,
    outbox,
    inbox,
    consumer: 'bench-effects',
    async handle(message, tx) {
      const i = (message.data as { i: number }).i;
      await tx.sql.execute(`INSERT INTO ${effects} (message_id, i) VALUES ($1, $2)`, [message.id, i]);
      inFlight.push(i);
    },
  });
  return {
    produce: (i) =>
      store.transaction(async (tx) => {
        const key = `account-${i % 100}`;
        await tx.sql.execute(`UPDATE ${accounts} SET balance = balance + 100 WHERE id = $1`, [key]);
        await outbox.add(tx, [{ id: `m-${i}`, type: benchMessageType, schemaVersion: 1, key, data: { ...workload.event(i).data, i } }]);
      }),
    async start(callback) {
      onEffect = callback;
      await delivery.start();
    },
    stop: () => delivery.stop(),
  };
}

/**
 * graphile-worker: the same state change and `add_job` in one transaction (its documented way to
 * enqueue transactionally); a worker task commits the same effect row (ON CONFLICT DO NOTHING, its
 * usual idempotency, since the task's effect and the job's completion are separate transactions).
 */
async function graphileSide(bench: OutboxBenchStore, workload: WorkloadDefinition, schema: string): Promise<PeerSide> {
  const { accounts, effects } = await prepareTables(bench);
  const { store } = bench;
  const logger = new Logger(() => (level, message) => {
    if (level === 'error') console.error(`graphile-worker: ${message}`);
  });
  await runMigrations({ connectionString: postgresUrl, schema, logger });
  let runner: Awaited<ReturnType<typeof run>> | undefined;
  return {
    produce: (i) =>
      store.transaction(async (tx) => {
        const key = `account-${i % 100}`;
        await tx.sql.execute(`UPDATE ${accounts} SET balance = balance + 100 WHERE id = $1`, [key]);
        await tx.sql.query(`SELECT ${quote(schema)}.add_job($1, $2::json)`, [
          'bench_effect',
          JSON.stringify({ id: `m-${i}`, key, data: { ...workload.event(i).data, i } }),
        ]);
      }),
    async start(onEffect) {
      runner = await run({
        connectionString: postgresUrl,
        schema,
        logger,
        concurrency: graphileConcurrency,
        noHandleSignals: true,
        // Its documented batching (worker.graphile.org/docs/performance): jobs fetched and completed
        // in batches, so the peer runs at its best rather than at its one-job-per-round-trip default.
        preset: { worker: { localQueue: { size: graphileConcurrency + 1 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
        taskList: {
          async bench_effect(payload, helpers) {
            const { id, data } = payload as { id: string; data: { i: number } };
            await helpers.withPgClient((client) =>
              client.query(`INSERT INTO ${effects} (message_id, i) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [id, data.i]),
            );
            onEffect(data.i, performance.now());
          },
        },
      });
    },
    async stop() {
      await runner?.stop();
    },
  };
}

async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${quote(schema)} CASCADE`);
  } finally {
    await client.end();
  }
}

/** Drain: `count` messages produced first (untimed), then the consumer timed until every effect committed. */
async function drain(side: PeerSide, count: number): Promise<number> {
  let next = 0;
  await Promise.all(
    Array.from({ length: fillWriters }, async () => {
      while (next < count) await side.produce(next++);
    }),
  );
  let done = 0;
  const started = performance.now();
  await side.start(() => {
    done++;
  });
  try {
    await until(() => done >= count, 600_000, 'drain');
  } finally {
    await side.stop();
  }
  return count / ((performance.now() - started) / 1000);
}

/** Steady rate, open model: latency from each production's due time to its effect committed. */
async function steady(side: PeerSide, count: number, rate: number, label: string): Promise<number[]> {
  const effectAt = new Map<number, number>();
  await side.start((i, at) => {
    if (!effectAt.has(i)) effectAt.set(i, at);
  });
  try {
    const loop = await openLoop(count, rate, (i) => side.produce(count + i), label);
    await until(() => effectAt.size >= count - loop.failed, 120_000, 'delivery of every effect');
    return latencies(loop, count, (i) => effectAt.get(count + i));
  } finally {
    await side.stop();
  }
}

/**
 * The peer of issue 9: graphile-worker against tidemark's outbox table → in-process consumer
 * with inbox, on PostgreSQL, in one run, each side on its own fresh schema: delivered messages/s
 * draining a backlog of `count`, then p50/p99 of state change → effect committed at a steady
 * `rate` (open model). tidemark's line carries graphile-worker's as its baseline; for the
 * latencies a ratio below 1 means tidemark is faster.
 */
export async function peerCases(
  open: () => Promise<OutboxBenchStore>,
  workload: WorkloadDefinition,
  count: number,
  rate: number,
): Promise<BenchResult[]> {
  const measure = async (label: string, make: (bench: OutboxBenchStore) => Promise<PeerSide>, cleanup: () => Promise<void>) => {
    const bench = await open();
    try {
      const side = await make(bench);
      return { rate: await drain(side, count), latency: await steady(side, count, rate, `${label} state change`) };
    } finally {
      await bench.dispose().catch((error: unknown) => console.error(`outbox: cleanup failed: ${(error as Error).message}`));
      await cleanup().catch((error: unknown) => console.error(`outbox: cleanup failed: ${(error as Error).message}`));
    }
  };
  const graphileSchema = `bench_gw_${process.pid}_${Date.now().toString(36)}`;
  const theirs = await measure(
    'graphile-worker',
    (bench) => graphileSide(bench, workload, graphileSchema),
    () => dropSchema(graphileSchema),
  );
  const ours = await measure(
    'tidemark',
    (bench) => tidemarkSide(bench, workload),
    async () => {},
  );
  const line = (caseName: string, value: number, baselineValue: number, unit: BenchResult['unit']) =>
    benchResult({ suite: 'outbox', backend: 'postgres', case: caseName, value, baseline: graphileBaseline, baselineValue, unit });
  return [
    line('peer.outbox-table.drain', ours.rate, theirs.rate, 'messages/s'),
    ...[50, 99].map((p) => line(`peer.outbox-table.${rate}ps.p${p}`, percentile(ours.latency, p), percentile(theirs.latency, p), 'ms')),
  ];
}
