import { randomBytes } from 'node:crypto';
import { StoreNotFoundError } from '@tidemark/core';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { runCaptured as run } from './runCaptured.js';

const available = await serviceAvailable('postgres');

describe.skipIf(!available)('tidemark migrate --postgres', () => {
  const schema = `tm_cli_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Pool({ connectionString: serviceUrls.postgres, max: 1 });
  afterAll(async () => {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  });

  it('refuses a schema with no store unless --create-schema, then creates it once', async () => {
    const migrate = ['migrate', '--postgres', serviceUrls.postgres, '--schema', schema];
    const refused = await run(migrate).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StoreNotFoundError);
    // The hint names this command's option, not the library's createSchema: true.
    expect((refused as Error).message).toBe(`The PostgreSQL schema '${schema}' holds no tidemark store (--create-schema to create one)`);
    const { rows } = await admin.query('SELECT to_regnamespace($1) IS NOT NULL AS found', [schema]);
    expect(rows[0]?.found).toBe(false);
    expect((await run([...migrate, '--create-schema'])).stdout).toMatch(
      new RegExp(`Migrated PostgreSQL schema ${schema} from version 0 to \\d+`),
    );
    expect((await run(migrate)).stdout).toMatch(/is at version \d+: nothing to do/);
    // The other commands now find the store.
    expect(
      JSON.parse((await run(['projections', 'failed', '--postgres', serviceUrls.postgres, '--schema', schema, '--json'])).stdout),
    ).toEqual([]);
  });
});
