import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chaosSetting } from '@tidemark/testing';
import { expect, it } from 'vitest';
import { crashTest } from './crashHarness.js';

/** CI-sized; `npm run chaos -- projections` runs more. */
const kills = chaosSetting('PROJECTOR_KILLS', 50);

it(
  `SQLite: ${kills} SIGKILLs of projector processes (some appending) lose and double-apply nothing`,
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tidemark-crash-'));
    try {
      const result = await crashTest({ kind: 'sqlite', target: join(dir, 'shop.db'), kills, prefill: 800, parallel: 2, seed: 42 });
      expect(result.kills).toBe(kills);
      console.info(
        `sqlite crash test: ${result.kills} kills, ${result.events} events, checkpoint after kills ${result.checkpointAfterKills}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  180_000 + kills * 1_500,
);
