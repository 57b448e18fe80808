import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  appendAndConsumeKillCase,
  type CrashCaseOutcome,
  consumerKillCase,
  createCrashTables,
  outboxKillCase,
  serviceAvailable,
  serviceUrls,
} from '@tidemark/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresOutbox } from '../src/index.js';
import { createStoreFactory, randomSchemaName } from './testSchemas.js';

const available = await serviceAvailable('postgres');
const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'messagingCrashChild.ts');

function expectExactlyOnce(outcome: CrashCaseOutcome): void {
  // The case reported its counts to `npm run chaos` (reportChaos) before these assertions.
  expect(outcome.sent).toBeGreaterThan(0);
  expect(outcome).toMatchObject({ lost: 0, duplicateEffects: 0, delivered: outcome.sent, inboxRecords: outcome.sent });
}

describe.skipIf(!available)('PostgreSQL embedded messaging under SIGKILL (durable consumer through the inbox)', () => {
  const stores = createStoreFactory();
  afterAll(() => stores.cleanup());

  for (const [name, run] of [
    ['loses and doubles no effect when consumers die before or after their commit', consumerKillCase],
    ['delivers every appended message exactly once when the appending, consuming process dies at random', appendAndConsumeKillCase],
  ] as const) {
    it(name, async () => {
      const schema = randomSchemaName();
      // The effects tables live beside the events: the store's search_path is its schema.
      const store = await stores.create({ schema });
      await createCrashTables(store, `"${schema}".crash`);
      const env = { URL: serviceUrls.postgres, SCHEMA: schema, TABLE: `"${schema}".crash` };
      expectExactlyOnce(await run({ store, fixture, env, table: `"${schema}".crash`, backend: 'postgres' }));
    });
  }

  it('keeps state changes and their outbox messages together, and delivers each exactly once, when the process dies at random', async () => {
    const schema = randomSchemaName();
    const store = await stores.create({ schema });
    const table = `"${schema}".crash`;
    await createCrashTables(store, table);
    const env = { URL: serviceUrls.postgres, SCHEMA: schema, TABLE: table };
    const outcome = await outboxKillCase({ store, outbox: createPostgresOutbox(), fixture, env, table, backend: 'postgres' });
    expect(outcome.outboxMessages).toBe(outcome.stateChanges);
    expectExactlyOnce(outcome);
  });
});
