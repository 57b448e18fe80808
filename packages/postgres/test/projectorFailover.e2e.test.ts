import { fileURLToPath } from 'node:url';
import { type StateReportingChild, serviceAvailable, serviceUrls, spawnStateReportingChild, waitFor } from '@tidemark/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresEventStore } from '../src/index.js';
import { dropSchemas, randomSchemaName } from './testSchemas.js';

const available = await serviceAvailable('postgres');
const fixture = fileURLToPath(new URL('./fixtures/projectorFailoverChild.ts', import.meta.url));

describe.skipIf(!available)('PostgreSQL projector failover across processes', () => {
  const schema = randomSchemaName();
  const children: StateReportingChild[] = [];
  afterAll(async () => {
    for (const child of children) child.process.kill('SIGKILL');
    await dropSchemas([schema]);
  });

  it('a standby takes over from the checkpoint when the active process is SIGKILLed; no event is applied twice', async () => {
    // The read model lives in the store's schema, beside the checkpoint tables.
    const env = { URL: serviceUrls.postgres, SCHEMA: schema, TABLE: `${schema}.balances` };
    const checkpoints = `${schema}.tidemark_checkpoints`;
    const store = await createPostgresEventStore({ url: serviceUrls.postgres, schema, poolSize: 3, createSchema: true });
    let appended = 0;
    const append = async (n: number) => {
      for (let i = 0; i < n; i++, appended++) {
        await store.appendToStream(`account-${appended % 13}`, [{ type: 'account.deposited', data: { amount: (appended % 97) + 1 } }]);
      }
    };
    const checkpoint = async () => {
      const result = await store.pool
        .query<{ position: string }>(`SELECT position FROM ${checkpoints} WHERE name = 'balances'`)
        .catch(() => ({ rows: [] as Array<{ position: string }> }));
      return BigInt(result.rows[0]?.position ?? 0);
    };
    await append(200);

    const active = spawnStateReportingChild(fixture, env);
    children.push(active);
    await active.waitForState('running');
    const standby = spawnStateReportingChild(fixture, env);
    children.push(standby);
    await standby.waitForState('standby');

    // Keep commands arriving throughout, so the kill lands while there is work in flight.
    let appending = true;
    const writer = (async () => {
      while (appending) {
        await append(5);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    try {
      const firstEvents = await store.readAll({ limit: 300 });
      let target = 0n;
      for await (const event of firstEvents) target = event.position;
      await waitFor(async () => (await checkpoint()) >= target, 'the active projector to make progress', 20_000);
      active.process.kill('SIGKILL');
      const atKill = await checkpoint();
      await standby.waitForState('running');
      await waitFor(async () => (await checkpoint()) > atKill, 'the standby to make progress', 20_000);
    } finally {
      appending = false;
      await writer;
    }
    const head = await store.headPosition();
    await waitFor(async () => (await checkpoint()) === head, 'the standby to catch up', 20_000);

    // The read model equals a rebuild from the log, and every event was applied exactly once.
    const expected = new Map<string, { balance: number; applied: number }>();
    for await (const event of store.readAll()) {
      const row = expected.get(event.streamId) ?? { balance: 0, applied: 0 };
      expected.set(event.streamId, { balance: row.balance + (event.data as { amount: number }).amount, applied: row.applied + 1 });
    }
    const rows = await store.pool.query<{ id: string; balance: string; applied: string }>(`SELECT id, balance, applied FROM ${env.TABLE}`);
    const actual = new Map(rows.rows.map((row) => [row.id, { balance: Number(row.balance), applied: Number(row.applied) }]));
    expect(actual).toEqual(expected);
    expect([...expected.values()].reduce((sum, row) => sum + row.applied, 0)).toBe(appended);
    standby.process.kill('SIGTERM');
    await store.close();
  });

  it('a standby takes over from a holder frozen without closing anything (SIGSTOP), and the holder cannot commit when it thaws', async () => {
    // Another read model and checkpoint table in the same schema: the lease row is per projection name and schema, so a new schema.
    const frozenSchema = randomSchemaName();
    const env = {
      URL: serviceUrls.postgres,
      SCHEMA: frozenSchema,
      TABLE: `${frozenSchema}.balances`,
      CHECKPOINTS: `${frozenSchema}.tidemark_checkpoints`,
      TTL: '2000',
    };
    const store = await createPostgresEventStore({ url: serviceUrls.postgres, schema: frozenSchema, poolSize: 3, createSchema: true });
    try {
      let appended = 0;
      const append = async (n: number) => {
        for (let i = 0; i < n; i++, appended++) {
          await store.appendToStream(`account-${appended % 7}`, [{ type: 'account.deposited', data: { amount: (appended % 89) + 1 } }]);
        }
      };
      const checkpoint = async () => {
        const result = await store.pool
          .query<{ position: string }>(`SELECT position FROM ${env.CHECKPOINTS} WHERE name = 'balances'`)
          .catch(() => ({ rows: [] as Array<{ position: string }> }));
        return BigInt(result.rows[0]?.position ?? 0);
      };
      await append(50);
      const active = spawnStateReportingChild(fixture, env);
      children.push(active);
      await active.waitForState('running');
      const standby = spawnStateReportingChild(fixture, env);
      children.push(standby);
      await standby.waitForState('standby');
      await waitFor(async () => (await checkpoint()) >= (await store.headPosition()), 'the active projector to catch up', 20_000);

      // The host "vanishes": no FIN, no RST, its sockets stay open — the server sees a live session.
      active.process.kill('SIGSTOP');
      await append(30);
      // Before, the advisory lock lived as long as that session: the standby waited for hours.
      await standby.waitForState('running');
      const head = await store.headPosition();
      await waitFor(async () => (await checkpoint()) >= head, 'the standby to catch up while the holder is frozen', 30_000);

      // Thawed, the old holder finds its lease gone and stands by; whatever batch it had in flight cannot commit.
      active.process.kill('SIGCONT');
      await active.waitForState('standby');
      await append(20);
      const finalHead = await store.headPosition();
      await waitFor(async () => (await checkpoint()) >= finalHead, 'the new holder to apply the rest', 30_000);

      const expected = new Map<string, { balance: number; applied: number }>();
      for await (const event of store.readAll()) {
        const row = expected.get(event.streamId) ?? { balance: 0, applied: 0 };
        expected.set(event.streamId, { balance: row.balance + (event.data as { amount: number }).amount, applied: row.applied + 1 });
      }
      const rows = await store.pool.query<{ id: string; balance: string; applied: string }>(
        `SELECT id, balance, applied FROM ${env.TABLE}`,
      );
      expect(new Map(rows.rows.map((row) => [row.id, { balance: Number(row.balance), applied: Number(row.applied) }]))).toEqual(expected);
      expect([...expected.values()].reduce((sum, row) => sum + row.applied, 0)).toBe(appended);
      active.process.kill('SIGKILL');
      standby.process.kill('SIGTERM');
    } finally {
      await store.close();
      await dropSchemas([frozenSchema]);
    }
  });
});
