import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EventBrowser, type EventQuery, encodeEventCursor, type RecordedEvent } from '@tidemark/core';
import { createPostgresEventBrowser, createPostgresEventStore } from '@tidemark/postgres';
import { createSqliteEventBrowser, createSqliteEventStore, sqliteInsertEventSql } from '@tidemark/sqlite';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Backend } from './backend.js';
import { type BenchResult, benchResult, printResult } from './benchResult.js';
import { postgresUrl } from './postgresBackend.js';

const pageSize = 50;
const types = ['order.placed', 'order.paid', 'order.shipped', 'order.cancelled', 'bank.account.opened'];
/** Events per stream and per correlation id: one conversation of ten events. */
const perStream = 10;

/** A page request both sides answer: ours through the EventBrowser, the baseline with the raw keyset query. */
interface PageCase {
  name: string;
  query(random: () => number): EventQuery;
}

/** One side of the comparison: fetches a page for a query, as rows parsed to events. */
type Fetch = (query: EventQuery) => Promise<unknown[]>;

const cases = (events: number): PageCase[] => {
  // Deep pages: a cursor anywhere in the log, as `Older →` clicked many times would reach.
  const cursor = (random: () => number) =>
    encodeEventCursor({ position: BigInt(Math.floor(random() * events) + 1), version: 1, recordedAt: new Date(0) } as RecordedEvent);
  return [
    { name: 'dashboard.page.1m', query: (random) => ({ limit: pageSize, cursor: cursor(random) }) },
    { name: 'dashboard.page.1m.type', query: (random) => ({ limit: pageSize, type: 'order.shipped', cursor: cursor(random) }) },
    {
      name: 'dashboard.page.1m.correlation',
      query: (random) => ({ limit: pageSize, correlationId: `c-${Math.floor((random() * events) / perStream)}` }),
    },
  ];
};

/** A seeded generator, so both sides ask for the same pages in the same order. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

/**
 * Median server time of a page, ours and the baseline's interleaved query by query so that both
 * see the same machine. Server time: the EventBrowser call (what the dashboard's route awaits),
 * without HTTP or JSON encoding, against the same SQL run directly through the driver.
 */
async function comparePages(
  suite: string,
  backend: string,
  baseline: string,
  events: number,
  ours: Fetch,
  raw: Fetch,
  rounds: number,
): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const pageCase of cases(events)) {
    const random = seeded(42);
    const oursMs: number[] = [];
    const rawMs: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const query = pageCase.query(random);
      for (const [fetch, times] of [
        [ours, oursMs],
        [raw, rawMs],
      ] as const) {
        const started = performance.now();
        const rows = await fetch(query);
        times.push(performance.now() - started);
        if (rows.length === 0) throw new Error(`${pageCase.name}: an empty page for ${JSON.stringify(query)}`);
      }
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
    const result = benchResult({
      suite,
      backend,
      case: pageCase.name,
      unit: 'ms',
      value: median(oursMs),
      baseline,
      baselineValue: median(rawMs),
    });
    printResult(result);
    results.push(result);
  }
  return results;
}

const decodeCursor = (query: EventQuery) => (query.cursor === undefined ? undefined : BigInt(query.cursor.split('.')[0] as string));

async function sqliteCase(events: number, rounds: number): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'tidemark-bench-dashboard-'));
  const file = join(dir, 'dashboard.db');
  try {
    // The store's own migrations make the file; the log is then written in bulk with the store's insert.
    await createSqliteEventStore({ file }).close();
    const writer = new Database(file);
    const insert = writer.prepare(sqliteInsertEventSql);
    const start = Date.now() - events;
    const fill = writer.transaction((from: number, to: number) => {
      for (let g = from; g < to; g++) {
        const stream = Math.floor(g / perStream);
        insert.run(
          `0190c2a4-0000-7000-8000-${g.toString(16).padStart(12, '0')}`,
          `order-${stream}`,
          (g % perStream) + 1,
          types[g % types.length],
          1,
          JSON.stringify({ orderId: `o-${stream}`, amount: g % 1000 }),
          JSON.stringify({ correlationId: `c-${stream}`, causationId: `cmd-${g}` }),
          start + g,
        );
      }
    });
    for (let from = 0; from < events; from += 50_000) fill(from, Math.min(events, from + 50_000));
    writer.pragma('optimize');
    writer.close();

    const store = createSqliteEventStore({ file });
    const browser: EventBrowser = createSqliteEventBrowser(store);
    const reader = new Database(file, { readonly: true });
    const columns = 'position, id, stream_id, version, type, schema_version, data, metadata, recorded_at';
    const statements = {
      all: reader.prepare(`SELECT ${columns} FROM events WHERE position < ? ORDER BY position DESC LIMIT ?`),
      type: reader.prepare(`SELECT ${columns} FROM events WHERE type = ? AND position < ? ORDER BY position DESC LIMIT ?`),
      correlation: reader.prepare(
        `SELECT ${columns} FROM events WHERE json_extract(metadata, '$.correlationId') = ? ORDER BY position DESC LIMIT ?`,
      ),
    };
    const parse = (rows: unknown[]) =>
      (rows as Array<{ data: string; metadata: string }>).map((row) => ({
        ...row,
        data: JSON.parse(row.data),
        metadata: JSON.parse(row.metadata),
      }));
    const raw: Fetch = async (query) => {
      const before = decodeCursor(query) ?? BigInt(Number.MAX_SAFE_INTEGER);
      if (query.correlationId !== undefined) return parse(statements.correlation.all(query.correlationId, pageSize + 1));
      if (query.type !== undefined) return parse(statements.type.all(query.type, before, pageSize + 1));
      return parse(statements.all.all(before, pageSize + 1));
    };
    try {
      return await comparePages(
        'dashboard',
        'sqlite',
        'raw-better-sqlite3',
        events,
        async (q) => (await browser.listEvents(q)).events,
        raw,
        rounds,
      );
    } finally {
      reader.close();
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function postgresCase(events: number, rounds: number): Promise<BenchResult[]> {
  const schema = `bench_dashboard_${process.pid}_${Date.now().toString(36)}`;
  const pool = new pg.Pool({ connectionString: postgresUrl, max: 4 });
  try {
    const store = await createPostgresEventStore({ url: postgresUrl, schema, createSchema: true, poolSize: 4 });
    try {
      // The log in one statement: dense positions (a reader does not care how they were made),
      // ten events per stream and per correlation id, one millisecond apart.
      await pool.query(
        `INSERT INTO "${schema}".events (position, id, stream_id, version, type, schema_version, data, metadata, recorded_at)
         SELECT g, gen_random_uuid(), 'order-' || (g / ${perStream}), (g % ${perStream}) + 1, ($2::text[])[(g % ${types.length}) + 1], 1,
                json_build_object('orderId', 'o-' || (g / ${perStream}), 'amount', g % 1000),
                json_build_object('correlationId', 'c-' || (g / ${perStream}), 'causationId', 'cmd-' || g),
                now() - ($1::int - g) * interval '1 millisecond'
           FROM generate_series(0, $1::int - 1) AS g`,
        [events, types],
      );
      await pool.query(`ANALYZE "${schema}".events`);
      const browser = createPostgresEventBrowser(store);
      const columns = 'position, id, stream_id, version, type, schema_version, data, metadata, recorded_at';
      const raw: Fetch = async (query) => {
        const before = String(decodeCursor(query) ?? 2n ** 62n);
        if (query.correlationId !== undefined) {
          return (
            await pool.query(
              `SELECT ${columns} FROM "${schema}".events WHERE (metadata->>'correlationId') = $1 ORDER BY position DESC LIMIT $2`,
              [query.correlationId, pageSize + 1],
            )
          ).rows;
        }
        if (query.type !== undefined) {
          return (
            await pool.query(
              `SELECT ${columns} FROM "${schema}".events WHERE type = $1 AND position < $2 ORDER BY position DESC LIMIT $3`,
              [query.type, before, pageSize + 1],
            )
          ).rows;
        }
        return (
          await pool.query(`SELECT ${columns} FROM "${schema}".events WHERE position < $1 ORDER BY position DESC LIMIT $2`, [
            before,
            pageSize + 1,
          ])
        ).rows;
      };
      return await comparePages('dashboard', 'postgres', 'raw-pg', events, async (q) => (await browser.listEvents(q)).events, raw, rounds);
    } finally {
      await store.close();
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
  } finally {
    await pool.end();
  }
}

/**
 * `dashboard.page.1m`: a page of the event browser on a log of 1,000,000 events (100,000 with
 * --quick), newest first from a random depth — the whole log, one type, one correlation id —
 * in milliseconds of server time, beside the raw keyset query on the same database.
 */
export async function runDashboardSuite(backends: readonly Backend[], events: number): Promise<BenchResult[]> {
  const rounds = 200;
  const results: BenchResult[] = [];
  for (const backend of backends) {
    const reason = await backend.unavailable();
    if (reason) {
      console.error(`dashboard suite: skipping ${backend.name}: ${reason}`);
      continue;
    }
    console.error(`dashboard suite: ${backend.name}, writing ${events.toLocaleString('en')} events…`);
    results.push(...(backend.name === 'sqlite' ? await sqliteCase(events, rounds) : await postgresCase(events, rounds)));
  }
  return results;
}
