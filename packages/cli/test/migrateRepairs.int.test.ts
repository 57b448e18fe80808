import { randomBytes } from 'node:crypto';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { runCaptured as run } from './runCaptured.js';

const available = await serviceAvailable('postgres');

/** `tidemark migrate` on a store at the latest version that needed a repair says which it made. */
describe.skipIf(!available)('tidemark migrate --postgres reports its repairs', () => {
  const schemas: string[] = [];
  const admin = new pg.Pool({ connectionString: serviceUrls.postgres, max: 1 });
  const newSchema = () => {
    const schema = `tm_cli_${randomBytes(5).toString('hex')}`;
    schemas.push(schema);
    return schema;
  };
  const migrate = (schema: string, ...more: string[]) => run(['migrate', '--postgres', serviceUrls.postgres, '--schema', schema, ...more]);
  afterAll(async () => {
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  });

  it("says it re-created the functions of a renamed schema, not 'nothing to do'", async () => {
    const original = newSchema();
    const renamed = newSchema();
    await migrate(original, '--create-schema');
    await admin.query(`ALTER SCHEMA "${original}" RENAME TO "${renamed}"`);

    const { stdout } = await migrate(renamed);
    expect(stdout).not.toMatch(/nothing to do/);
    expect(stdout).toMatch(new RegExp(`^PostgreSQL schema ${renamed} is at version \\d+: no migration to apply\\.\\n`));
    expect(stdout).toContain(`Re-created the store's functions for schema ${renamed}: they named schema ${original} `);
    // Repaired: the next run has nothing to do.
    expect((await migrate(renamed)).stdout).toMatch(/^PostgreSQL schema \S+ is at version \d+: nothing to do\.\n$/);
  });

  it('names the repair in --json too', async () => {
    const original = newSchema();
    const renamed = newSchema();
    await migrate(original, '--create-schema');
    await admin.query(`ALTER SCHEMA "${original}" RENAME TO "${renamed}"`);
    expect(JSON.parse((await migrate(renamed, '--json')).stdout)).toMatchObject({
      migrated: false,
      functionsRecreatedFrom: [original],
      positionsRebased: false,
      outboxSequenceAdvanced: false,
    });
    expect(JSON.parse((await migrate(renamed, '--json')).stdout)).toMatchObject({ functionsRecreatedFrom: [] });
  });

  it("says it rebased positions and advanced the outbox's sequence of a restored store", async () => {
    const schema = newSchema();
    await migrate(schema, '--create-schema');
    // What a data-only restore leaves: outbox rows numbered elsewhere, an event from a cluster further on.
    await admin.query(
      `INSERT INTO "${schema}".tidemark_outbox (sequence, message_id, type, schema_version, key, data, headers, occurred_at, created_at)
       OVERRIDING SYSTEM VALUE VALUES (1, 'old-1', 'm', 1, 'k', '{}', '{}', now(), now())`,
    );
    await admin.query(
      `INSERT INTO "${schema}".events (position, id, stream_id, version, type, schema_version, data, metadata, recorded_at)
       VALUES ((pg_snapshot_xmax(pg_current_snapshot())::text::bigint + 1000000) << 20, gen_random_uuid(), 'moved-1', 1, 't', 1, '{}', '{}', now())`,
    );
    const { stdout } = await migrate(schema);
    expect(stdout).toMatch(/no migration to apply/);
    expect(stdout).toContain('Rebased positions');
    expect(stdout).toContain("Advanced the outbox's sequence");
    expect(stdout).not.toContain("Re-created the store's functions");
    expect((await migrate(schema)).stdout).toMatch(/nothing to do/);
  });
});
