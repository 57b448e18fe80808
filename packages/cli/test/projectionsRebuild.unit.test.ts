import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSqliteCheckpointStore, createSqliteEventStore } from '@tidemark/sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/main.js';
import { captureOutput } from './captureOutput.js';
import { sumsProjection } from './fixtures/sumsProjection.js';

const fixture = fileURLToPath(new URL('./fixtures/sumsProjection.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tidemark-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tidemark projections rebuild', () => {
  it('rebuilds a read model from zero, swaps it in, resets the checkpoint and reports progress', async () => {
    const file = join(dir, 'store.db');
    const store = createSqliteEventStore({ file });
    const checkpoints = createSqliteCheckpointStore();
    for (let i = 1; i <= 300; i++) await store.appendToStream(`acc-${i % 3}`, [{ type: 'test.amount.added', data: { amount: i } }]);
    // A corrupted live read model and checkpoint: the rebuild must replace both.
    await store.transaction(async (tx) => {
      await checkpoints.setup(tx);
      await sumsProjection.setup?.(tx, { name: (t) => t });
      await tx.sql.execute(`INSERT INTO sums (stream_id, total) VALUES ('acc-0', -1), ('bogus', 5)`);
      await checkpoints.save('sums', 0n, 300n, tx);
    });
    await store.close();

    const out = captureOutput();
    const err = captureOutput();
    const code = await runCli(['projections', 'rebuild', 'sums', '--module', fixture, '--sqlite', file, '--batch-size', '40'], {
      stdout: out.stream,
      stderr: err.stream,
      interactive: false,
    });
    expect(err.text()).toBe('');
    expect(code).toBe(0);
    expect(out.text()).toMatch(/replaying 13% 40 events/);
    expect(out.text()).toMatch(/Rebuilt sums: 300 events up to position 300/);

    // Again with batches that end exactly at the head (300 = 3 × 100): the replay must still finish.
    expect(
      await runCli(['projections', 'rebuild', 'sums', '--module', fixture, '--sqlite', file, '--batch-size', '100'], {
        stdout: captureOutput().stream,
        stderr: err.stream,
        interactive: false,
      }),
    ).toBe(0);

    const reopened = createSqliteEventStore({ file });
    try {
      const rows = await reopened.transaction((tx) => tx.sql.query('SELECT stream_id, total FROM sums ORDER BY stream_id'));
      const expected = [0, 1, 2].map((r) => ({
        stream_id: `acc-${r}`,
        total: Array.from({ length: 300 }, (_, i) => i + 1)
          .filter((i) => i % 3 === r)
          .reduce((a, b) => a + b, 0),
      }));
      expect(rows).toEqual(expected);
      expect((await reopened.transaction((tx) => checkpoints.load('sums', tx)))?.position).toBe(300n);
      // The shadow's index came back under its live name; no shadow tables are left behind.
      const objects = await reopened.transaction((tx) =>
        tx.sql.query<{ name: string }>(`SELECT name FROM sqlite_master WHERE name LIKE 'sums%' ORDER BY name`),
      );
      expect(objects.map((o) => o.name)).toEqual(['sums', 'sums_by_total']);
    } finally {
      await reopened.close();
    }
  });

  it('names the exported projections when the name is wrong: one line, exit code 2', async () => {
    const err = captureOutput();
    const io = { stdout: captureOutput().stream, stderr: err.stream, interactive: false };
    const file = join(dir, 'other.db');
    await createSqliteEventStore({ file }).close();
    expect(await runCli(['projections', 'rebuild', 'nope', '--module', fixture, '--sqlite', file], io)).toBe(2);
    expect(err.text()).toMatch(/^tidemark: projections rebuild: .*exports no projection named 'nope' \(it exports: sums\).*\n$/);
  });
});
