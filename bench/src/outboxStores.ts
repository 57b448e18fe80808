import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckpointStore, EventStore, Inbox, Outbox, SqlTransaction, StoreTransaction } from '@tidemark/core';
import { createPostgresCheckpointStore, createPostgresEventStore, createPostgresInbox, createPostgresOutbox } from '@tidemark/postgres';
import { createSqliteCheckpointStore, createSqliteEventStore, createSqliteInbox, createSqliteOutbox } from '@tidemark/sqlite';
import pg from 'pg';
import { postgresUrl } from './postgresBackend.js';
import { quote } from './rawPgStore.js';

/** Both adapters' transactions are SQL transactions: the bench writes its effect rows through `tx.sql`. */
export type BenchTx = StoreTransaction & SqlTransaction;
type Tx = BenchTx;

/** A fresh store with its outbox, inbox and checkpoints, as an application of issue 9 wires them. */
export interface OutboxBenchStore {
  name: 'sqlite' | 'postgres';
  store: EventStore<Tx>;
  outbox: Outbox<Tx>;
  inbox: Inbox<Tx>;
  checkpoints: CheckpointStore<Tx>;
  /** A table name for the bench's own tables, qualified with the store's schema where there is one. */
  table(name: string): string;
  /**
   * Another connection (pool) to the same storage, as the consuming service of a broker case would
   * have: its transactions do not queue behind the producer's for a connection. Closed by dispose.
   */
  sibling(): Promise<EventStore<Tx>>;
  /** Closes the store and removes its schema or file. */
  dispose(): Promise<void>;
}

let counter = 0;
const unique = () => `${process.pid}_${Date.now().toString(36)}_${counter++}`;

/** PostgreSQL in its own schema (`bench_outbox_<pid>_<time>_<n>`), dropped by dispose. */
export async function openPostgresOutboxStore(): Promise<OutboxBenchStore> {
  const schema = `bench_outbox_${unique()}`;
  const store = await createPostgresEventStore({ url: postgresUrl, schema, createSchema: true });
  const siblings: Array<{ close(): Promise<void> }> = [];
  return {
    name: 'postgres',
    store: store,
    outbox: createPostgresOutbox(),
    inbox: createPostgresInbox(),
    checkpoints: createPostgresCheckpointStore(),
    table: (name) => `${quote(schema)}.${quote(name)}`,
    async sibling() {
      const other = await createPostgresEventStore({ url: postgresUrl, schema });
      siblings.push(other);
      return other;
    },
    async dispose() {
      for (const other of siblings) await other.close();
      await store.close();
      const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 3000 });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${quote(schema)} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

/** SQLite in a file of a fresh temp directory (on disk, synchronous=FULL as by default), removed by dispose. */
export async function openSqliteOutboxStore(): Promise<OutboxBenchStore> {
  const dir = mkdtempSync(join(tmpdir(), 'tidemark-bench-outbox-'));
  const file = join(dir, 'outbox.db');
  const store = createSqliteEventStore({ file });
  const siblings: Array<{ close(): Promise<void> }> = [];
  return {
    name: 'sqlite',
    store: store,
    outbox: createSqliteOutbox(),
    inbox: createSqliteInbox(),
    checkpoints: createSqliteCheckpointStore(),
    table: (name) => `"${name}"`,
    async sibling() {
      const other = createSqliteEventStore({ file });
      siblings.push(other);
      return other;
    },
    async dispose() {
      for (const other of siblings) await other.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
