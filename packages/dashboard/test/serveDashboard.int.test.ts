import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreNotFoundError } from '@tidemark/core';
import { createPostgresEventStore } from '@tidemark/postgres';
import { createSqliteEventStore } from '@tidemark/sqlite';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { serveDashboard } from '../src/index.js';

const available = await serviceAvailable('postgres');

describe.skipIf(!available)('serveDashboard on PostgreSQL', () => {
  const schema = `tm_dash_${randomBytes(6).toString('hex')}`;
  afterAll(async () => {
    const client = new pg.Client({ connectionString: serviceUrls.postgres });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  });

  it('serves the pages and the API of an existing schema, and refuses a schema that does not exist', async () => {
    const store = await createPostgresEventStore({ url: serviceUrls.postgres, schema, createSchema: true });
    await store.appendToStream('order-1', [{ type: 'order.placed', data: { note: '<b>x</b>' }, metadata: { correlationId: 'c-1' } }]);
    await store.close();

    const served = await serveDashboard({ postgres: serviceUrls.postgres, schema, port: 0, token: 'int-test-token-0123456789' });
    try {
      const json = async (response: Response) => (await response.json()) as Record<string, unknown>;
      const events = await json(await fetch(`${served.url}api/events?correlationId=c-1`));
      expect(
        (events.events as Array<{ streamId: string; data: unknown }>).map((e: { streamId: string; data: unknown }) => [e.streamId, e.data]),
      ).toEqual([['order-1', { note: '<b>x</b>' }]]);
      expect((await json(await fetch(`${served.url}api/projections`))).projections).toEqual([]);
      const page = await fetch(served.url);
      expect(page.headers.get('content-type')).toContain('text/html');
      const missing = await fetch(`${served.url}no/such/page`);
      expect(missing.status).toBe(404);
      expect((await json(missing)).error).toMatchObject({ code: 'not_found' });
    } finally {
      await served.close();
    }
    await expect(serveDashboard({ postgres: serviceUrls.postgres, schema: `${schema}_missing`, port: 0 })).rejects.toThrow();
    await expect(serveDashboard({ port: 0 })).rejects.toThrow(/exactly one of sqlite/);
  });
});

describe('serveDashboard on a SQLite file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tidemark-dashboard-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a file that holds no store, and leaves it exactly as it was', async () => {
    const file = join(dir, 'app.db');
    const db = new Database(file);
    db.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('ada')");
    db.close();
    const before = readFileSync(file);
    await expect(serveDashboard({ sqlite: file, port: 0 })).rejects.toBeInstanceOf(StoreNotFoundError);
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(existsSync(`${file}-wal`)).toBe(false);
  });

  it('serves a store file', async () => {
    const file = join(dir, 'store.db');
    const store = createSqliteEventStore({ file });
    await store.appendToStream('order-1', [{ type: 'order.placed', data: { n: 1 } }]);
    await store.close();
    const served = await serveDashboard({ sqlite: file, port: 0 });
    try {
      const response = await fetch(`${served.url}api/events`);
      expect(((await response.json()) as { events: unknown[] }).events).toHaveLength(1);
    } finally {
      await served.close();
    }
  });
});
