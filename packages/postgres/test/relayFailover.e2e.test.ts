import { fileURLToPath } from 'node:url';
import { type StateReportingChild, serviceAvailable, serviceUrls, spawnStateReportingChild, waitFor } from '@tidemark/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresOutbox } from '../src/index.js';
import { createStoreFactory, randomSchemaName } from './testSchemas.js';

const available = await serviceAvailable('postgres');
const fixture = fileURLToPath(new URL('./fixtures/relayFailoverChild.ts', import.meta.url));

describe.skipIf(!available)('PostgreSQL outbox relay failover across processes', () => {
  const stores = createStoreFactory();
  const children: StateReportingChild[] = [];
  afterAll(async () => {
    for (const child of children) child.process.kill('SIGKILL');
    await stores.cleanup();
  });

  it('one relay publishes at a time; when it is SIGKILLed the standby takes over and publishes the rest', async () => {
    const schema = randomSchemaName();
    const store = await stores.create({ schema });
    const outbox = createPostgresOutbox();
    let added = 0;
    const add = async (n: number) => {
      for (let i = 0; i < n; i++, added++) {
        await store.transaction((tx) =>
          outbox.add(tx, [
            { id: `m-${added}`, type: 'shop.order.placed', schemaVersion: 1, key: `order-${added % 7}`, data: { n: added } },
          ]),
        );
      }
    };
    const published = async () =>
      Number((await store.pool.query(`SELECT count(*) AS n FROM "${schema}".tidemark_outbox WHERE published_at IS NOT NULL`)).rows[0].n);

    await add(100);
    const env = { URL: serviceUrls.postgres, SCHEMA: schema };
    const active = spawnStateReportingChild(fixture, env);
    children.push(active);
    await active.waitForState('running');
    const standby = spawnStateReportingChild(fixture, env);
    children.push(standby);
    await standby.waitForState('standby');

    let adding = true;
    const writer = (async () => {
      while (adding) {
        await add(5);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    try {
      await waitFor(async () => (await published()) >= 100, 'the active relay to publish', 20_000);
      active.process.kill('SIGKILL');
      const atKill = await published();
      await standby.waitForState('running', 20_000);
      await waitFor(async () => (await published()) > atKill + 50, 'the standby to publish', 20_000);
    } finally {
      adding = false;
      await writer;
    }
    await waitFor(async () => (await published()) === added, 'every row published', 20_000);
    expect(await store.transaction((tx) => outbox.stats(tx))).toMatchObject({ backlog: 0, retained: added });
  });
});
