import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NotFoundError, type RecordedEvent } from '@tidemark/core';
import { createSqliteCheckpointStore, createSqliteEventStore } from '@tidemark/sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { sumsProjection } from './fixtures/sumsProjection.js';
import { runCaptured as run } from './runCaptured.js';

const fixture = fileURLToPath(new URL('./fixtures/sumsProjection.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tidemark-cli-failures-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A store where 'sums' parked event 2 and 'other' halted on event 3. */
async function storeWithFailures(file: string) {
  const store = createSqliteEventStore({ file });
  const checkpoints = createSqliteCheckpointStore();
  const appended: RecordedEvent[] = [];
  for (let i = 1; i <= 3; i++) {
    appended.push(...(await store.appendToStream(`acc-${i}`, [{ type: 'test.amount.added', data: { amount: i * 10 } }])).events);
  }
  const [, second, third] = appended as [RecordedEvent, RecordedEvent, RecordedEvent];
  const failure = { eventType: second.type, streamId: second.streamId, message: 'boom\nsecond line', attempts: 5 };
  await store.transaction(async (tx) => {
    await sumsProjection.setup?.(tx, { name: (t) => t });
    await checkpoints.park(
      { projection: 'sums', position: second.position, eventId: second.id, ...failure, parkedAt: new Date(), event: second },
      tx,
    );
    await checkpoints.save('sums', 0n, 3n, tx);
    await checkpoints.save('other', 0n, 2n, tx);
    await checkpoints.recordFailure(
      'other',
      { position: third.position, eventId: third.id, ...failure, streamId: third.streamId, failedAt: new Date() },
      tx,
    );
  });
  await store.close();
  return { second, third };
}

describe('tidemark projections failed|retry|skip', () => {
  it('lists, retries and skips failed and parked events', async () => {
    const file = join(dir, 'store.db');
    const { second, third } = await storeWithFailures(file);

    const listed = await run(['projections', 'failed', '--sqlite', file, '--json']);
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject([
      {
        projection: 'other',
        status: 'failed',
        position: String(third.position),
        streamId: 'acc-3',
        message: 'boom\nsecond line',
        attempts: 5,
      },
      { projection: 'sums', status: 'parked', position: String(second.position), eventId: second.id, eventType: 'test.amount.added' },
    ]);
    const text = await run(['projections', 'failed', 'sums', '--sqlite', file]);
    expect(text.stdout.split('\n')[0]).toMatch(/^PROJECTION\s+STATUS\s+POSITION/);
    expect(text.stdout).toContain('"boom\\nsecond line"');
    expect(text.stdout).not.toContain('other');

    // A parked event needs the projection to be retried.
    await expect(run(['projections', 'retry', 'sums', '--position', String(second.position), '--sqlite', file])).rejects.toThrow(
      "needs the projection 'sums'",
    );
    const retried = await run(['projections', 'retry', 'sums', '--position', '2', '--module', fixture, '--sqlite', file]);
    expect(retried.stderr).toBe('');
    expect(retried.stdout).toContain('Retried the parked event at position 2 of sums');

    const skipped = await run(['projections', 'skip', 'other', '--position', '3', '--sqlite', file, '--json']);
    expect(JSON.parse(skipped.stdout)).toMatchObject({ projection: 'other', status: 'failed', position: '3' });

    expect(JSON.parse((await run(['projections', 'failed', '--sqlite', file, '--json'])).stdout)).toEqual([]);
    const store = createSqliteEventStore({ file });
    const checkpoints = createSqliteCheckpointStore();
    try {
      expect(await store.transaction((tx) => tx.sql.query('SELECT stream_id, total FROM sums'))).toEqual([
        { stream_id: 'acc-2', total: 20 },
      ]);
      const other = await store.transaction((tx) => checkpoints.load('other', tx));
      expect(other?.position).toBe(3n);
      expect(other?.failure).toBeUndefined();
    } finally {
      await store.close();
    }
    await expect(run(['projections', 'skip', 'other', '--position', '3', '--sqlite', file])).rejects.toBeInstanceOf(NotFoundError);
  });

  it.each([
    [['projections', 'retry', '--position', '1', '--sqlite', 'x.db'], "missing required argument 'projection'"],
    [['projections', 'skip', 'sums', '--postgres', 'postgres://h/db'], "required option '--position <n>' not specified"],
    [['projections', 'skip', 'sums', '--position', '0', '--postgres', 'postgres://h/db'], "'--position <n>' argument '0' is invalid"],
    [['projections', 'skip', 'sums', '--position', '3', '--module', 'm.ts', '--postgres', 'postgres://h/db'], "unknown option '--module'"],
    [['projections', 'failed', '--position', '3', '--postgres', 'postgres://h/db'], "unknown option '--position'"],
    [['projections', 'failed'], 'exactly one of --sqlite <file> or --postgres <url>'],
    [['migrate', '--postgres', 'postgres://h/db', '--schema', 'Bad'], "--schema 'Bad'"],
  ])('refuses %j with one line and exit code 2', async (argv, message) => {
    const { code, stderr } = await run(argv);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});

describe('tidemark migrate --sqlite', () => {
  it('creates a store only when asked, then has nothing to do', async () => {
    const file = join(dir, 'fresh.db');
    // A file that is not there is a store that cannot be opened: a failed command (exit code 1), as for a schema.
    await expect(run(['migrate', '--sqlite', file])).rejects.toThrow(/^migrate: --sqlite .*fresh\.db: no such file$/);
    expect(existsSync(file)).toBe(false);
    const created = await run(['migrate', '--sqlite', file, '--create-schema']);
    expect(created.stdout).toMatch(/Migrated SQLite file .* from version 0 to \d+\./);
    expect((await run(['migrate', '--sqlite', file])).stdout).toMatch(/is at version \d+: nothing to do\./);
  });
});
