import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { crashTest } from './crashHarness.js';

it('SQLite: 100 SIGKILLs of projector processes (some appending) lose and double-apply nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tidemark-crash-'));
  try {
    const result = await crashTest({ kind: 'sqlite', target: join(dir, 'shop.db'), kills: 100, prefill: 800, parallel: 2, seed: 42 });
    expect(result.kills).toBe(100);
    console.info(
      `sqlite crash test: ${result.kills} kills, ${result.events} events, checkpoint after kills ${result.checkpointAfterKills}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);
