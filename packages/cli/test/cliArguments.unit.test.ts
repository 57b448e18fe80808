import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/main.js';
import { parseRebuildArguments } from '../src/projections/projectionsRebuild.js';
import { captureOutput } from './captureOutput.js';

const dir = mkdtempSync(join(tmpdir(), 'tidemark-cli-args-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// An existing file, so that each case fails on the argument it is about.
const db = join(dir, 'store.db');
writeFileSync(db, '');

async function run(argv: string[]) {
  const out = captureOutput();
  const err = captureOutput();
  const code = await runCli(argv, { stdout: out.stream, stderr: err.stream, interactive: false });
  return { code, stdout: out.text(), stderr: err.text() };
}

describe('tidemark argument validation', () => {
  it.each([
    [['frobnicate'], "unknown command 'frobnicate'"],
    [['projections', 'replay'], "unknown command 'projections replay'"],
    [['projections', 'rebuild'], 'missing the <projection> name'],
    [['projections', 'rebuild', 'sums', '--sqlite', db], 'missing --module'],
    [['projections', 'rebuild', 'sums', '--module', 'm.ts'], 'exactly one of --sqlite <file> or --postgres <url>'],
    [['projections', 'rebuild', 'sums', '--module', 'm.ts', '--sqlite', db, '--postgres', 'postgres://h/db'], 'exactly one of'],
    [['projections', 'rebuild', 'sums', 'more', '--module', 'm.ts', '--sqlite', db], "unexpected argument 'more'"],
    [['projections', 'rebuild', 'sums', '--module', 'm.ts', '--sqlite', db, '--schema', 'public'], '--schema goes with --postgres'],
    [
      ['projections', 'rebuild', 'sums', '--module', 'm.ts', '--postgres', 'postgres://h/db', '--schema', 'Bad-Name'],
      "--schema 'Bad-Name'",
    ],
    [['projections', 'rebuild', 'sums', '--module', 'm.ts', '--postgres', 'mysql://h/db'], '--postgres must be a postgres:// URL'],
    [
      ['projections', 'rebuild', 'sums', '--module', 'm.ts', '--sqlite', db, '--batch-size', '0'],
      "--batch-size must be a whole number ≥ 1, not '0'",
    ],
    [['projections', 'rebuild', 'sums', '--module', 'm.ts', '--sqlite', db, '--batch-size', '1e3'], '--batch-size'],
    [['projections', 'rebuild', 'sums', '--module', 'm.ts', '--sqlite', db, '--verbose'], "Unknown option '--verbose'"],
    [['projections', 'rebuild', 'sums', '--module'], "'--module"],
    [['projections', 'rebuild', 'sums', '--module', 'no-such-module.ts', '--sqlite', db], 'no-such-module.ts'],
    [['projections', 'rebuild', 'sums', '--module', 'm.ts', '--sqlite', join(dir, 'typo.db')], 'typo.db: no such file'],
  ])('refuses %j with one line naming the problem and exit code 2', async (argv, message) => {
    const { code, stdout, stderr } = await run(argv);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(message);
    expect(stderr.startsWith('tidemark: ')).toBe(true);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('prints the usage on stdout for --help, with exit code 0', async () => {
    for (const argv of [[], ['--help'], ['projections', 'rebuild', '--help']]) {
      const { code, stdout, stderr } = await run(argv);
      expect(code).toBe(0);
      expect(stderr).toBe('');
      expect(stdout).toContain('Usage: tidemark projections rebuild <projection>');
    }
  });

  it('reads valid arguments, with the batch size defaulting to 500', () => {
    expect(parseRebuildArguments(['sums', '--module', 'm.ts', '--postgres', 'postgres://h/db', '--schema', 'shop'])).toEqual({
      projection: 'sums',
      module: 'm.ts',
      postgres: 'postgres://h/db',
      schema: 'shop',
      batchSize: 500,
    });
    expect(parseRebuildArguments(['sums', '--module', 'm.ts', '--sqlite', db, '--batch-size', '40'])).toMatchObject({ batchSize: 40 });
  });
});
