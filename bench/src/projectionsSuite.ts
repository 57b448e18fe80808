import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CheckpointStore,
  createProjector,
  type EventStore,
  type Projection,
  type Projector,
  type StoreTransaction,
} from '@tidemark/core';
import { createPostgresCheckpointStore, createPostgresEventStore, type PostgresTransaction } from '@tidemark/postgres';
import { createSqliteCheckpointStore, createSqliteEventStore, type SqliteTransaction } from '@tidemark/sqlite';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Backend } from './backend.js';
import { type BenchResult, benchResult, printResult } from './benchResult.js';
import { type Measurement, measure } from './measure.js';
import { postgresUrl } from './postgresBackend.js';
import { type LagResult, lagTable, percentile } from './projectionsLag.js';

/**
 * `npm run bench -- projections`: how fast an asynchronous projector builds a SQL read model.
 *
 * - catch-up: N events (1,000,000; --quick: 100,000) already in the log, a projector starts
 *   from checkpoint 0 and runs to the head. Baseline: the raw driver reading the same rows of
 *   the same events table in batches of the same size, applying the same SQL and moving a
 *   checkpoint row in the same transaction — the least work that builds the same read model
 *   crash-safely.
 * - lag: the caught-up projector keeps running while single-event appends arrive at a steady
 *   1,000/s; each event's lag is the time from its append resolving to the projector's batch
 *   holding it committing. Baseline: a raw tail loop that polls the table back to back and
 *   applies the same SQL (what a projector with zero scheduling overhead would reach).
 */
export async function runProjectionsSuite(_workload: unknown, backends: readonly Backend[]): Promise<BenchResult[]> {
  const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
  const events = Number(process.env.BENCH_PROJECTION_EVENTS ?? (quick ? 100_000 : 1_000_000));
  const lagSeconds = Number(process.env.BENCH_LAG_SECONDS ?? (quick ? 3 : 10));
  const results: BenchResult[] = [];
  const lags: LagResult[] = [];
  for (const backend of backends) {
    const reason = await backend.unavailable();
    if (reason) {
      console.error(`projections/${backend.name}: skipped — ${reason}`);
      continue;
    }
    const run = backend.name === 'sqlite' ? runSqlite : runPostgres;
    const outcome = await run(events, lagSeconds);
    results.push(...outcome.results);
    lags.push(...outcome.lags);
  }
  console.log(`\n${lagTable(lags)}`);
  return results;
}

interface Outcome {
  results: BenchResult[];
  lags: LagResult[];
}

/** The read model every variant builds: a balance and an event count per stream. */
interface ReadModelSql {
  create(table: string): string;
}

const batchSize = 1000;
const streamLength = 100;

async function seed(store: EventStore, events: number, writers: number): Promise<void> {
  const started = performance.now();
  const streams = Math.ceil(events / streamLength);
  let next = 0;
  const writer = async () => {
    for (let stream = next++; stream < streams; stream = next++) {
      const count = Math.min(streamLength, events - stream * streamLength);
      await store.appendToStream(
        `account-${stream}`,
        Array.from({ length: count }, (_, i) => ({ type: 'account.deposited', data: { amount: (i % 97) + 1 } })),
      );
    }
  };
  await Promise.all(Array.from({ length: writers }, writer));
  console.error(`  seeded ${events.toLocaleString('en')} events in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** Runs the projector to the head, measuring rate and peak RSS, and leaves it running for the lag phase. */
async function catchUp<Tx extends StoreTransaction>(
  store: EventStore<Tx>,
  projection: Projection<Tx>,
  checkpoints: CheckpointStore<Tx>,
  events: number,
  onBatch: (toPosition: number) => void,
) {
  const projector = createProjector<Tx>({
    store,
    projection,
    checkpoints,
    batchSize,
    pollIntervalMs: 1000,
    // The lag collector compares positions only (raw baselines count in numbers): Number keeps the order.
    onBatch: (info) => onBatch(Number(info.toPosition)),
  });
  const head = await store.headPosition();
  const measured = await measure(events, async () => {
    await projector.start();
    if (!(await projector.waitForPosition(head, { timeoutMs: 600_000 }))) {
      throw new Error(
        `projector did not reach ${head}: ${JSON.stringify(projector.status(), (_key, value) => (typeof value === 'bigint' ? String(value) : value))}`,
      );
    }
  });
  return { projector, measured };
}

/** Appends single events at `rate`/s for `seconds`, and returns each one's position and commit time. */
async function steadyAppends(store: EventStore, rate: number, seconds: number, record: (position: number, at: number) => void) {
  const total = rate * seconds;
  const started = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
    while (sent < due) {
      const result = await store.appendToStream(`lag-${sent % 100}`, [{ type: 'account.deposited', data: { amount: 1 } }]);
      record(Number(result.position), performance.now());
      sent++;
    }
    // Pacing, not synchronisation: the next events are not due yet.
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Collects per-event lag: an event is visible once a committed batch reaches its position. */
function lagRecorder() {
  const pending: Array<{ position: number; at: number }> = [];
  const samples: number[] = [];
  return {
    samples,
    appended: (position: number, at: number) => pending.push({ position, at }),
    reached(position: number) {
      const now = performance.now();
      while (pending.length > 0 && (pending[0] as { position: number }).position <= position) {
        samples.push(now - (pending.shift() as { at: number }).at);
      }
    },
    async drained(timeoutMs: number) {
      const deadline = performance.now() + timeoutMs;
      while (pending.length > 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      if (pending.length > 0) throw new Error(`${pending.length} events never became visible`);
    },
  };
}

function lagResults(backend: string, ours: number[], baseline: number[], baselineName: string): LagResult[] {
  return (['p50', 'p99'] as const).map((which) => {
    const q = which === 'p50' ? 0.5 : 0.99;
    const value = percentile(ours, q);
    const baselineValue = percentile(baseline, q);
    const line: LagResult = {
      suite: 'projections',
      backend,
      case: `lag.${which}.1000cmds`,
      unit: 'ms',
      value: Math.round(value * 100) / 100,
      baseline: baselineName,
      baselineValue: Math.round(baselineValue * 100) / 100,
      // For a latency, smaller is better: the ratio is still ours / baseline, so ≤ 1 beats it.
      ratio: baselineValue === 0 ? null : Math.round((value / baselineValue) * 100) / 100,
    };
    console.log(JSON.stringify(line));
    return line;
  });
}

// ---------------------------------------------------------------- SQLite

const sqliteUpsert = (table: string) =>
  `INSERT INTO ${table} (id, balance, events) VALUES (?, ?, 1)
   ON CONFLICT (id) DO UPDATE SET balance = balance + excluded.balance, events = events + 1`;
const sqliteReadModel: ReadModelSql = {
  create: (table) => `CREATE TABLE IF NOT EXISTS ${table} (id TEXT PRIMARY KEY, balance INTEGER NOT NULL, events INTEGER NOT NULL)`,
};

function sqliteProjection(table: string): Projection<SqliteTransaction> {
  return {
    name: table,
    // No category filter: the log holds only this read model's events, and the raw baseline reads
    // every row too (a filter changes the PostgreSQL plan; see BENCHMARKS.md).
    async setup(tx) {
      tx.db.exec(sqliteReadModel.create(table));
    },
    async apply(events, tx) {
      // The writer connection inside the transaction: synchronous, prepared, no round trips.
      const upsert = tx.db.prepare(sqliteUpsert(table));
      for (const event of events) upsert.run(event.streamId, (event.data as { amount: number }).amount);
    },
  };
}

async function runSqlite(events: number, lagSeconds: number): Promise<Outcome> {
  const dir = mkdtempSync(join(tmpdir(), 'tidemark-bench-projections-'));
  const file = join(dir, 'store.db');
  const store = createSqliteEventStore({ file });
  try {
    console.error(`projections/sqlite: seeding`);
    await seed(store, events, 1);
    return await compare({
      backend: 'sqlite',
      baseline: 'raw-better-sqlite3',
      store,
      events,
      lagSeconds,
      projection: (round) => sqliteProjection(`rm_ours_${round}`),
      checkpoints: createSqliteCheckpointStore(),
      openRaw: async (round) => rawSqlite(file, `rm_raw_${round}`),
    });
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface RawProjector {
  catchUp(): void | Promise<void>;
  tail(reached: (position: number) => void): { stop(): Promise<void> };
  close(): void | Promise<void>;
}

/**
 * Catch-up twice each, alternating baseline and ours, best rate of each kept: the first pass
 * over a freshly seeded log pays for the WAL checkpoint, cold pages and JIT warm-up, and whoever
 * went first would carry that alone. Then the lag phase for ours and for the baseline.
 */
async function compare<Tx extends StoreTransaction>(config: {
  backend: 'sqlite' | 'postgres';
  baseline: string;
  store: EventStore<Tx>;
  events: number;
  lagSeconds: number;
  projection: (round: number) => Projection<Tx>;
  checkpoints: CheckpointStore<Tx>;
  openRaw: (round: number) => Promise<RawProjector>;
}): Promise<Outcome> {
  const { store, events } = config;
  const rounds = 2;
  let best: { ours?: Measurement; raw?: Measurement } = {};
  let raw: RawProjector | undefined;
  let projector: Projector | undefined;
  const oursLag = lagRecorder();
  for (let round = 0; round < rounds; round++) {
    await raw?.close();
    raw = await config.openRaw(round);
    const rawRun = raw;
    const rawMeasured = await measure(events, async () => rawRun.catchUp());
    await projector?.stop();
    const ours = await catchUp(store, config.projection(round), config.checkpoints, events, (p) => oursLag.reached(p));
    projector = ours.projector;
    console.error(
      `  round ${round + 1}: ours ${Math.round(ours.measured.rate).toLocaleString('en')} events/s (${Math.round(ours.measured.rssMb)} MB), raw ${Math.round(rawMeasured.rate).toLocaleString('en')} events/s (${Math.round(rawMeasured.rssMb)} MB)`,
    );
    best = {
      ours: best.ours && best.ours.rate >= ours.measured.rate ? best.ours : ours.measured,
      raw: best.raw && best.raw.rate >= rawMeasured.rate ? best.raw : rawMeasured,
    };
  }
  await steadyAppends(store, 1000, config.lagSeconds, oursLag.appended);
  await oursLag.drained(10_000);
  await projector?.stop();
  const rawLag = lagRecorder();
  const tail = (raw as RawProjector).tail((p) => rawLag.reached(p));
  await steadyAppends(store, 1000, config.lagSeconds, rawLag.appended);
  await rawLag.drained(10_000);
  await tail.stop();
  await raw?.close();

  const ours = best.ours as Measurement;
  const baseline = best.raw as Measurement;
  const result = benchResult({
    suite: 'projections',
    backend: config.backend,
    case: `catchup.${events / 1000}k`,
    value: ours.rate,
    baseline: config.baseline,
    baselineValue: baseline.rate,
    rssMb: ours.rssMb,
    baselineRssMb: baseline.rssMb,
  });
  printResult(result);
  return { results: [result], lags: lagResults(config.backend, oursLag.samples, rawLag.samples, `${config.baseline}-poll`) };
}

/** The raw baseline on its own connection to the same file: same reads, same SQL, same batch size. */
function rawSqlite(file: string, table: string) {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.exec(sqliteReadModel.create(table));
  db.exec(`CREATE TABLE IF NOT EXISTS ${table}_checkpoint (name TEXT PRIMARY KEY, position INTEGER NOT NULL)`);
  db.prepare(`INSERT OR IGNORE INTO ${table}_checkpoint (name, position) VALUES ('raw', 0)`).run();
  const read = db.prepare(`SELECT * FROM events WHERE position > ? ORDER BY position LIMIT ${batchSize}`);
  const upsert = db.prepare(sqliteUpsert(table));
  const save = db.prepare(`UPDATE ${table}_checkpoint SET position = ? WHERE name = 'raw'`);
  let position = 0;
  const applyBatch = db.transaction((rows: Array<{ position: number; stream_id: string; data: string }>) => {
    for (const row of rows) upsert.run(row.stream_id, (JSON.parse(row.data) as { amount: number }).amount);
    save.run((rows[rows.length - 1] as { position: number }).position);
  });
  const step = (): number => {
    const rows = read.all(position) as Array<{ position: number; stream_id: string; data: string }>;
    if (rows.length === 0) return 0;
    applyBatch(rows);
    position = (rows[rows.length - 1] as { position: number }).position;
    return rows.length;
  };
  return {
    catchUp() {
      while (step() > 0) {}
    },
    tail(reached: (position: number) => void) {
      let running = true;
      const loop = (async () => {
        while (running) {
          if (step() > 0) reached(position);
          else await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      return {
        stop: async () => {
          running = false;
          await loop;
        },
      };
    },
    close: () => {
      db.close();
    },
  };
}

// ---------------------------------------------------------------- PostgreSQL

const pgUpsert = (table: string) =>
  `INSERT INTO ${table} AS t (id, balance, events) SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[])
   ON CONFLICT (id) DO UPDATE SET balance = t.balance + excluded.balance, events = t.events + excluded.events`;
const pgReadModel: ReadModelSql = {
  create: (table) => `CREATE TABLE IF NOT EXISTS ${table} (id text PRIMARY KEY, balance bigint NOT NULL, events bigint NOT NULL)`,
};

/** One statement per batch: the events summed per stream, applied with unnest (one round trip). */
function summed(rows: Iterable<{ streamId: string; amount: number }>): [string[], number[], number[]] {
  const sums = new Map<string, [number, number]>();
  for (const { streamId, amount } of rows) {
    const entry = sums.get(streamId);
    if (entry) {
      entry[0] += amount;
      entry[1]++;
    } else sums.set(streamId, [amount, 1]);
  }
  return [[...sums.keys()], [...sums.values()].map((v) => v[0]), [...sums.values()].map((v) => v[1])];
}

function pgProjection(table: string): Projection<PostgresTransaction> {
  return {
    name: table.replace('.', '_'),
    // No category filter: the log holds only this read model's events, and the raw baseline reads
    // every row too (a filter changes the PostgreSQL plan; see BENCHMARKS.md).
    async setup(tx) {
      await tx.sql.execute(pgReadModel.create(table));
    },
    async apply(events, tx) {
      const params = summed(events.map((e) => ({ streamId: e.streamId, amount: (e.data as { amount: number }).amount })));
      await tx.client.query(pgUpsert(table), params);
    },
  };
}

async function runPostgres(events: number, lagSeconds: number): Promise<Outcome> {
  const schema = `bench_proj_${process.pid}_${Date.now().toString(36)}`;
  const store = await createPostgresEventStore({ url: postgresUrl, schema, poolSize: 10, createSchema: true });
  const admin = new pg.Pool({ connectionString: postgresUrl, max: 2 });
  try {
    console.error(`projections/postgres: seeding`);
    await seed(store, events, 4);
    return await compare({
      backend: 'postgres',
      baseline: 'raw-pg',
      store,
      events,
      lagSeconds,
      projection: (round) => pgProjection(`${schema}.rm_ours_${round}`),
      checkpoints: createPostgresCheckpointStore(),
      openRaw: (round) => rawPostgres(schema, `rm_raw_${round}`),
    });
  } finally {
    await store.close();
    // The checkpoint tables are in the store's schema: they go with it.
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
}

/** The raw pg baseline: keyset reads of the same table, the same unnest upsert and a checkpoint per batch. */
async function rawPostgres(schema: string, name: string) {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  const table = `${schema}.${name}`;
  await client.query(pgReadModel.create(table));
  await client.query(`CREATE TABLE IF NOT EXISTS ${table}_checkpoint (name text PRIMARY KEY, position bigint NOT NULL)`);
  await client.query(`INSERT INTO ${table}_checkpoint VALUES ('raw', 0) ON CONFLICT DO NOTHING`);
  let position = 0;
  const step = async (): Promise<number> => {
    const { rows } = await client.query<{ position: string; stream_id: string; data: { amount: number } }>({
      name: 'raw-read',
      text: `SELECT * FROM ${schema}.events WHERE position > $1 ORDER BY position LIMIT ${batchSize}`,
      values: [position],
    });
    if (rows.length === 0) return 0;
    await client.query('BEGIN');
    await client.query(pgUpsert(table), summed(rows.map((r) => ({ streamId: r.stream_id, amount: r.data.amount }))));
    const last = Number((rows[rows.length - 1] as { position: string }).position);
    await client.query(`UPDATE ${table}_checkpoint SET position = $1 WHERE name = 'raw'`, [last]);
    await client.query('COMMIT');
    position = last;
    return rows.length;
  };
  return {
    async catchUp() {
      while ((await step()) > 0) {}
    },
    tail(reached: (position: number) => void) {
      let running = true;
      const loop = (async () => {
        while (running) if ((await step()) > 0) reached(position);
      })();
      return {
        stop: async () => {
          running = false;
          await loop;
        },
      };
    },
    close: () => client.end(),
  };
}
