import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  chaosSetting,
  reportChaos,
  type StateReportingChild,
  serviceAvailable,
  serviceUrls,
  spawnStateReportingChild,
} from '@tidemark/testing';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { dropSchemas, randomSchemaName } from './testSchemas.js';

const available = await serviceAvailable('postgres');
const fixture = fileURLToPath(new URL('./fixtures/connectionChaosChild.ts', import.meta.url));
/** CI-sized by default; TIDEMARK_CHAOS_ROUNDS / TIDEMARK_CHAOS_OPS for a longer soak (`npm run chaos -- store`). */
const rounds = chaosSetting('ROUNDS', 2);
// Even: half the operations are transfers of two events.
const opsPerRound = Math.ceil(chaosSetting('OPS', 150) / 2) * 2;

describe.skipIf(!available)('PostgreSQL: sessions terminated at random (issue 7 §2)', () => {
  const admin = new pg.Pool({ connectionString: serviceUrls.postgres, max: 1 });
  const schemas: string[] = [];
  const children: StateReportingChild[] = [];
  afterAll(async () => {
    for (const child of children) child.process.kill('SIGKILL');
    await dropSchemas(schemas);
    await admin.end();
  });

  it.each(Array.from({ length: rounds }, (_, round) => round))(
    'round %i: the process lives, the projector catches up, the read model equals a fold of the log',
    async () => {
      const schema = randomSchemaName();
      schemas.push(schema);
      // Only sessions of this test carry these names: the server is shared with other test runs.
      const applicationName = `tm_chaos_${randomBytes(4).toString('hex')}`;
      const url = new URL(serviceUrls.postgres);
      url.searchParams.set('application_name', applicationName);
      const child = spawnStateReportingChild(fixture, { URL: url.toString(), SCHEMA: schema, OPS: String(opsPerRound) });
      children.push(child);
      const exited = new Promise<number | null>((resolve) => child.process.on('exit', (code) => resolve(code)));
      await child.waitForState('running', 60_000);

      let killed = 0;
      const chaos = (async () => {
        while (child.state === 'running') {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 400));
          const { rowCount } = await admin.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE application_name IN ($1, $2) AND pid <> pg_backend_pid()
              ORDER BY random() LIMIT 1`,
            [applicationName, `tidemark-listen:${schema}`],
          );
          killed += rowCount ?? 0;
        }
      })();
      await child.waitForState('done', 240_000);
      await chaos;

      const events = await admin.query<{ id: string; stream_id: string; amount: number }>(
        `SELECT id, stream_id, (data::jsonb ->> 'amount')::int AS amount FROM "${schema}".events`,
      );
      const expected = new Map<string, { balance: number; applied: number }>();
      for (const row of events.rows) {
        const current = expected.get(row.stream_id) ?? { balance: 0, applied: 0 };
        expected.set(row.stream_id, { balance: current.balance + row.amount, applied: current.applied + 1 });
      }
      const model = await admin.query<{ id: string; balance: string; applied: string }>(
        `SELECT id, balance, applied FROM "${schema}".balances`,
      );
      const actual = new Map(model.rows.map((row) => [row.id, { balance: Number(row.balance), applied: Number(row.applied) }]));
      // Each operation's events are there exactly once: deposits (1 event) and transfers (2); the
      // read model applied each once.
      const sent = opsPerRound / 2 + opsPerRound;
      const distinct = new Set(events.rows.map((row) => row.id)).size;
      const applied = [...actual.values()].reduce((sum, row) => sum + row.applied, 0);
      reportChaos({
        case: 'connections.terminated',
        backend: 'postgres',
        runs: killed,
        sent,
        delivered: distinct,
        lost: Math.max(0, sent - distinct) + Math.max(0, events.rows.length - applied),
        duplicateEffects: events.rows.length - distinct + Math.max(0, applied - events.rows.length),
      });
      expect(await exited).toBe(0);
      expect(killed).toBeGreaterThan(0);
      expect(events.rows).toHaveLength(sent);
      expect(distinct).toBe(events.rows.length);
      expect(actual).toEqual(expected);
    },
    300_000,
  );
});
