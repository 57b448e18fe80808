import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { appendAndConsumeKillCase, type CrashCaseOutcome, consumerKillCase, createCrashTables, outboxKillCase } from '@tidemark/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteEventStore, createSqliteOutbox } from '../src/index.js';
import { tempSqliteFiles } from './tempSqliteFiles.js';

const files = tempSqliteFiles('tidemark-messaging-crash-');
afterAll(() => files.remove());
const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'messagingCrashChild.ts');

function expectExactlyOnce(outcome: CrashCaseOutcome): void {
  // The case reported its counts to `npm run chaos` (reportChaos) before these assertions.
  expect(outcome.sent).toBeGreaterThan(0);
  expect(outcome).toMatchObject({ lost: 0, duplicateEffects: 0, delivered: outcome.sent, inboxRecords: outcome.sent });
}

describe('SQLite embedded messaging under SIGKILL (durable consumer through the inbox)', () => {
  it('loses and doubles no effect when consumers die before or after their commit', async () => {
    const file = files.next('consumer.db');
    const store = createSqliteEventStore({ file });
    await createCrashTables(store, 'crash');
    try {
      expectExactlyOnce(await consumerKillCase({ store, fixture, env: { FILE: file, TABLE: 'crash' }, table: 'crash', backend: 'sqlite' }));
    } finally {
      await store.close();
    }
  });

  it('delivers every appended message exactly once when the appending, consuming process dies at random', async () => {
    const file = files.next('embedded.db');
    const store = createSqliteEventStore({ file });
    await createCrashTables(store, 'crash');
    try {
      expectExactlyOnce(
        await appendAndConsumeKillCase({ store, fixture, env: { FILE: file, TABLE: 'crash' }, table: 'crash', backend: 'sqlite' }),
      );
    } finally {
      await store.close();
    }
  });

  it('keeps state changes and their outbox messages together, and delivers each exactly once, when the process dies at random', async () => {
    const file = files.next('outbox.db');
    const store = createSqliteEventStore({ file });
    await createCrashTables(store, 'crash');
    try {
      const outcome = await outboxKillCase({
        store,
        outbox: createSqliteOutbox(),
        fixture,
        env: { FILE: file, TABLE: 'crash' },
        table: 'crash',
        backend: 'sqlite',
      });
      expect(outcome.outboxMessages).toBe(outcome.stateChanges);
      expectExactlyOnce(outcome);
    } finally {
      await store.close();
    }
  });
});
