import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCaptured as run } from './runCaptured.js';

const dir = mkdtempSync(join(tmpdir(), 'tidemark-cli-args-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// An existing file, so that each case fails on the argument it is about.
const db = join(dir, 'store.db');
writeFileSync(db, '');

describe('tidemark argument validation', () => {
  const pg = ['--postgres', 'postgres://h/db'];
  it.each([
    [['frobnicate'], "unknown command 'frobnicate'"],
    [['projections', 'replay'], "unknown command 'replay'"],
    [['projections'], 'projections: missing a subcommand (status, failed, retry, skip, rebuild)'],
    // The subcommand forgotten before the options: not "unknown option '--sqlite'".
    [['events', '--sqlite', db], 'events: missing a subcommand (tail)'],
    [['projections', '--sqlite', db], 'projections: missing a subcommand (status, failed, retry, skip, rebuild)'],
    [['outbox', '--sqlite', db, '--json'], 'outbox: missing a subcommand (status)'],
    [['events', 'tail', '--sqlite', db, '--bogus'], "unknown option '--bogus'"],
    [['dashboard', '--sqlite', db, '--port', 'http'], "option '--port <n>' argument 'http' is invalid"],
    [['dashboard', '--sqlite', db, '--port', '70000'], '--port must be at most 65535'],
    [['dashboard', '--sqlite', db, '--token', 'short'], 'the token must be 16 to 256 printable characters'],
    [['dashboard'], 'exactly one of --sqlite <file> or --postgres <url>'],
    [['outbox'], 'outbox: missing a subcommand'],
    [['projections', 'rebuild', '--module', 'm.ts'], "missing required argument 'projection'"],
    [['projections', 'rebuild', 'sums', '--sqlite', db], "required option '--module <file>' not specified"],
    [['projections', 'rebuild', 'sums', '--module', 'm.ts'], 'exactly one of --sqlite <file> or --postgres <url>'],
    [['projections', 'rebuild', 'sums', '--module', 'm.ts', '--sqlite', db, '--postgres', 'postgres://h/db'], 'exactly one of'],
    [['projections', 'rebuild', 'sums', 'more', '--module', 'm.ts', '--sqlite', db], 'too many arguments'],
    [['projections', 'rebuild', 'sums', '--module', 'm.ts', '--sqlite', db, '--schema', 'public'], '--schema goes with --postgres'],
    [['projections', 'rebuild', 'sums', '--module', 'm.ts', ...pg, '--schema', 'Bad-Name'], "--schema 'Bad-Name'"],
    [['projections', 'rebuild', 'sums', '--module', 'm.ts', '--postgres', 'mysql://h/db'], '--postgres must be a postgres:// URL'],
    [
      ['projections', 'rebuild', 'sums', '--module', 'm.ts', '--sqlite', db, '--batch-size', '0'],
      "'--batch-size <n>' argument '0' is invalid",
    ],
    [['projections', 'rebuild', 'sums', '--module', 'm.ts', '--sqlite', db, '--batch-size', '1e3'], '--batch-size'],
    [['projections', 'rebuild', 'sums', '--module', 'm.ts', '--sqlite', db, '--verbose'], "unknown option '--verbose'"],
    [['projections', 'rebuild', 'sums', '--module'], "option '--module <file>' argument missing"],
    [['projections', 'rebuild', 'sums', '--module', 'no-such-module.ts', '--sqlite', db], 'no-such-module.ts'],
    [['projections', 'status', '--sqlite', db, '--limit', '3'], "unknown option '--limit'"],
    [['stream', '--sqlite', db], "missing required argument 'id'"],
    [['stream', 'order-1', '--sqlite', db, '--version', 'two'], "'--version <n>' argument 'two' is invalid"],
    [['stream', 'order-1', '--sqlite', db, '--version', '0'], 'must be a whole number ≥ 1'],
    [['stream', 'order-1', '--sqlite', db, '--as-of', 'yesterday'], "'--as-of <time>' argument 'yesterday' is invalid"],
    [['stream', 'order-1', '--sqlite', db, '--as-of', '2026-13-45'], "'--as-of <time>' argument '2026-13-45' is invalid"],
    // Dates Date would roll over into the next month.
    [['stream', 'order-1', '--sqlite', db, '--as-of', '2026-02-30'], "'--as-of <time>' argument '2026-02-30' is invalid"],
    [['stream', 'order-1', '--sqlite', db, '--as-of', '2025-02-29T12:00:00Z'], "'--as-of <time>' argument '2025-02-29T12:00:00Z'"],
    [['stream', 'order-1', '--sqlite', db, '--as-of', '2026-04-31T00:00'], "'--as-of <time>' argument '2026-04-31T00:00' is invalid"],
    [['stream', 'order-1', '--sqlite', db, '--as-of', '2026-01-01', '--version', '2'], 'give --as-of or --version, not both'],
    [['stream', 'order-1', '--sqlite', db, ...pg], 'exactly one of'],
    [['events', 'tail', '--sqlite', db, '--type'], "option '--type <type>' argument missing"],
    [['events', 'tail', '--sqlite', db, '--limit', '-1'], "'--limit <n>' argument '-1' is invalid"],
    [['events', 'head', '--sqlite', db], "unknown command 'head'"],
    [['events', 'tail', '--sqlite', db, '--limit', '1001'], '--limit must be at most 1000'],
    [['streams', '--sqlite', db, '--limit', '0'], "'--limit <n>' argument '0' is invalid"],
    [['streams', '--sqlite', db, '--limit', '5000'], '--limit must be at most 1000'],
    [['streams', '--sqlite', db, '--after'], "option '--after <stream-id>' argument missing"],
    [['streams', 'order', '--sqlite', db], 'too many arguments'],
    [['outbox', 'status'], 'exactly one of'],
    [['consumers', 'status', '--sqlite', db, '--follow'], "unknown option '--follow'"],
    [['migrate', '--sqlite'], "option '--sqlite <file>' argument missing"],
    // Empty arguments (an unset shell variable) name nothing: bad arguments, named, not a failed run.
    [['streams', '--sqlite', ''], "option '--sqlite <file>' argument '' is invalid. must not be empty"],
    [['migrate', '--sqlite', '', '--create-schema'], "option '--sqlite <file>' argument '' is invalid. must not be empty"],
    [['streams', '--postgres', ''], "option '--postgres <url>' argument '' is invalid. must not be empty"],
    [['streams', '--sqlite', '', ...pg], "option '--sqlite <file>' argument '' is invalid"],
    [['streams', ...pg, '--schema', ''], "option '--schema <name>' argument '' is invalid"],
    [['stream', '', '--sqlite', db], "value '' is invalid for argument 'id'. must not be empty"],
    [['projections', 'failed', '', '--sqlite', db], "value '' is invalid for argument 'projection'"],
    [['projections', 'retry', '', '--position', '1', '--sqlite', db], "value '' is invalid for argument 'projection'"],
    [['projections', 'retry', 'sums', '--position', '1', '--module', '', '--sqlite', db], "option '--module <file>' argument ''"],
    [['projections', 'skip', '', '--position', '1', '--sqlite', db], "value '' is invalid for argument 'projection'"],
    [['projections', 'rebuild', '', '--module', 'm.ts', '--sqlite', db], "value '' is invalid for argument 'projection'"],
    [['projections', 'rebuild', 'sums', '--module', '', '--sqlite', db], "option '--module <file>' argument '' is invalid"],
    [['streams', '--sqlite', db, '--category', ''], "option '--category <category>' argument '' is invalid"],
    [['streams', '--sqlite', db, '--after', ''], "option '--after <stream-id>' argument '' is invalid"],
    [['streams', '--sqlite', db, '--limit', ''], "option '--limit <n>' argument '' is invalid"],
    [['events', 'tail', '--sqlite', db, '--type', ''], "option '--type <type>' argument '' is invalid"],
    [['events', 'tail', '--sqlite', db, '--category', ''], "option '--category <category>' argument '' is invalid"],
    [['events', 'tail', '--sqlite', db, '--limit', ''], "option '--limit <n>' argument '' is invalid"],
    [['dashboard', '--sqlite', db, '--host', ''], "option '--host <host>' argument '' is invalid"],
    [['dashboard', '--sqlite', db, '--token', ''], "option '--token <token>' argument '' is invalid"],
    // URLs pg cannot read: named as --postgres's problem before anything connects.
    [['streams', '--postgres', 'postgres://ops:secret@[::1/db'], 'streams: --postgres must be a postgres:// URL'],
    [['migrate', '--postgres', 'postgres://ops:secret@db:99999/db'], 'migrate: --postgres must be a postgres:// URL'],
    [['dashboard', '--postgres', 'postgres://ops:secret@db:port/db'], 'dashboard: --postgres must be a postgres:// URL'],
  ])('refuses %j with one line naming the problem and exit code 2', async (argv, message) => {
    const { code, stdout, stderr } = await run(argv);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(message);
    expect(stderr.startsWith('tidemark: ')).toBe(true);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('never echoes a --postgres URL it refuses: it may hold a password', async () => {
    for (const url of ['postgres://ops:secret@[::1/db', 'postgres://ops:secret@db:99999/db', 'mysql://ops:secret@db/db']) {
      const { code, stderr } = await run(['streams', '--postgres', url]);
      expect(code).toBe(2);
      expect(stderr).toContain('--postgres must be a postgres:// URL');
      expect(stderr).not.toContain('secret');
    }
  });

  it('prints the usage on stdout for --help, with exit code 0', async () => {
    for (const [argv, usage] of [
      [[], 'Usage: tidemark <command>'],
      [['--help'], 'Usage: tidemark <command>'],
      [['projections', 'rebuild', '--help'], 'Usage: tidemark projections rebuild [options] <projection>'],
      [['events', 'tail', '-h'], 'Usage: tidemark events tail [options]'],
    ] as const) {
      const { code, stdout, stderr } = await run([...argv]);
      expect(code).toBe(0);
      expect(stderr).toBe('');
      expect(stdout).toContain(usage);
    }
  });
});
