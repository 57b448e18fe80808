import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresEventStore, migrate, type PostgresEventStore, SchemaRenamedError } from '../src/index.js';
import { dropSchemas, randomSchemaName } from './testSchemas.js';

const available = await serviceAvailable('postgres');

/**
 * The reproduction: a store's schema renamed to `<name>_copy` and its dump restored again under
 * the old name. The copy's functions still name the old schema, so before the fix a
 * transactional append to the copy locked and wrote the restored store's stream.
 */
describe.skipIf(!available)('PostgreSQL store whose schema was renamed and restored again under its old name', () => {
  const schemas: string[] = [];
  const stores: PostgresEventStore[] = [];
  const role = `tm_app_${randomBytes(5).toString('hex')}`;
  let admin: pg.Pool;

  const open = async (
    schema: string,
    options: { migrate?: boolean; url?: string; createSchema?: boolean; onError?: (error: unknown, context: string) => void } = {},
  ) => {
    const store = await createPostgresEventStore({ url: serviceUrls.postgres, schema, poolSize: 2, ...options });
    stores.push(store);
    return store;
  };
  const versions = async (schema: string) =>
    (await admin.query<{ version: string }>(`SELECT version FROM "${schema}".events WHERE stream_id = 's-0' ORDER BY version`)).rows.map(
      (row) => Number(row.version),
    );

  /** X with s-0 at version 1, renamed to X_copy; X restored from its dump, then appended to: s-0 at 3 there. */
  async function renamedCopy(): Promise<{ original: string; copy: string }> {
    const original = randomSchemaName();
    const copy = `${original}_copy`;
    schemas.push(original, copy);
    const store = await open(original, { createSchema: true });
    await store.appendToStream('s-0', [{ type: 'made', data: { n: 1 } }]);
    await store.close();
    const dump = execFileSync('pg_dump', ['--no-owner', '--schema', original, '--dbname', serviceUrls.postgres], {
      maxBuffer: 64 * 1024 * 1024,
    });
    await admin.query(`ALTER SCHEMA "${original}" RENAME TO "${copy}"`);
    execFileSync('psql', ['-q', '-v', 'ON_ERROR_STOP=1', '--dbname', serviceUrls.postgres], {
      input: dump,
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    const restored = await open(original);
    await restored.appendToStream('s-0', [
      { type: 'made', data: { n: 2 } },
      { type: 'made', data: { n: 3 } },
    ]);
    await admin.query(`GRANT USAGE ON SCHEMA "${copy}" TO ${role};
      GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "${copy}" TO ${role};
      GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA "${copy}" TO ${role}`);
    return { original, copy };
  }

  /** A transactional append (append_to_stream) to the copy's s-0 lands there, locking the copy's key. */
  async function expectWritesIntoCopy(original: string, copy: string, store: PostgresEventStore): Promise<void> {
    const result = await store.transaction(async (tx) => {
      const appended = await tx.appendToStream('s-0', [{ type: 'made', data: { n: 4 } }], { expectedVersion: 1 });
      // The function's stream lock is the copy's key, the one the autocommit path takes too.
      const held = await admin.query('SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS free', [`${copy}:s-0`]);
      expect(held.rows[0]?.free).toBe(false);
      return appended;
    });
    expect(result.nextExpectedVersion).toBe(2);
    await store.appendToStream('s-0', [{ type: 'made', data: { n: 5 } }], { expectedVersion: 2 });
    expect(await versions(copy)).toEqual([1, 2, 3]);
    expect(await versions(original)).toEqual([1, 2, 3]);
    expect((await admin.query(`SELECT count(*)::int AS n FROM "${original}".events`)).rows[0]?.n).toBe(3);
  }

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: serviceUrls.postgres, max: 2 });
    await admin.query(`CREATE ROLE ${role} LOGIN`);
  });

  afterAll(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    await dropSchemas(schemas);
    await admin.query(`DROP OWNED BY ${role}`).catch(() => {});
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
  });

  it('refuses to open the copy without migrations, naming the schema and the remedy, until `tidemark migrate` repairs it', async () => {
    const { original, copy } = await renamedCopy();
    const opening = open(copy, { migrate: false });
    await expect(opening).rejects.toBeInstanceOf(SchemaRenamedError);
    await expect(opening).rejects.toMatchObject({ details: { schema: copy, named: [original] } });
    await expect(opening).rejects.toThrow(/tidemark migrate/);

    // What `tidemark migrate` runs, as the owner: no version to apply, the functions re-created.
    expect(await migrate(admin, copy)).toEqual([]);
    const { rows } = await admin.query<{ prosrc: string }>(
      `SELECT prosrc FROM pg_proc WHERE pronamespace = to_regnamespace($1) AND proname IN ('append_to_stream', 'tidemark_refuse_deleted', 'tidemark_stream_readable')`,
      [copy],
    );
    expect(rows).toHaveLength(3);
    for (const { prosrc } of rows) {
      expect(prosrc).toContain(`"${copy}".`);
      expect(prosrc).not.toContain(`"${original}".`);
    }
    await expectWritesIntoCopy(original, copy, await open(copy, { migrate: false }));
  });

  it('refuses a role that may not re-create the functions, even with migrations on', async () => {
    const { original, copy } = await renamedCopy();
    const url = new URL(serviceUrls.postgres);
    url.username = role;
    const opening = open(copy, { url: url.toString() });
    await expect(opening).rejects.toBeInstanceOf(SchemaRenamedError);
    await expect(opening).rejects.toMatchObject({ details: { schema: copy, named: [original] } });
    expect(await versions(copy)).toEqual([1]);
    expect(await versions(original)).toEqual([1, 2, 3]);
  });

  it('re-creates the functions when the owner opens it with migrations on (the default), and tells onError so', async () => {
    const { original, copy } = await renamedCopy();
    const reported: Array<{ error: unknown; context: string }> = [];
    const onError = (error: unknown, context: string) => reported.push({ error, context });
    await expectWritesIntoCopy(original, copy, await open(copy, { onError }));
    // Told once, as `tidemark migrate` would print it: which schema, and the one its functions named.
    expect(reported).toEqual([
      {
        context: `The PostgreSQL store repaired schema ${copy} as it opened`,
        error: new Error(
          `Re-created the store's functions for schema ${copy}: they named schema ${original} (renamed or restored under another name).`,
        ),
      },
    ]);
    // Repaired for good: a role without DDL rights opens it now, and the owner with nothing to tell.
    await expect(open(copy, { migrate: false })).resolves.toMatchObject({ schema: copy });
    await open(copy, { onError });
    expect(reported).toHaveLength(1);
  });

  it('without onError, the repair is a process warning of its own (TIDEMARK_SCHEMA_REPAIRED)', async () => {
    const { original, copy } = await renamedCopy();
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      await open(copy);
      // process.emitWarning delivers on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    const repaired = warnings.filter((warning) => (warning as Error & { code?: string }).code === 'TIDEMARK_SCHEMA_REPAIRED');
    expect(repaired).toHaveLength(1);
    expect(repaired[0]?.message).toContain(`repaired schema ${copy} as it opened`);
    expect(repaired[0]?.message).toContain(`they named schema ${original}`);
  });
});
