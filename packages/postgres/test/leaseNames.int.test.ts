import { randomBytes } from 'node:crypto';
import { ValidationError } from '@tidemark/core';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresLease } from '../src/index.js';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

describe.skipIf(!available)('PostgreSQL lease: names and failures acquire cannot wait out', () => {
  const stores = createStoreFactory();
  const role = `fixpg_lease_${randomBytes(5).toString('hex')}`;
  const roleUrl = (() => {
    const url = new URL(serviceUrls.postgres);
    url.username = role;
    url.password = '';
    return url.toString();
  })();
  let admin: pg.Pool | undefined;

  afterAll(async () => {
    await stores.cleanup();
    if (!admin) return;
    await admin.query(`DROP OWNED BY ${role}`).catch(() => {});
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
  });

  it('refuses a name holding U+0000, which PostgreSQL text cannot store', async () => {
    const { schema } = await stores.create({ poolSize: 1 });
    expect(() => createPostgresLease({ url: serviceUrls.postgres, schema, name: 'balances\u0000a' })).toThrow(ValidationError);
    const lease = createPostgresLease({ url: serviceUrls.postgres, schema, name: 'balances\u00ffa' });
    try {
      expect(await lease.acquire()).toBe(true);
    } finally {
      await lease.release();
    }
  });

  it('reports a failure no retry can cure instead of standing by forever', async () => {
    const { schema } = await stores.create({ poolSize: 1 });
    admin = new pg.Pool({ connectionString: serviceUrls.postgres, max: 1 });
    // A role that may read the lease table but not write it: a deployment error.
    await admin.query(`CREATE ROLE ${role} LOGIN`);
    await admin.query(`GRANT USAGE ON SCHEMA "${schema}" TO ${role}`);
    await admin.query(`GRANT SELECT ON ALL TABLES IN SCHEMA "${schema}" TO ${role}`);
    const lease = createPostgresLease({ url: roleUrl, schema, name: 'balances' });
    try {
      await expect(lease.acquire()).rejects.toMatchObject({ code: 'permission_denied', details: { sqlState: '42501' } });
      expect(lease.held).toBe(false);
    } finally {
      await lease.release();
    }
  });

  it('still answers false while the server cannot be reached', async () => {
    const unreachable = new URL(serviceUrls.postgres);
    unreachable.port = '1';
    const lease = createPostgresLease({ url: unreachable.toString(), name: 'balances' });
    expect(await lease.acquire()).toBe(false);
    expect(lease.held).toBe(false);
  });
});
