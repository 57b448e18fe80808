import {
  createPostgresEventStore,
  createPostgresKeyStore,
  createPostgresSnapshotStore,
  type PostgresEventStore,
  schemaSql,
} from '@tidemark/postgres';
import pg from 'pg';
import type { Backend } from './backend.js';
import { openRawPgStore, quote, rawPgBaseline } from './rawPgStore.js';

/** The server of DESIGN.md §4, overridable like everywhere else. */
export const postgresUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** The adapter's default pool size (pg's too), given to the adapter and to the baseline alike. */
const poolSize = 10;

/**
 * Two fresh schemas per run (tidemark's and the baseline's), so neither sees the other's rows
 * or index pages; both are dropped afterwards.
 */
export function postgresBackend(): Backend {
  const stamp = `${process.pid}_${Date.now().toString(36)}`;
  const ours = `bench_${stamp}`;
  const raw = `bench_${stamp}_raw`;
  const schemas = new Set([ours, raw]);
  const admin = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 3000 });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };
  return {
    name: 'postgres',
    baseline: rawPgBaseline,
    concurrent: true,
    async unavailable() {
      try {
        await admin((client) => client.query('SELECT 1'));
        return undefined;
      } catch (error) {
        return `PostgreSQL is not reachable at ${new URL(postgresUrl).host}: ${(error as Error).message}`;
      }
    },
    async openOurs(options) {
      const schema = options?.name ? `${ours}_${options.name}` : ours;
      schemas.add(schema);
      return createPostgresEventStore({
        url: postgresUrl,
        schema,
        stages: options?.stages ?? [],
        poolSize,
        createSchema: true,
        groupCommit: process.env.BENCH_GROUP_COMMIT !== '0',
      });
    },
    async openKeyStore() {
      return createPostgresKeyStore({ url: postgresUrl, schema: ours });
    },
    async openBaseline() {
      await admin((client) => client.query(schemaSql(raw)));
      return openRawPgStore({ url: postgresUrl, schema: raw, table: 'events', poolSize });
    },
    snapshots: (ours) => createPostgresSnapshotStore({ store: ours as PostgresEventStore }),
    async cleanup() {
      await admin(async (client) => {
        for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS ${quote(schema)} CASCADE`);
      });
    },
  };
}
