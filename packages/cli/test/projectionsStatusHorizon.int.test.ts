import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serviceAvailable, serviceUrls, waitFor } from '@tidemark/testing';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/main.js';
import { openStore } from '../src/store/openStore.js';
import { captureOutput } from './captureOutput.js';

const postgresAvailable = await serviceAvailable('postgres');
const schema = `tm_cli_horizon_${randomBytes(4).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'tidemark-cli-horizon-'));

async function run(argv: string[]) {
  const out = captureOutput();
  const err = captureOutput();
  const code = await runCli(argv, { stdout: out.stream, stderr: err.stream, interactive: false });
  return { code, stdout: out.text(), stderr: err.text() };
}

interface Row {
  name: string;
  state: string;
  position: string;
  head: string;
  eventsBehind: number;
  invisibleEvents?: number;
  horizonAgeSeconds?: number;
}

/** A store with one projection checkpoint at its readable head. */
async function seed(argv: string[], store: Parameters<typeof openStore>[0]): Promise<bigint> {
  expect((await run(['migrate', ...argv, '--create-schema', '--json'])).code).toBe(0);
  const opened = await openStore(store);
  try {
    let head = 0n;
    for (let i = 0; i < 3; i++) head = (await opened.store.appendToStream(`account-${i}`, [{ type: 'account.opened', data: {} }])).position;
    await opened.store.transaction(async (tx) => {
      await opened.checkpoints.setup(tx);
      await opened.checkpoints.save('balances', 0n, head, tx);
    });
    return head;
  } finally {
    await opened.close();
  }
}

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (!postgresAvailable) return;
  const admin = new pg.Pool({ connectionString: serviceUrls.postgres, max: 1 });
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
});

describe('projections status and the readable horizon', () => {
  it.skipIf(!postgresAvailable)(
    'counts the events a transaction open elsewhere holds back, and says why',
    async () => {
      const argv = ['--postgres', serviceUrls.postgres, '--schema', schema];
      const store = { postgres: serviceUrls.postgres, schema };
      const checkpoint = await seed(argv, store);
      const holder = new pg.Client({ connectionString: serviceUrls.postgres, application_name: 'tm-test-cli-horizon' });
      await holder.connect();
      const opened = await openStore(store);
      try {
        // The horizon is the whole server's: a transaction of something else running on it may
        // hold the seeded events back a while. They must be readable before this test holds it.
        await waitFor(async () => (await opened.store.headPosition()) >= checkpoint, 'the seeded events to be readable', 30_000);
        await holder.query('BEGIN');
        await holder.query('SELECT txid_current()');
        for (let i = 0; i < 2; i++) await opened.store.appendToStream(`account-${i}`, [{ type: 'account.deposited', data: {} }]);
        const hidden = () => (opened.store as unknown as { visibilityLag(): Promise<{ invisibleEvents: number }> }).visibilityLag();
        await waitFor(async () => (await hidden()).invisibleEvents >= 2, 'the two events to be committed but unreadable');

        const [row] = JSON.parse((await run(['projections', 'status', ...argv, '--json'])).stdout) as Row[];
        // Before: up-to-date, 0 behind, position == head — the two events waiting were not counted.
        expect(row).toMatchObject({ name: 'balances', state: 'behind', position: String(checkpoint), head: String(checkpoint) });
        expect(row?.invisibleEvents).toBeGreaterThanOrEqual(2);
        expect(row?.eventsBehind).toBeGreaterThanOrEqual(2);
        expect(row?.horizonAgeSeconds).toBeGreaterThan(0);
        const table = (await run(['projections', 'status', ...argv])).stdout;
        expect(table).toMatch(/^balances\s+behind\s+/m);
        expect(table).toMatch(/\d+ events committed but not readable yet .* holds the readable horizon back/);
      } finally {
        await holder.query('ROLLBACK').catch(() => {});
        await holder.end();
        await opened.close();
      }
    },
    60_000,
  );

  it('reports no horizon on SQLite, whose commits are readable at once', async () => {
    const file = join(dir, 'store.db');
    const checkpoint = await seed(['--sqlite', file], { sqlite: file });
    const [row] = JSON.parse((await run(['projections', 'status', '--sqlite', file, '--json'])).stdout) as Row[];
    expect(row).toMatchObject({ name: 'balances', state: 'up-to-date', position: String(checkpoint), eventsBehind: 0 });
    expect(row).not.toHaveProperty('invisibleEvents');
    expect(row).not.toHaveProperty('horizonAgeSeconds');
    expect((await run(['projections', 'status', '--sqlite', file])).stdout).not.toMatch(/horizon/);
  });
});
