import type { DomainEvent, Evolver, NewEvent } from '@tidemark/core';
import pg from 'pg';
import { type ColumnInfo, eventRowShape } from './eventRow.js';
import type { Balance, WorkloadTarget } from './workloadCases.js';

export const rawPgBaseline = 'raw-pg';

export interface RawPgStore extends WorkloadTarget {
  close(): Promise<void>;
}

export interface RawPgOptions {
  url: string;
  /** A schema that already holds the adapter's tables (created with the adapter's own DDL). */
  schema: string;
  table: string;
  /** The same pool size as the adapter's, so concurrent writers meet the same limit. */
  poolSize: number;
}

/**
 * The raw-pg baseline: the least work that stores the same events durably.
 *
 * - The adapter's own table (its DDL, in a schema of its own), on the same server with the same
 *   durability: synchronous_commit stays as the server is configured.
 * - A single-event append is one autocommit INSERT of the same row (same columns, same JSON
 *   text, UUIDv7 id) through a named (prepared) statement: one round trip and one WAL flush
 *   per event, the cheapest durable write there is. 8 and 32 writers share a Pool of the
 *   adapter's size.
 * - A batch is one multi-row INSERT of 100 rows, again in autocommit.
 * - Versions come from the caller: every stream of the workload is new, so the baseline never
 *   reads a stream's version, takes no lock and checks no conflict — strictly less than a store
 *   must do.
 * - An aggregate is one SELECT of the stream's type and data ordered by version; pg's type
 *   parser JSON.parses json/jsonb (text is parsed here), then the same fold.
 */
export async function openRawPgStore(options: RawPgOptions): Promise<RawPgStore> {
  const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize });
  const table = `${quote(options.schema)}.${quote(options.table)}`;
  const row = eventRowShape(await describeTable(pool, options.schema, options.table));
  const width = row.columns.length;
  const valuesList = (rows: number) =>
    Array.from({ length: rows }, (_, r) => `(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`).join(', ')})`).join(', ');
  const insertText = (rows: number) => `INSERT INTO ${table} (${row.columns.map(quote).join(', ')}) VALUES ${valuesList(rows)}`;
  const selectText = `SELECT ${quote(row.column('type'))} AS type, ${quote(row.column('data'))} AS data FROM ${table} WHERE ${quote(row.column('stream'))} = $1 ORDER BY ${quote(row.column('version'))}`;
  const toRow = (streamId: string, event: NewEvent, index: number) =>
    row.values({ streamId, version: index + 1, type: event.type, dataJson: JSON.stringify(event.data) });
  return {
    async appendToStream(streamId, events) {
      // A named statement is parsed and planned once per connection, as a cached prepared statement.
      await pool.query({
        name: `raw-insert-${events.length}`,
        text: insertText(events.length),
        values: events.flatMap((e, i) => toRow(streamId, e, i)),
      });
    },
    async aggregateStream(streamId: string, evolver: Evolver<DomainEvent, Balance>) {
      const { rows } = await pool.query<{ type: string; data: unknown }>({
        name: 'raw-select-stream',
        text: selectText,
        values: [streamId],
      });
      let state = evolver.initialState();
      for (const { type, data } of rows) state = evolver.evolve(state, { type, data: typeof data === 'string' ? JSON.parse(data) : data });
      return { state };
    },
    async close() {
      await pool.end();
    },
  };
}

async function describeTable(pool: pg.Pool, schema: string, table: string): Promise<ColumnInfo[]> {
  const { rows } = await pool.query<{
    column_name: string;
    data_type: string;
    is_nullable: string;
    column_default: string | null;
    is_identity: string;
    is_generated: string;
  }>(
    `SELECT column_name, data_type, is_nullable, column_default, is_identity, is_generated
       FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
    [schema, table],
  );
  if (rows.length === 0) throw new Error(`the adapter's DDL created no table ${schema}.${table}`);
  return rows.map((c) => ({
    name: c.column_name,
    type: c.data_type.toLowerCase(),
    required: c.is_nullable === 'NO' && c.column_default === null && c.is_identity !== 'YES',
    generated: c.is_generated === 'ALWAYS',
  }));
}

export function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}
