import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@tidemark/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/store/openStore.js';
import { seedStore } from './fixtures/seedStore.js';

const cliRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bin = ['--import', 'tsx', join(cliRoot, 'src/bin.ts')];
const dir = mkdtempSync(join(tmpdir(), 'tidemark-cli-process-'));
const file = join(dir, 'store.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function start(args: string[]): Running {
  const child = spawn(process.execPath, args, { cwd: cliRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exit = new Promise<number | null>((resolveExit, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolveExit(code));
  });
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

/** Runs a command to its end; resolves with its exit code and output. */
async function runProcess(args: string[]) {
  const running = start(args);
  const code = await running.exit;
  return { code, stdout: running.stdout(), stderr: running.stderr() };
}

describe('the tidemark executable', () => {
  it.each([
    ['the bin entry', bin],
    ['the source through tsx', ['--import', 'tsx', join(cliRoot, 'src/main.ts')]],
  ])('%s: bad arguments are one line on stderr and exit code 2; --help is exit code 0', async (_name, entry) => {
    const bad = await runProcess([...entry, 'projections', 'rebuild', 'sums', '--module', 'm.ts']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trimEnd().split('\n')).toEqual([expect.stringContaining('exactly one of --sqlite <file> or --postgres <url>')]);
    const help = await runProcess([...entry, '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: tidemark <command>');
  });

  it('a store that cannot be opened is a failed command, exit code 1, whatever the reason', async () => {
    const empty = join(dir, 'empty.db');
    writeFileSync(empty, '');
    const missing = join(dir, 'missing.db');
    for (const [args, line] of [
      [['streams', '--sqlite', missing], `tidemark: streams: --sqlite ${missing}: no such file`],
      [['migrate', '--sqlite', missing], `tidemark: migrate: --sqlite ${missing}: no such file`],
      [
        ['streams', '--sqlite', empty],
        `tidemark: The SQLite file '${empty}' holds no tidemark store (tidemark migrate --create-schema to create one)`,
      ],
      [['migrate', '--sqlite', empty], `tidemark: The SQLite file '${empty}' holds no tidemark store (--create-schema to create one)`],
      // Nothing listens on port 1: never connected, so not a connection "lost"; no password shown.
      [
        ['streams', '--postgres', 'postgres://ops:secret@127.0.0.1:1/test'],
        'tidemark: cannot connect to PostgreSQL at 127.0.0.1:1: connection refused (ECONNREFUSED)',
      ],
      [
        ['migrate', '--postgres', 'postgres://ops:secret@127.0.0.1:1/test'],
        'tidemark: cannot connect to PostgreSQL at 127.0.0.1:1: connection refused (ECONNREFUSED)',
      ],
    ] as const) {
      const run = await runProcess([...bin, ...args]);
      expect({ args, code: run.code, stderr: run.stderr }).toEqual({ args, code: 1, stderr: `${line}\n` });
    }
    expect(existsSync(missing)).toBe(false);
  });

  describe('each command family on a SQLite store', () => {
    let seeded: Awaited<ReturnType<typeof seedStore>>;
    beforeAll(async () => {
      const migrated = await runProcess([...bin, 'migrate', '--sqlite', file, '--create-schema']);
      expect(migrated.stderr).toBe('');
      expect(migrated.stdout).toMatch(/^Migrated SQLite file .* from version 0 to \d+\.\n$/);
      const opened = await openStore({ sqlite: file });
      try {
        seeded = await seedStore(opened);
      } finally {
        await opened.close();
      }
    });

    it('stream: the events and the version reached; a missing stream is exit code 1 with one line', async () => {
      const shown = await runProcess([...bin, 'stream', 'order-1', '--sqlite', file, '--version', '2', '--json']);
      expect(shown.code).toBe(0);
      expect(JSON.parse(shown.stdout)).toMatchObject({ streamId: 'order-1', version: 2, currentVersion: 3 });
      const missing = await runProcess([...bin, 'stream', 'order-404', '--sqlite', file]);
      expect(missing.code).toBe(1);
      expect(missing.stderr.trimEnd().split('\n')).toEqual(["tidemark: Stream 'order-404' has no events"]);
    });

    it('events tail --follow: prints new events as they are appended and exits 0 on SIGINT', async () => {
      const tail = start([...bin, 'events', 'tail', '--sqlite', file, '--limit', '1', '--follow', '--json']);
      try {
        await waitFor(() => tail.stdout().split('\n').length === 2, 'the latest event printed', 20_000);
        expect(JSON.parse(tail.stdout())).toMatchObject({ position: String(seeded.last.position) });
        const opened = await openStore({ sqlite: file });
        try {
          await opened.store.appendToStream('order-3', [{ type: 'order.created', data: { customer: 'cy' } }]);
        } finally {
          await opened.close();
        }
        await waitFor(() => tail.stdout().split('\n').length === 3, 'the appended event printed', 20_000);
        expect(JSON.parse(tail.stdout().split('\n')[1] as string)).toMatchObject({ streamId: 'order-3', type: 'order.created' });
      } finally {
        tail.child.kill('SIGINT');
      }
      expect(await tail.exit).toBe(0);
      expect(tail.stderr()).toBe('');
    });

    it('events tail --follow stops as cleanly on SIGTERM (a service manager, docker stop) as on SIGINT', async () => {
      const tail = start([...bin, 'events', 'tail', '--sqlite', file, '--limit', '1', '--follow']);
      try {
        await waitFor(() => tail.stdout().includes('\n'), 'the latest event printed', 20_000);
      } finally {
        tail.child.kill('SIGTERM');
      }
      expect(await tail.exit).toBe(0);
      expect(tail.stderr()).toBe('');
    });

    it.each([[['events', 'tail', '--follow']], [['streams']]])(
      '%j whose reader has gone (| head) ends quietly with exit code 0',
      async (argv) => {
        const cut = start([...bin, ...argv, '--sqlite', file]);
        // The reader closes before the first line: every write meets EPIPE.
        cut.child.stdout?.destroy();
        expect(await cut.exit).toBe(0);
        expect(cut.stderr()).toBe('');
      },
    );

    it('streams: the streams with their counts', async () => {
      const listed = await runProcess([...bin, 'streams', '--sqlite', file, '--json']);
      expect(listed.code).toBe(0);
      expect(JSON.parse(listed.stdout).streams).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ streamId: 'order-1', eventCount: 3 }),
          expect.objectContaining({ streamId: 'order-2', eventCount: 1 }),
        ]),
      );
    });

    it('projections status, outbox status and consumers status', async () => {
      const projections = await runProcess([...bin, 'projections', 'status', '--sqlite', file]);
      expect(projections.code).toBe(0);
      expect(projections.stdout.split('\n')[0]).toMatch(/^NAME\s+STATE/);
      expect(projections.stdout).toMatch(/order_list\s+failed/);
      const outbox = await runProcess([...bin, 'outbox', 'status', '--sqlite', file, '--json']);
      expect(JSON.parse(outbox.stdout)).toMatchObject({ backlog: 1 });
      const consumers = await runProcess([...bin, 'consumers', 'status', '--sqlite', file, '--json']);
      expect(JSON.parse(consumers.stdout)).toMatchObject([{ consumer: 'mailer', records: 2 }]);
    });
  });
});
