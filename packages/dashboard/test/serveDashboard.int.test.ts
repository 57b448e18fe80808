import { randomBytes } from 'node:crypto';
import { createPostgresEventStore } from '@tidemark/postgres';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
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
