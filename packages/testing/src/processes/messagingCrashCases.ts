import type { EventStore, Outbox, SqlTransaction, StoreTransaction } from '@tidemark/core';
import { type ChaosResult, reportChaos } from '../chaosReport.js';
import { crashConsumer } from './messagingCrashChild.js';
import { spawnStateReportingChild } from './spawnStateReportingChild.js';

/** One case's outcome; the cases hand its counts to `npm run chaos` (reportChaos) themselves. */
export interface CrashCaseOutcome extends ChaosResult {
  suite: 'chaos';
  /** Inbox records of the consumer (must equal sent). */
  inboxRecords: number;
}

export interface CrashCaseOptions<Tx extends StoreTransaction & SqlTransaction> {
  /** The parent's own store on the same database: it appends and, at the end, inspects. */
  store: EventStore<Tx>;
  /** The adapter's child fixture (calls runMessagingCrashChild). */
  fixture: string;
  /** Environment naming the database and the effects table for the child. */
  env: Record<string, string>;
  table: string;
  backend: string;
  /** SIGKILLs. Default TIDEMARK_CHAOS_CONSUMER_KILLS / TIDEMARK_CHAOS_RELAY_KILLS, or 20. */
  runs?: number;
}

/**
 * Kills per case: 20 in CI, `TIDEMARK_CHAOS_<NAME>` under a full chaos run (≥ 100 consumer
 * kills, ≥ 200 relay kills), the same convention as the transports' failure tests.
 */
function kills(name: 'CONSUMER_KILLS' | 'RELAY_KILLS'): number {
  const raw = process.env[`TIDEMARK_CHAOS_${name}`];
  if (raw === undefined || raw === '') return 20;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`TIDEMARK_CHAOS_${name} must be a whole number ≥ 1, not '${raw}'`);
  return value;
}
const exited = (child: ReturnType<typeof spawnStateReportingChild>) =>
  new Promise<void>((resolve) => {
    if (child.process.exitCode !== null || child.process.signalCode !== null) resolve();
    else child.process.once('exit', () => resolve());
  });

async function appendSome<Tx extends StoreTransaction>(store: EventStore<Tx>, run: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await store.appendToStream(`thing-parent-${run % 5}`, [
      { type: 'crash.thing.happened', data: { run, i } },
      { type: 'crash.private.noted', data: { run, i } },
    ]);
  }
}

/** Runs a last child in `drain` mode to the head, so that the outcome counts what was left behind too. */
async function drain(options: CrashCaseOptions<StoreTransaction & SqlTransaction>): Promise<void> {
  const child = spawnStateReportingChild(options.fixture, { ...options.env, MODE: 'drain' });
  await child.waitForState('drained', 120_000);
  await exited(child);
}

/** Hands a case's counts to `npm run chaos` (reportChaos) before the test asserts on them. */
function reported<Outcome extends CrashCaseOutcome>(outcome: Outcome): Outcome {
  const { case: name, backend, runs, sent, delivered, lost, duplicateEffects } = outcome;
  reportChaos({ case: name, backend, runs, sent, delivered, lost, duplicateEffects });
  return outcome;
}

/** What the database holds after a case: every mapped event's effect exactly once? */
export async function crashOutcome<Tx extends StoreTransaction & SqlTransaction>(
  options: CrashCaseOptions<Tx>,
  name: string,
  runs: number,
): Promise<CrashCaseOutcome> {
  const { store, table } = options;
  const ids = new Set<string>();
  for await (const event of store.readAll({ types: ['crash.thing.happened'], batchSize: 500 })) ids.add(event.id);
  return store.transaction(async (tx) => {
    const rows = await tx.sql.query<{ message_id: string; n: number | string }>(
      `SELECT message_id, count(*) AS n FROM ${table}_effects GROUP BY message_id`,
    );
    const counter = Number((await tx.sql.query<{ applied: number | string }>(`SELECT applied FROM ${table}_counter`))[0]?.applied);
    // One statement: a transaction's connection runs one query at a time (pg 9 refuses a second).
    const recorded = await tx.sql.query<{ message_id: string }>(`SELECT message_id FROM ${inboxTable(tx)} WHERE consumer = $1`, [
      crashConsumer,
    ]);
    const inboxRecords = recorded.filter((row) => ids.has(row.message_id)).length;
    let delivered = 0;
    let duplicateEffects = 0;
    for (const row of rows) {
      if (ids.has(row.message_id)) delivered++;
      duplicateEffects += Number(row.n) - 1;
    }
    duplicateEffects += Math.max(0, counter - rows.reduce((sum, row) => sum + Number(row.n), 0));
    return {
      suite: 'chaos',
      case: name,
      backend: options.backend,
      runs,
      sent: ids.size,
      delivered,
      lost: ids.size - delivered,
      duplicateEffects,
      inboxRecords,
    };
  });
}

/** The inbox table as the store's SQL sees it: qualified on PostgreSQL (the tx names its schema), plain on SQLite. */
function inboxTable(tx: StoreTransaction & SqlTransaction): string {
  const schema = (tx as { schema?: string }).schema;
  return schema ? `"${schema}".tidemark_inbox` : 'tidemark_inbox';
}

/**
 * consumer.sigkill: the parent appends, a consumer child applies through the inbox and is
 * killed inside its batch transaction before COMMIT or right after it, alternately, `runs`
 * times; a last child drains. No effect may be lost or doubled.
 */
export async function consumerKillCase<Tx extends StoreTransaction & SqlTransaction>(
  options: CrashCaseOptions<Tx>,
): Promise<CrashCaseOutcome> {
  const runs = options.runs ?? kills('CONSUMER_KILLS');
  for (let run = 0; run < runs; run++) {
    // At least four batches of five: the kill batch (1–3) is always reached.
    await appendSome(options.store, run, 20);
    const killPoint = run % 2 === 0 ? 'before-commit' : 'after-commit';
    const child = spawnStateReportingChild(options.fixture, {
      ...options.env,
      MODE: 'consume',
      KILL_POINT: killPoint,
      KILL_BATCH: String(1 + Math.floor(Math.random() * 3)),
    });
    try {
      await child.waitForState(killPoint, 60_000);
    } finally {
      child.process.kill('SIGKILL');
      await exited(child);
    }
  }
  await drain(options as unknown as CrashCaseOptions<StoreTransaction & SqlTransaction>);
  return reported(await crashOutcome(options, 'consumer.sigkill', runs));
}

/**
 * embedded.sigkill: a child appends events and consumes them in the same process (the embedded
 * default with no broker) and is killed at a random moment, `runs` times; a last child drains.
 * Every committed message must have exactly one effect.
 */
export async function appendAndConsumeKillCase<Tx extends StoreTransaction & SqlTransaction>(
  options: CrashCaseOptions<Tx>,
): Promise<CrashCaseOutcome> {
  const runs = options.runs ?? kills('RELAY_KILLS');
  for (let run = 0; run < runs; run++) {
    const child = spawnStateReportingChild(options.fixture, { ...options.env, MODE: 'append-and-consume' });
    try {
      await child.waitForState('running', 60_000);
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 300)); // the random kill point, not a synchronisation
    } finally {
      child.process.kill('SIGKILL');
      await exited(child);
    }
  }
  await drain(options as unknown as CrashCaseOptions<StoreTransaction & SqlTransaction>);
  return reported(await crashOutcome(options, 'embedded.sigkill', runs));
}

/**
 * outbox.sigkill (state-stored entities, no broker): a child changes order rows and adds their
 * messages in one transaction, in a loop, while its local delivery applies them through the
 * inbox; it is killed at random `runs` times, then a last child drains the outbox. Every state
 * change must have its message (atomicity), and every message exactly one effect.
 */
export async function outboxKillCase<Tx extends StoreTransaction & SqlTransaction>(
  options: CrashCaseOptions<Tx> & { outbox: Outbox<Tx> },
): Promise<CrashCaseOutcome & { stateChanges: number; outboxMessages: number }> {
  const runs = options.runs ?? kills('RELAY_KILLS');
  const { store, table, outbox } = options;
  for (let run = 0; run < runs; run++) {
    const child = spawnStateReportingChild(options.fixture, { ...options.env, MODE: 'outbox-append-and-deliver' });
    try {
      await child.waitForState('running', 60_000);
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 300)); // the random kill point, not a synchronisation
    } finally {
      child.process.kill('SIGKILL');
      await exited(child);
    }
  }
  const drainer = spawnStateReportingChild(options.fixture, { ...options.env, MODE: 'outbox-drain' });
  await drainer.waitForState('drained', 120_000);
  await exited(drainer);
  const outcome: CrashCaseOutcome & { stateChanges: number; outboxMessages: number } = await store.transaction(async (tx) => {
    const stats = await outbox.stats(tx);
    const outboxMessages = stats.backlog + stats.retained;
    const stateChanges = Number(
      (await tx.sql.query<{ n: number | string | null }>(`SELECT sum(changes) AS n FROM ${table}_orders`))[0]?.n ?? 0,
    );
    const rows = await tx.sql.query<{ message_id: string; n: number | string }>(
      `SELECT message_id, count(*) AS n FROM ${table}_effects GROUP BY message_id`,
    );
    const counter = Number((await tx.sql.query<{ applied: number | string }>(`SELECT applied FROM ${table}_counter`))[0]?.applied);
    const inbox = Number(
      (await tx.sql.query<{ n: number | string }>(`SELECT count(*) AS n FROM ${inboxTable(tx)} WHERE consumer = $1`, [crashConsumer]))[0]
        ?.n,
    );
    const duplicateEffects =
      rows.reduce((sum, row) => sum + Number(row.n) - 1, 0) + Math.max(0, counter - rows.reduce((sum, row) => sum + Number(row.n), 0));
    return {
      suite: 'chaos',
      case: 'outbox.sigkill',
      backend: options.backend,
      runs,
      sent: outboxMessages,
      delivered: rows.length,
      lost: outboxMessages - rows.length,
      duplicateEffects,
      inboxRecords: inbox,
      stateChanges,
      outboxMessages,
    };
  });
  return reported(outcome);
}
