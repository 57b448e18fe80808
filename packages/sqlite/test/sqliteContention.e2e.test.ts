import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSqliteEventStore } from '@tidemark/sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { tempSqliteFiles } from './tempSqliteFiles.js';

const files = tempSqliteFiles('tidemark-sqlite-contention-');
afterAll(() => files.remove());

const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'contendOnOneStream.ts');

function startWriter(file: string, writer: string, count: number) {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, file, writer, String(count)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buffered = '';
  let stderr = '';
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => {
    onReady = resolve;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  child.stdout.on('data', (chunk) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const line of parts) {
      if (line === 'ready') onReady();
      else lines.push(line);
    }
  });
  const done = new Promise<string[]>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(lines) : reject(new Error(`writer ${writer} exited with ${code}: ${stderr}`))));
  });
  return { ready, go: () => child.stdin.write('go\n'), done };
}

describe('two processes appending to one SQLite stream', () => {
  it('conflict through the expected version and lose nothing: versions stay contiguous', async () => {
    const file = files.next('shared.db');
    // Create the schema first so that the two children do not both wait on the migration.
    await createSqliteEventStore({ file }).close();
    const count = 150;
    const writers = [startWriter(file, 'a', count), startWriter(file, 'b', count)];
    await Promise.all(writers.map((w) => w.ready));
    for (const w of writers) w.go();
    const outputs = await Promise.all(writers.map((w) => w.done));

    const acked = outputs.flat().filter((line) => line.startsWith('ok '));
    const conflicts = outputs
      .flat()
      .filter((line) => line.startsWith('conflicts '))
      .map((line) => Number(line.split(' ')[1]));
    expect(acked).toHaveLength(2 * count);
    expect(conflicts).toHaveLength(2);

    const store = createSqliteEventStore({ file });
    const events = await store.readStream('shared-1');
    expect(events.map((e) => e.version)).toEqual(Array.from({ length: 2 * count }, (_, i) => i + 1));
    const byPosition = new Map(events.map((e) => [e.position, e.data]));
    for (const line of acked) {
      const [, position, writer, n] = line.split(' ');
      expect(byPosition.get(BigInt(position!))).toEqual({ writer, n: Number(n) });
    }
    // Each writer's own appends keep their order.
    for (const writer of ['a', 'b']) {
      const ns = events
        .map((e) => e.data as { writer: string; n: number })
        .filter((d) => d.writer === writer)
        .map((d) => d.n);
      expect(ns).toEqual(Array.from({ length: count }, (_, i) => i));
    }
    await store.close();
    // Reported, not asserted: whether the two interleaved tightly enough to collide is up to the scheduler.
    console.info(`two-process contention: ${conflicts.reduce((a, b) => a + b, 0)} conflicts retried`);
  });
});
