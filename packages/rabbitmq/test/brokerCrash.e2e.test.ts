import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSqliteEventStore, createSqliteInbox, type SqliteEventStore } from '@tidemark/sqlite';
import {
  type BrokerCrashOutcome,
  consumerBrokerKillCase,
  createCrashTables,
  relayBrokerKillCase,
  serviceAvailable,
  serviceUrls,
} from '@tidemark/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createRabbitTransport, deleteRabbitTopology, type RabbitTransport } from '../src/index.js';
import { brokerCrashRabbitOptions } from './brokerCrashRabbit.js';

const available = await serviceAvailable('rabbitmq');
const fixture = fileURLToPath(new URL('./fixtures/brokerCrashChild.ts', import.meta.url));

function expectExactlyOnce(outcome: BrokerCrashOutcome): void {
  expect(outcome.sent).toBeGreaterThan(0);
  expect(outcome).toMatchObject({ lost: 0, duplicateEffects: 0, delivered: outcome.sent, inboxRecords: outcome.sent });
}

describe.skipIf(!available)('SQLite + RabbitMQ messaging under SIGKILL (relays and consumers killed, the broker between them)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tidemark-broker-crash-'));
  const stores: SqliteEventStore[] = [];
  const transports: RabbitTransport[] = [];
  afterAll(async () => {
    for (const transport of transports) await transport.close().catch(() => {});
    for (const store of stores) await store.close();
    rmSync(dir, { recursive: true, force: true });
    await deleteRabbitTopology(serviceUrls.rabbitmq, {
      exchanges: [...new Set(transports.flatMap((t) => t.declared().exchanges))],
      queues: [...new Set(transports.flatMap((t) => t.declared().queues))],
    });
  });

  /** A fresh database file (events, outbox, inbox, effects tables) and a fresh exchange and queue, and the parent's store and transport on them. */
  async function setup(name: string) {
    const file = join(dir, `${name}.db`);
    const store = createSqliteEventStore({ file });
    stores.push(store);
    await createCrashTables(store, 'crash');
    const prefix = `tidemark-crash-${randomUUID()}`;
    const transport = await createRabbitTransport(brokerCrashRabbitOptions(serviceUrls.rabbitmq, prefix));
    transports.push(transport);
    return { store, transport, env: { FILE: file, TABLE: 'crash', AMQP_URL: serviceUrls.rabbitmq, PREFIX: prefix } };
  }

  it('relays SIGKILLed at random while appending: every message written reaches the queue and is applied exactly once', async () => {
    const { store, transport, env } = await setup('relay');
    const outcome = await relayBrokerKillCase({
      store,
      inbox: createSqliteInbox(),
      transport,
      fixture,
      env,
      table: 'crash',
      backend: 'sqlite+rabbitmq',
    });
    expectExactlyOnce(outcome);
    expect(outcome.outboxMessages).toBe(outcome.stateChanges);
  });

  it('consumers SIGKILLed before and after their commit: RabbitMQ requeues, no effect is lost or doubled', async () => {
    const { store, transport, env } = await setup('consumer');
    const outcome = await consumerBrokerKillCase({
      store,
      inbox: createSqliteInbox(),
      transport,
      fixture,
      env,
      table: 'crash',
      backend: 'sqlite+rabbitmq',
    });
    expectExactlyOnce(outcome);
  });
});
