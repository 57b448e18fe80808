import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotFoundError } from '@tidemark/core';
import { serviceAvailable, serviceUrls, waitFor } from '@tidemark/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/main.js';
import { openStore } from '../src/store/openStore.js';
import type { StoreArguments } from '../src/store/storeArguments.js';
import { captureOutput } from './captureOutput.js';
import { seedStore } from './fixtures/seedStore.js';

const dir = mkdtempSync(join(tmpdir(), 'tidemark-cli-commands-'));
const schema = `tm_cli_cmd_${randomBytes(4).toString('hex')}`;
const postgresAvailable = await serviceAvailable('postgres');

async function run(argv: string[], signal?: AbortSignal) {
  const out = captureOutput();
  const err = captureOutput();
  const code = await runCli(argv, { stdout: out.stream, stderr: err.stream, interactive: false, ...(signal && { signal }) });
  return { code, stdout: out.text(), stderr: err.text() };
}

const backends: Array<{ name: string; skip: boolean; args: () => string[]; store: () => StoreArguments }> = [
  { name: 'sqlite', skip: false, args: () => ['--sqlite', join(dir, 'store.db')], store: () => ({ sqlite: join(dir, 'store.db') }) },
  {
    name: 'postgres',
    skip: !postgresAvailable,
    args: () => ['--postgres', serviceUrls.postgres, '--schema', schema],
    store: () => ({ postgres: serviceUrls.postgres, schema }),
  },
];

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (!postgresAvailable) return;
  const admin = new pg.Pool({ connectionString: serviceUrls.postgres, max: 1 });
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
});

describe.each(backends)('tidemark commands on $name', ({ skip, args, store }) => {
  let seeded: Awaited<ReturnType<typeof seedStore>>;
  beforeAll(async () => {
    if (skip) return;
    expect((await run(['migrate', ...args(), '--create-schema', '--json'])).code).toBe(0);
    const opened = await openStore(store());
    try {
      seeded = await seedStore(opened);
    } finally {
      await opened.close();
    }
  });

  it.skipIf(skip)('migrate --json reports the version it found and left', async () => {
    const { code, stdout } = await run(['migrate', ...args(), '--json']);
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ migrated: false });
    expect(report.from).toBe(report.to);
  });

  it.skipIf(skip)('streams lists the streams with their counts, a page at a time', async () => {
    const all = JSON.parse((await run(['streams', ...args(), '--json'])).stdout);
    expect(all.streams).toMatchObject([
      { streamId: 'order-1', category: 'order', eventCount: 3, lastVersion: 3 },
      { streamId: 'order-2', category: 'order', eventCount: 1, lastVersion: 1 },
    ]);
    const first = JSON.parse((await run(['streams', ...args(), '--limit', '1', '--json'])).stdout);
    expect(first.streams.map((s: { streamId: string }) => s.streamId)).toEqual(['order-1']);
    const second = JSON.parse((await run(['streams', ...args(), '--limit', '1', '--after', first.next, '--json'])).stdout);
    expect(second.streams.map((s: { streamId: string }) => s.streamId)).toEqual(['order-2']);
    const table = await run(['streams', ...args(), '--limit', '1']);
    expect(table.stdout.split('\n')[0]).toMatch(/^STREAM\s+CATEGORY\s+EVENTS\s+VERSION\s+LAST EVENT AT/);
    expect(table.stdout).toMatch(/^order-1\s+order\s+3\s+3\s+/m);
    expect(table.stdout).toContain(`More: --after "${first.next}"`);
    expect((await run(['streams', ...args(), '--category', 'invoice'])).stdout).toBe('No streams.\n');
  });

  it.skipIf(skip)("stream prints a stream's events up to a version or a time, and the version reached", async () => {
    const all = JSON.parse((await run(['stream', 'order-1', ...args(), '--json'])).stdout);
    expect(all).toMatchObject({ streamId: 'order-1', version: 3, currentVersion: 3 });
    expect(all.events.map((e: { type: string }) => e.type)).toEqual(['order.created', 'order.line.added', 'order.placed']);

    const upTo = JSON.parse((await run(['stream', 'order-1', ...args(), '--version', '2', '--json'])).stdout);
    expect(upTo).toMatchObject({ version: 2, currentVersion: 3, upToVersion: 2 });
    expect(upTo.events).toHaveLength(2);

    const [created] = seeded.first.events;
    const asOf = JSON.parse(
      (await run(['stream', 'order-1', ...args(), '--as-of', new Date(created!.recordedAt.getTime() - 1000).toISOString(), '--json']))
        .stdout,
    );
    expect(asOf).toMatchObject({ version: 0, events: [] });

    const text = await run(['stream', 'order-1', ...args(), '--version', '1']);
    expect(text.stdout).toMatch(/order-1@1 {2}order\.created {2}\{"customer":"ada"\}/);
    expect(text.stdout).toMatch(/Stream order-1 up to version 1: version 1 of 3, reached at /);
    await expect(run(['stream', 'order-404', ...args()])).rejects.toBeInstanceOf(NotFoundError);
  });

  it.skipIf(skip)('events tail prints the latest events, filtered, oldest first', async () => {
    const latest = (await run(['events', 'tail', ...args(), '--limit', '2', '--json'])).stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(latest.map((e: { streamId: string; version: number }) => `${e.streamId}@${e.version}`)).toEqual(['order-2@1', 'order-1@3']);
    const created = (await run(['events', 'tail', ...args(), '--type', 'order.created'])).stdout.trim().split('\n');
    expect(created).toHaveLength(2);
    expect(created[0]).toContain('order-1@1');
    expect(created[1]).toContain('order-2@1');
    expect((await run(['events', 'tail', ...args(), '--category', 'invoice'])).stdout).toBe('');
  });

  it.skipIf(skip)('events tail --follow prints events appended after it started, until interrupted', async () => {
    const opened = await openStore(store());
    const controller = new AbortController();
    const out = captureOutput();
    const lines = () => out.text().split('\n').slice(0, -1);
    try {
      await opened.store.appendToStream('follow-1', [{ type: 'follow.started', data: { n: 1 } }]);
      const running = runCli(['events', 'tail', ...args(), '--limit', '1', '--category', 'follow', '--json', '--follow'], {
        stdout: out.stream,
        stderr: captureOutput().stream,
        interactive: false,
        signal: controller.signal,
      });
      // The latest event is printed once the command has read the head: from there on it follows.
      await waitFor(() => lines().length === 1, 'the latest event printed', 10_000);
      await opened.store.appendToStream('order-9', [{ type: 'order.created', data: {} }]);
      await opened.store.appendToStream('follow-1', [{ type: 'follow.ended', data: { n: 2 } }]);
      await waitFor(() => lines().length === 2, 'the followed event printed', 10_000);
      controller.abort();
      expect(await running).toBe(0);
    } finally {
      controller.abort();
      await opened.close();
    }
    expect(lines().map((line) => JSON.parse(line).type)).toEqual(['follow.started', 'follow.ended']);
  });

  it.skipIf(skip)('dashboard serves the store’s events over HTTP until interrupted, and refuses actions without its token', async () => {
    const controller = new AbortController();
    const out = captureOutput();
    const running = runCli(['dashboard', ...args(), '--port', '0', '--token', 'a'.repeat(32)], {
      stdout: out.stream,
      stderr: captureOutput().stream,
      interactive: false,
      signal: controller.signal,
    });
    try {
      await waitFor(() => out.text().includes('Dashboard on '), 'the dashboard to listen', 20_000);
      const url = /Dashboard on (\S+)/.exec(out.text())?.[1] as string;
      const page = await fetch(`${url}api/events?limit=5`);
      expect(page.status).toBe(200);
      expect(((await page.json()) as { events: unknown[] }).events.length).toBeGreaterThan(0);
      const refused = await fetch(`${url}api/projections/order_list/failed/1/skip`, { method: 'POST' });
      expect(refused.status).toBe(401);
    } finally {
      controller.abort();
    }
    expect(await running).toBe(0);
  });

  it.skipIf(skip)('projections status lists every checkpoint with its lag, failure and parked events', async () => {
    const statuses = JSON.parse((await run(['projections', 'status', ...args(), '--json'])).stdout);
    const byName = Object.fromEntries(statuses.map((s: { name: string }) => [s.name, s]));
    expect(byName.order_list).toMatchObject({
      state: 'failed',
      position: String(seeded.first.events[0]!.position),
      parked: 1,
      eventsBehindCapped: false,
      failure: { eventType: 'order.line.added', attempts: 3, message: 'no such column' },
    });
    expect(byName.order_list.eventsBehind).toBeGreaterThanOrEqual(3);
    expect(byName.mailer).toMatchObject({ state: 'behind', parked: 0 });
    const table = (await run(['projections', 'status', ...args()])).stdout.split('\n');
    expect(table[0]).toMatch(/^NAME\s+STATE\s+POSITION\s+HEAD\s+BEHIND/);
    expect(table.find((line) => line.startsWith('order_list'))).toMatch(/failed .* 3 attempts: "no such column"/);
  });

  it.skipIf(skip)('outbox status shows the backlog and the age of the oldest message', async () => {
    const stats = JSON.parse((await run(['outbox', 'status', ...args(), '--json'])).stdout);
    expect(stats).toMatchObject({ backlog: 1, retained: 0 });
    expect(typeof stats.oldestUnpublishedAt).toBe('string');
    expect((await run(['outbox', 'status', ...args()])).stdout).toMatch(/^Outbox: 1 messages waiting, the oldest added \d+s ago/);
  });

  it.skipIf(skip)('consumers status lists inbox consumers with their checkpoint', async () => {
    const consumers = JSON.parse((await run(['consumers', 'status', ...args(), '--json'])).stdout);
    expect(consumers).toMatchObject([{ consumer: 'mailer', records: 2, position: String(seeded.first.events[1]!.position) }]);
    const table = (await run(['consumers', 'status', ...args()])).stdout.split('\n');
    expect(table[0]).toMatch(/^CONSUMER\s+RECORDS\s+LAST HANDLED\s+POSITION\s+HEAD/);
    expect(table[1]).toMatch(/^mailer\s+2\s+/);
  });
});
