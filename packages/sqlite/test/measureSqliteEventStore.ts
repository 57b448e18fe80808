/**
 * Quick figures for the SQLite store next to raw better-sqlite3 doing the same durable work
 * (same DDL, same pragmas, same row). Not a test and not the formal benchmark (bench/ is):
 *   npx tsx packages/sqlite/test/measureSqliteEventStore.ts [dir]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newId } from '@tidemark/core';
import { createSqliteEventStore, openSqliteDatabase, sqliteInsertEventSql, sqliteSchemaStatements } from '@tidemark/sqlite';

const dir = mkdtempSync(join(process.argv[2] ?? tmpdir(), 'tidemark-measure-'));
const data = { orderId: 'order-123', amount: 4200, currency: 'EUR', lines: [{ sku: 'A-1', qty: 2 }] };
const seconds = Number(process.env.MEASURE_SECONDS ?? 2);

function rawDb(name: string) {
  const db = openSqliteDatabase(join(dir, name), { synchronous: 'FULL', busyTimeoutMs: 5000 });
  for (const statement of sqliteSchemaStatements) db.exec(statement);
  return db;
}

/** Runs `step` (which handles `perStep` events) for a fixed time; returns events/s. */
async function rate(perStep: number, step: (i: number) => unknown): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let i = 0;
  const start = performance.now();
  while (performance.now() < end) await step(i++);
  return (i * perStep) / ((performance.now() - start) / 1000);
}

/**
 * The disk's fsync rate drifts by 2-3x within seconds on a shared machine, so the two sides
 * alternate in short slices (same number of steps each) and each side's time is summed.
 */
async function appends(batch: number): Promise<{ store: number; raw: number }> {
  const db = rawDb(`raw-${batch}.db`);
  const insert = db.prepare(sqliteInsertEventSql);
  const rawAppend = db.transaction((stream: string, version: number) => {
    for (let j = 0; j < batch; j++) insert.run(newId(), stream, version + j + 1, 'order.placed', 1, JSON.stringify(data), '{}', Date.now());
  });
  const store = createSqliteEventStore({ file: join(dir, `store-${batch}.db`) });
  const events = Array.from({ length: batch }, () => ({ type: 'order.placed', data }));
  const stepsPerSlice = batch === 1 ? 100 : 10;
  let rawTime = 0;
  let storeTime = 0;
  let steps = 0;
  const end = performance.now() + seconds * 1000 * 2;
  while (performance.now() < end) {
    let start = performance.now();
    for (let i = steps; i < steps + stepsPerSlice; i++) rawAppend(`order-${i % 100}`, Math.floor(i / 100) * batch);
    rawTime += performance.now() - start;
    start = performance.now();
    for (let i = steps; i < steps + stepsPerSlice; i++) await store.appendToStream(`order-${i % 100}`, events);
    storeTime += performance.now() - start;
    steps += stepsPerSlice;
  }
  db.close();
  await store.close();
  const events_ = steps * batch;
  return { store: events_ / (storeTime / 1000), raw: events_ / (rawTime / 1000) };
}

async function aggregate(): Promise<number> {
  const store = createSqliteEventStore({ file: join(dir, 'aggregate.db'), synchronous: 'NORMAL' });
  const events = Array.from({ length: 100 }, () => ({ type: 'order.placed', data }));
  for (let i = 0; i < 10; i++) await store.appendToStream('order-big', events);
  const evolver = {
    initialState: () => 0,
    evolve: (total: number, event: { data: unknown }) => total + (event.data as typeof data).amount,
  };
  for (let i = 0; i < 50; i++) await store.aggregateStream('order-big', evolver); // warm up
  const result = await rate(1000, () => store.aggregateStream('order-big', evolver));
  await store.close();
  return result;
}

const single = await appends(1);
console.log(
  `append.single  store ${single.store.toFixed(0)} ev/s  raw ${single.raw.toFixed(0)} ev/s  ratio ${(single.store / single.raw).toFixed(2)}`,
);
const batch = await appends(100);
console.log(
  `append.batch100 store ${batch.store.toFixed(0)} ev/s  raw ${batch.raw.toFixed(0)} ev/s  ratio ${(batch.store / batch.raw).toFixed(2)}`,
);
console.log(`aggregate.1000 ${(await aggregate()).toFixed(0)} ev/s`);
rmSync(dir, { recursive: true, force: true });
