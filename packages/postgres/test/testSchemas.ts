import { randomBytes } from 'node:crypto';
import { serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { createPostgresEventStore, type PostgresEventStore, type PostgresEventStoreOptions } from '../src/index.js';

/** A schema name no other run uses, so concurrent test runs never collide. */
export function randomSchemaName(): string {
  return `tm_test_${randomBytes(6).toString('hex')}`;
}

/**
 * Creates stores on fresh schemas and, on cleanup, closes them and drops their schemas.
 */
export function createStoreFactory() {
  const stores: PostgresEventStore[] = [];
  const schemas = new Set<string>();
  return {
    async create(options: Partial<PostgresEventStoreOptions> = {}): Promise<PostgresEventStore> {
      const schema = options.schema ?? randomSchemaName();
      schemas.add(schema);
      const store = await createPostgresEventStore({ url: serviceUrls.postgres, poolSize: 4, createSchema: true, ...options, schema });
      stores.push(store);
      return store;
    },
    async cleanup(): Promise<void> {
      await Promise.all(stores.splice(0).map((store) => store.close()));
      await dropSchemas([...schemas]);
      schemas.clear();
    },
  };
}

export async function dropSchemas(schemas: readonly string[]): Promise<void> {
  if (schemas.length === 0) return;
  const client = new pg.Client({ connectionString: serviceUrls.postgres });
  await client.connect();
  try {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}
