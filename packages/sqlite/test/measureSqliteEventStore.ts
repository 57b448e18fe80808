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

/** Folding a 1,000-event stream, beside a raw `.pluck().all()` + JSON.parse of the same rows. */
async function aggregate(): Promise<{ store: number; raw: number }> {
  const file = join(dir, 'aggregate.db');
  const store = createSqliteEventStore({ file, synchronous: 'NORMAL' });
  const events = Array.from({ length: 100 }, () => ({ type: 'order.placed', data }));
  for (let i = 0; i < 10; i++) await store.appendToStream('order-big', events);
  const evolver = {
    initialState: () => 0,
    evolve: (total: number, event: { data: unknown }) => total + (event.data as typeof data).amount,
  };
  const db = openSqliteDatabase(file, { synchronous: 'NORMAL', busyTimeoutMs: 5000, readOnly: true });
  const select = db.prepare<[string], string>('SELECT data FROM events WHERE stream_id = ? ORDER BY version').pluck();
  const rawFold = () => {
    let total = 0;
    for (const json of select.all('order-big')) total = evolver.evolve(total, { data: JSON.parse(json) });
    return total;
  };
  let storeTime = 0;
  let rawTime = 0;
  let folds = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    let start = performance.now();
    for (let i = 0; i < 20; i++) rawFold();
    rawTime += performance.now() - start;
    start = performance.now();
    for (let i = 0; i < 20; i++) await store.aggregateStream('order-big', evolver);
    storeTime += performance.now() - start;
    folds += 20;
  }
  db.close();
  await store.close();
  return { store: (folds * 1000) / (storeTime / 1000), raw: (folds * 1000) / (rawTime / 1000) };
}

const single = await appends(1);
console.log(
  `append.single  store ${single.store.toFixed(0)} ev/s  raw ${single.raw.toFixed(0)} ev/s  ratio ${(single.store / single.raw).toFixed(2)}`,
);
const batch = await appends(100);
console.log(
  `append.batch100 store ${batch.store.toFixed(0)} ev/s  raw ${batch.raw.toFixed(0)} ev/s  ratio ${(batch.store / batch.raw).toFixed(2)}`,
);
const fold = await aggregate();
console.log(
  `aggregate.1000 store ${fold.store.toFixed(0)} ev/s  raw ${fold.raw.toFixed(0)} ev/s  ratio ${(fold.store / fold.raw).toFixed(2)}`,
);
rmSync(dir, { recursive: true, force: true });
