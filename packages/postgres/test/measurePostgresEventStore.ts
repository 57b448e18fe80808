/**
 * Quick figures for the PostgreSQL store next to raw `pg` doing the same durable work (same
 * DDL, same row, autocommit, named statements, a pool of the same size). Not a test and not
 * the formal benchmark (bench/ is):
 *   npx tsx packages/postgres/test/measurePostgresEventStore.ts
 */
import { newId } from '@tidemark/core';
import pg from 'pg';
import { createPostgresEventStore, schemaSql } from '../src/index.js';

// @tidemark/testing imports vitest, which refuses to load outside a test run: read the same variable.
const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const randomSchemaName = () => `tm_measure_${Math.random().toString(36).slice(2, 10)}`;
const seconds = Number(process.env.MEASURE_SECONDS ?? 2);
const poolSize = 10;
const data = { orderId: 'order-123', amount: 4200, currency: 'EUR', lines: [{ sku: 'A-1', qty: 2 }] };
const dataJson = JSON.stringify(data);

const ours = randomSchemaName();
const raw = randomSchemaName();
const store = await createPostgresEventStore({ url, schema: ours, poolSize, createSchema: true });
const rawPool = new pg.Pool({ connectionString: url, max: poolSize });
await rawPool.query(schemaSql(raw));
let rawPosition = 0;

const insertColumns = 'position, id, stream_id, version, type, schema_version, data, metadata, recorded_at';
function rawInsert(streamId: string, firstVersion: number, count: number) {
  const values: unknown[] = [];
  const rows: string[] = [];
  for (let i = 0; i < count; i++) {
    const p = i * 9;
    rows.push(`($${p + 1}, $${p + 2}, $${p + 3}, $${p + 4}, $${p + 5}, $${p + 6}, $${p + 7}, $${p + 8}, $${p + 9})`);
    values.push(++rawPosition, newId(), streamId, firstVersion + i, 'order.placed', 1, dataJson, '{}', new Date());
  }
  return rawPool.query({
    name: `raw-insert-${count}`,
    text: `INSERT INTO "${raw}".events (${insertColumns}) VALUES ${rows.join(', ')}`,
    values,
  });
}

/** Runs `writers` loops of `step` for `ms`; returns steps completed. */
async function run(writers: number, ms: number, step: (writer: number, i: number) => Promise<unknown>): Promise<number> {
  const end = performance.now() + ms;
  let steps = 0;
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; performance.now() < end; i++) {
        await step(w, i);
        steps++;
      }
    }),
  );
  return steps;
}

/** Alternates the two sides in slices, because the shared machine's speed drifts. */
async function compare(
  name: string,
  perStep: number,
  writers: number,
  oursStep: Parameters<typeof run>[2],
  rawStep: Parameters<typeof run>[2],
) {
  const slices = 4;
  const sliceMs = (seconds * 1000) / slices;
  let oursSteps = 0;
  let rawSteps = 0;
  for (let s = 0; s < slices; s++) {
    rawSteps += await run(writers, sliceMs, rawStep);
    oursSteps += await run(writers, sliceMs, oursStep);
  }
  const total = (seconds * 1000) / 1000;
  const oursRate = (oursSteps * perStep) / total;
  const rawRate = (rawSteps * perStep) / total;
  console.log(
    JSON.stringify({
      case: name,
      unit: 'events/s',
      value: Math.round(oursRate),
      baselineValue: Math.round(rawRate),
      ratio: +(oursRate / rawRate).toFixed(2),
    }),
  );
}

try {
  for (const writers of [1, 8, 32]) {
    const versions = new Map<string, number>();
    const next = (stream: string) => {
      const v = (versions.get(stream) ?? 0) + 1;
      versions.set(stream, v);
      return v;
    };
    await compare(
      `append.single.${writers}writers`,
      1,
      writers,
      (w) => store.appendToStream(`order-${writers}-${w}`, [{ type: 'order.placed', data }]),
      (w) => rawInsert(`order-${writers}-${w}`, next(`order-${writers}-${w}`), 1),
    );
  }
  const batch = Array.from({ length: 100 }, () => ({ type: 'order.placed', data }));
  await compare(
    'append.batch100.1writer',
    100,
    1,
    () => store.appendToStream(`batch-${newId()}`, batch),
    () => rawInsert(`batch-${newId()}`, 1, 100),
  );

  for (let i = 0; i < 10; i++) await store.appendToStream('agg-1', batch);
  for (let i = 0; i < 10; i++) await rawInsert('agg-1', i * 100 + 1, 100);
  const evolver = { initialState: () => 0, evolve: (sum: number, event: { data: unknown }) => sum + (event.data as typeof data).amount };
  await compare(
    'aggregate.1000events',
    1000,
    1,
    () => store.aggregateStream('agg-1', evolver),
    async () => {
      const { rows } = await rawPool.query({
        name: 'raw-agg',
        text: `SELECT type, data FROM "${raw}".events WHERE stream_id = $1 ORDER BY version`,
        values: ['agg-1'],
      });
      let state = evolver.initialState();
      for (const row of rows) state = evolver.evolve(state, row);
      return state;
    },
  );
} finally {
  await store.close();
  await rawPool.end();
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  for (const schema of [ours, raw]) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
}
