import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runExample } from '../src/bankAccount.js';

describe('the bank account example', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('opens with 1,000, deposits 500, withdraws 200, refuses an overdraft, and knows the past and the read model', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tidemark-bank-test-'));
    dirs.push(dir);
    const result = await runExample(dir);
    expect(result.balance).toBe(1_300);
    expect(result.history.map((e) => [e.version, e.type, e.data])).toEqual([
      [1, 'bank.account.opened', { owner: 'alice', initialDeposit: 1_000 }],
      [2, 'bank.account.deposited', { amount: 500 }],
      [3, 'bank.account.withdrawn', { amount: 200 }],
    ]);
    expect(result.history.map((e) => e.recordedAt)).toEqual([
      '2030-01-01T10:00:00.000Z',
      '2030-01-01T10:30:00.000Z',
      '2030-01-01T11:00:00.000Z',
    ]);
    expect(result.balanceAsOf1045).toBe(1_500);
    expect(result.projectedBalance).toBe(1_300);
    expect(result.refused).toBe('Cannot withdraw 1000000 from 1300');
  });
});
