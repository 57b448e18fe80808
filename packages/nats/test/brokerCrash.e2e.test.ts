import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createPostgresEventStore, createPostgresInbox, type PostgresEventStore } from '@tidemark/postgres';
import {
  type BrokerCrashOutcome,
  consumerBrokerKillCase,
  createCrashTables,
  relayBrokerKillCase,
  serviceAvailable,
  serviceUrls,
} from '@tidemark/testing';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createNatsTransport } from '../src/index.js';
import { brokerCrashNatsOptions } from './brokerCrashNats.js';

const available = (await serviceAvailable('postgres')) && (await serviceAvailable('nats'));
const fixture = fileURLToPath(new URL('./fixtures/brokerCrashChild.ts', import.meta.url));

function expectExactlyOnce(outcome: BrokerCrashOutcome): void {
  expect(outcome.sent).toBeGreaterThan(0);
  expect(outcome).toMatchObject({ lost: 0, duplicateEffects: 0, delivered: outcome.sent, inboxRecords: outcome.sent });
}

describe.skipIf(!available)(
  'PostgreSQL + NATS JetStream messaging under SIGKILL (relays and consumers killed, the broker between them)',
  () => {
    const stores: PostgresEventStore[] = [];
    const schemas: string[] = [];
    const streams: string[] = [];
    const closers: Array<() => Promise<void>> = [];
    afterAll(async () => {
      for (const close of closers.reverse()) await close().catch(() => {});
      for (const store of stores) await store.close();
      const client = new pg.Client({ connectionString: serviceUrls.postgres });
      await client.connect();
      for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
      const nc = await connect({ servers: serviceUrls.nats });
      const jsm = await jetstreamManager(nc);
      for (const stream of streams) await jsm.streams.delete(stream).catch(() => false);
      await nc.close();
    });

    /** A fresh schema (events, outbox, inbox, effects tables) and a fresh stream, and the parent's store and transport on them. */
    async function setup() {
      const unique = randomBytes(6).toString('hex');
      const schema = `tm_test_${unique}`;
      schemas.push(schema);
      const store = await createPostgresEventStore({ url: serviceUrls.postgres, schema, createSchema: true, poolSize: 8 });
      stores.push(store);
      const table = `"${schema}".crash`;
      await createCrashTables(store, table);
      const stream = `CRASH_${unique}`;
      streams.push(stream, `${stream}_DLQ`);
      const subjectPrefix = `crash${unique}`;
      const transport = await createNatsTransport(brokerCrashNatsOptions(serviceUrls.nats, stream, subjectPrefix));
      closers.push(() => transport.close());
      const env = {
        URL: serviceUrls.postgres,
        SCHEMA: schema,
        TABLE: table,
        SERVERS: serviceUrls.nats,
        STREAM: stream,
        SUBJECT_PREFIX: subjectPrefix,
      };
      return { store, table, stream, transport, env };
    }

    it('relays SIGKILLed at random while appending: every message written reaches JetStream once and is applied exactly once', async () => {
      const { store, table, stream, transport, env } = await setup();
      const outcome = await relayBrokerKillCase({
        store,
        inbox: createPostgresInbox(),
        transport,
        fixture,
        env,
        table,
        backend: 'postgres+jetstream',
      });
      const nc = await connect({ servers: serviceUrls.nats });
      const stored = (await (await jetstreamManager(nc)).streams.info(stream)).state.messages;
      await nc.close();
      expectExactlyOnce(outcome);
      expect(outcome.outboxMessages).toBe(outcome.stateChanges);
      // Batches republished after a kill carried the same Nats-Msg-Ids: the stream holds each message once.
      expect(stored).toBe(outcome.sent);
    });

    it('consumers SIGKILLed before and after their commit: JetStream redelivers, no effect is lost or doubled', async () => {
      const { store, table, transport, env } = await setup();
      const outcome = await consumerBrokerKillCase({
        store,
        inbox: createPostgresInbox(),
        transport,
        fixture,
        env,
        table,
        backend: 'postgres+jetstream',
      });
      expectExactlyOnce(outcome);
    });
  },
);
