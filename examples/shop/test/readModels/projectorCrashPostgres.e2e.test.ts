import { randomBytes } from 'node:crypto';
import { chaosSetting, serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { crashTest } from './crashHarness.js';

const available = await serviceAvailable('postgres');
/** CI-sized; `npm run chaos -- projections` runs more. */
const kills = chaosSetting('PROJECTOR_KILLS', 30);

describe.skipIf(!available)('PostgreSQL projector crash test', () => {
  it(
    `${kills} SIGKILLs of projector processes (some appending) lose and double-apply nothing`,
    async () => {
      const schema = `crash_${randomBytes(5).toString('hex')}`;
      try {
        const result = await crashTest({ kind: 'postgres', target: schema, kills, prefill: 300, parallel: 2, seed: 7 });
        expect(result.kills).toBe(kills);
        console.info(
          `postgres crash test: ${result.kills} kills, ${result.events} events, checkpoint after kills ${result.checkpointAfterKills}`,
        );
      } finally {
        const admin = new pg.Pool({ connectionString: serviceUrls.postgres, max: 1 });
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await admin.end();
      }
    },
    180_000 + kills * 3_000,
  );
});
