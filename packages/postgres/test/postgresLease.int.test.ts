import { randomBytes } from 'node:crypto';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresLease, type PostgresLease } from '../src/processing/postgresLease.js';

const available = await serviceAvailable('postgres');

describe.skipIf(!available)('PostgreSQL projector lease (session advisory lock)', () => {
  const leases: PostgresLease[] = [];
  const lease = (name: string, schema: string) => {
    const created = createPostgresLease({ url: serviceUrls.postgres, name, schema });
    leases.push(created);
    return created;
  };
  const fresh = () => `lease_${randomBytes(6).toString('hex')}`;
  afterEach(async () => {
    await Promise.all(leases.splice(0).map((l) => l.release()));
  });

  it('lets one instance hold a name at a time, and hands it over on release', async () => {
    const schema = fresh();
    const a = lease('balances', schema);
    const b = lease('balances', schema);
    expect(await a.acquire()).toBe(true);
    expect(await a.acquire()).toBe(true);
    expect(await b.acquire()).toBe(false);
    expect(await a.renew()).toBe(true);
    // Another name, or the same name in another schema, is another lease.
    expect(await lease('orders', schema).acquire()).toBe(true);
    expect(await lease('balances', fresh()).acquire()).toBe(true);
    await a.release();
    expect(await a.renew()).toBe(false);
    expect(await b.acquire()).toBe(true);
    // acquire twice while held must not stack the lock: one release frees it.
    expect(await b.acquire()).toBe(true);
    await b.release();
    expect(await a.acquire()).toBe(true);
  });

  it('is released by the server when the holder session dies, and the holder learns it lost it', async () => {
    const schema = fresh();
    const a = lease('balances', schema);
    const b = lease('balances', schema);
    expect(await a.acquire()).toBe(true);
    expect(await b.acquire()).toBe(false);
    const admin = new pg.Client({ connectionString: serviceUrls.postgres });
    await admin.connect();
    try {
      const killed = await admin.query(`SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE application_name = $1`, [
        `tidemark-lease:${schema}.balances`,
      ]);
      expect(killed.rowCount).toBeGreaterThanOrEqual(1);
    } finally {
      await admin.end();
    }
    const deadline = Date.now() + 5000;
    while (!(await b.acquire())) {
      if (Date.now() > deadline) throw new Error('standby never got the lease');
    }
    expect(await a.renew()).toBe(false);
    expect(await a.acquire()).toBe(false);
  });
});
