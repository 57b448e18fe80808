import { randomUUID } from 'node:crypto';
import {
  createIdempotentHandler,
  type EventStore,
  type Inbox,
  type SqlTransaction,
  type StoreTransaction,
  type Transport,
} from '@tidemark/core';
import { type ChaosResult, reportChaos } from '../chaosReport.js';
import { chaosSetting } from '../chaosSetting.js';
import { waitFor } from '../waitFor.js';
import { applyCrashEffect, crashGroup } from './brokerCrashChild.js';
import { crashConsumer } from './messagingCrashChild.js';
import { type StateReportingChild, spawnStateReportingChild } from './spawnStateReportingChild.js';

/** One broker crash case's outcome, counted on the database's rows (reportChaos's fields, and more). */
export interface BrokerCrashOutcome extends ChaosResult {
  /** Inbox records of the consumer for the messages sent (must equal sent). */
  inboxRecords: number;
  /** The ids of the messages written, to check what the broker holds. */
  ids: readonly string[];
}

export interface BrokerCrashCaseOptions<Tx extends StoreTransaction & SqlTransaction> {
  /** The parent's own store on the same database (it consumes, publishes or inspects through it). */
  store: EventStore<Tx>;
  inbox: Inbox<Tx>;
  /** The parent's own transport to the test's broker (same stream / queue names as the child's). */
  transport: Transport;
  /** The child fixture (calls runBrokerCrashChild). */
  fixture: string;
  env: Record<string, string>;
  /** Effects tables' prefix (createCrashTables). */
  table: string;
  backend: string;
  runs?: number;
  /**
   * How long the last child may take to drain, and the consumer to catch up. Default 20 s plus
   * 0.5 s per run: a failing run ends with its counts well within the e2e test timeout.
   */
  drainTimeoutMs?: number;
}

const exited = (child: StateReportingChild) =>
  new Promise<void>((resolve) => {
    if (child.process.exitCode !== null || child.process.signalCode !== null) resolve();
    else child.process.once('exit', () => resolve());
  });

async function kill(child: StateReportingChild): Promise<void> {
  child.process.kill('SIGKILL');
  await exited(child);
}

/** The store's table as its SQL sees it: qualified on PostgreSQL (the tx names its schema), plain on SQLite. */
function ownTable(tx: StoreTransaction & SqlTransaction, name: string): string {
  const schema = (tx as { schema?: string }).schema;
  return schema ? `"${schema}".${name}` : name;
}

/** Hands a case's counts to `npm run chaos` (reportChaos) before the test asserts on them. */
function reported<Outcome extends BrokerCrashOutcome>(outcome: Outcome): Outcome {
  const { case: name, backend, runs, sent, delivered, lost, duplicateEffects } = outcome;
  reportChaos({ case: name, backend, runs, sent, delivered, lost, duplicateEffects });
  return outcome;
}

/** Counts, per message id written, the effect rows and inbox records the consumer left. */
async function outcome<Tx extends StoreTransaction & SqlTransaction>(
  options: BrokerCrashCaseOptions<Tx>,
  name: string,
  runs: number,
  ids: readonly string[],
): Promise<BrokerCrashOutcome> {
  const { store, table } = options;
  return store.transaction(async (tx) => {
    const rows = await tx.sql.query<{ message_id: string; n: number | string }>(
      `SELECT message_id, count(*) AS n FROM ${table}_effects GROUP BY message_id`,
    );
    const counter = Number((await tx.sql.query<{ applied: number | string }>(`SELECT applied FROM ${table}_counter`))[0]?.applied);
    const inbox = new Set(
      (
        await tx.sql.query<{ message_id: string }>(`SELECT message_id FROM ${ownTable(tx, 'tidemark_inbox')} WHERE consumer = $1`, [
          crashConsumer,
        ])
      ).map((row) => row.message_id),
    );
    const wanted = new Set(ids);
    const effectRows = rows.reduce((sum, row) => sum + Number(row.n), 0);
    const delivered = rows.filter((row) => wanted.has(row.message_id)).length;
    return {
      case: name,
      backend: options.backend,
      runs,
      sent: wanted.size,
      delivered,
      lost: wanted.size - delivered,
      // Every row beyond a message's first, rows of messages never written, and counter excess.
      duplicateEffects: effectRows - delivered + Math.max(0, counter - effectRows),
      inboxRecords: ids.filter((id) => inbox.has(id)).length,
      ids,
    };
  });
}

/**
 * relay.sigkill with a real broker: a child appends events (the log form) and changes order rows
 * with their outbox messages (the table form) while two relays publish both to the broker; the
 * parent SIGKILLs it at a random moment, `runs` times (TIDEMARK_CHAOS_RELAY_BROKER_KILLS, 20 in
 * CI), starting a new one each time, then a last child drains both sources. Meanwhile the parent
 * consumes through the inbox (createIdempotentHandler: inbox record and effect row in one
 * transaction). Every message written must have exactly one effect, and every state change its
 * message (`stateChanges`).
 */
export async function relayBrokerKillCase<Tx extends StoreTransaction & SqlTransaction>(
  options: BrokerCrashCaseOptions<Tx>,
): Promise<BrokerCrashOutcome & { stateChanges: number; outboxMessages: number }> {
  const { store, inbox, transport, table } = options;
  const runs = options.runs ?? chaosSetting('RELAY_BROKER_KILLS', 20);
  const drainTimeoutMs = options.drainTimeoutMs ?? 20_000 + 500 * runs;
  const handler = createIdempotentHandler({
    store,
    inbox,
    consumer: crashConsumer,
    handle: (message, tx) => applyCrashEffect(tx, table, message.id),
  });
  // Subscribed before the first relay publishes: a work queue routes only to queues that exist.
  const consumer = await transport.consume({ ...crashGroup(transport), concurrency: 8 }, handler);
  try {
    for (let run = 0; run < runs; run++) {
      const child = spawnStateReportingChild(options.fixture, { ...options.env, MODE: 'relay' });
      try {
        await child.waitForState('running', 60_000);
        await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 400)); // the random kill point, not a synchronisation
      } finally {
        await kill(child);
      }
    }
    const drainer = spawnStateReportingChild(options.fixture, { ...options.env, MODE: 'relay-drain' });
    try {
      await drainer.waitForState('drained', drainTimeoutMs);
      await exited(drainer);
    } finally {
      if (drainer.state !== 'exited') await kill(drainer);
    }
    const written = await writtenIds(options);
    const ids = [...written.events, ...written.outbox];
    await allApplied(options, ids, 'the consumer to apply every message', drainTimeoutMs);
  } finally {
    await consumer.stop();
  }
  const written = await writtenIds(options);
  const result = await outcome(options, 'relay.sigkill', runs, [...written.events, ...written.outbox]);
  const stateChanges = await store.transaction(async (tx) =>
    Number((await tx.sql.query<{ n: number | string | null }>(`SELECT sum(changes) AS n FROM ${table}_orders`))[0]?.n ?? 0),
  );
  return reported({ ...result, stateChanges, outboxMessages: written.outbox.length });
}

/** Ids of every message written: public events of the log (a mapped event keeps its id) and outbox rows. */
async function writtenIds<Tx extends StoreTransaction & SqlTransaction>(
  options: BrokerCrashCaseOptions<Tx>,
): Promise<{ events: string[]; outbox: string[] }> {
  const events: string[] = [];
  for await (const event of options.store.readAll({ types: ['crash.thing.happened'], batchSize: 1000 })) events.push(event.id);
  const rows = await options.store.transaction((tx) =>
    tx.sql.query<{ message_id: string }>(`SELECT message_id FROM ${ownTable(tx, 'tidemark_outbox')} ORDER BY sequence`),
  );
  return { events, outbox: rows.map((row) => row.message_id) };
}

async function appliedCount<Tx extends StoreTransaction & SqlTransaction>(
  options: BrokerCrashCaseOptions<Tx>,
  ids: readonly string[],
): Promise<number> {
  const applied = await options.store.transaction((tx) =>
    tx.sql.query<{ message_id: string }>(`SELECT DISTINCT message_id FROM ${options.table}_effects`),
  );
  const found = new Set(applied.map((row) => row.message_id));
  return ids.filter((id) => found.has(id)).length;
}

/** Waits until every id has an effect, checking every 100 ms (each check is a transaction: on SQLite it queues behind the consumer). */
async function allApplied<Tx extends StoreTransaction & SqlTransaction>(
  options: BrokerCrashCaseOptions<Tx>,
  ids: readonly string[],
  what: string,
  timeoutMs: number,
): Promise<void> {
  await waitFor(
    async () => {
      if ((await appliedCount(options, ids)) === ids.length) return true;
      await new Promise((resolve) => setTimeout(resolve, 100)); // the polling interval, not a synchronisation
      return false;
    },
    what,
    timeoutMs,
  ).catch(() => {}); // the outcome says what is missing
}

/**
 * consumer.sigkill through a broker: each run the parent publishes 20 messages, and a consumer
 * child (createIdempotentHandler on the transport) is SIGKILLed inside the transaction of one of
 * its first three new messages (before COMMIT) or right after that commit (before the ack),
 * alternately, `runs` times (TIDEMARK_CHAOS_CONSUMER_BROKER_KILLS, 20 in CI); the broker
 * redelivers what the dead consumer held. A last child consumes until every message has its
 * effect. No effect may be lost or doubled.
 */
export async function consumerBrokerKillCase<Tx extends StoreTransaction & SqlTransaction>(
  options: BrokerCrashCaseOptions<Tx>,
): Promise<BrokerCrashOutcome> {
  const { transport } = options;
  const runs = options.runs ?? chaosSetting('CONSUMER_BROKER_KILLS', 20);
  const drainTimeoutMs = options.drainTimeoutMs ?? 20_000 + 500 * runs;
  const ids: string[] = [];
  for (let run = 0; run < runs; run++) {
    const messages = Array.from({ length: 20 }, (_, i) => ({
      id: randomUUID(),
      type: 'crash.order.changed',
      schemaVersion: 1,
      key: `order-${i % 5}`,
      data: { run, i },
    }));
    await transport.publish(messages);
    ids.push(...messages.map((message) => message.id));
    const killPoint = run % 2 === 0 ? 'before-commit' : 'after-commit';
    const child = spawnStateReportingChild(options.fixture, {
      ...options.env,
      MODE: 'consume',
      KILL_POINT: killPoint,
      KILL_AT: String(1 + Math.floor(Math.random() * 3)),
    });
    try {
      await child.waitForState(killPoint, 60_000);
    } finally {
      await kill(child);
    }
  }
  const drainer = spawnStateReportingChild(options.fixture, { ...options.env, MODE: 'consume' });
  try {
    await drainer.waitForState('running', 60_000);
    await allApplied(options, ids, 'the last consumer to apply every message', drainTimeoutMs);
  } finally {
    await kill(drainer);
  }
  return reported(await outcome(options, 'consumer.sigkill', runs, ids));
}
