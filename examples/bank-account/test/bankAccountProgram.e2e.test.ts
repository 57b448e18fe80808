import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const exampleRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('npm start -w examples/bank-account', () => {
  it('runs the story as a program and prints what it found', () => {
    // What the package's start script runs (vitest passes the tidemark:source condition on through NODE_OPTIONS).
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/bankAccount.ts'], { cwd: exampleRoot, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.slice(0, 3)).toEqual([
      expect.stringMatching(/^v1 \S+ bank\.account\.opened \{"owner":"alice","initialDeposit":1000\}$/),
      expect.stringMatching(/^v2 \S+ bank\.account\.deposited \{"amount":500\}$/),
      expect.stringMatching(/^v3 \S+ bank\.account\.withdrawn \{"amount":200\}$/),
    ]);
    expect(lines[3]).toBe('balance now: 1300, as of 10:45: 1500, read model: 1300');
    expect(JSON.parse(lines[4]!)).toMatchObject({ balance: 1300, balanceAsOf1045: 1500, projectedBalance: 1300 });
  });
});
