import type { DomainEvent, Evolver, NewEvent } from '@tidemark/core';
import Database from 'better-sqlite3';
import { type ColumnInfo, eventRowShape } from './eventRow.js';
import type { Balance, WorkloadTarget } from './workloadCases.js';

export const rawSqliteBaseline = 'raw-better-sqlite3';

export interface RawSqliteStore extends WorkloadTarget {
  close(): Promise<void>;
}

/**
 * The raw-better-sqlite3 baseline: the least work that stores the same events durably.
 *
 * - The database file gets the adapter's own DDL and the same pragmas as DESIGN.md §4
 *   (journal_mode=WAL, synchronous=FULL), so every commit pays the same fsync.
 * - A single-event append is one INSERT of the same row (same columns, same JSON text,
 *   UUIDv7 id) in autocommit: one durable commit per event, through one cached prepared
 *   statement.
 * - A batch is one transaction of 100 such INSERTs.
 * - n concurrent callers (`append.single.64concurrent`): transactions of n such INSERTs, one
 *   per caller's stream — the fsyncs a perfect group commit would pay.
 * - Versions come from the caller: every stream of the workload is new, so the baseline never
 *   reads a stream's version nor checks for a conflict — strictly less than a store must do.
 * - An aggregate is one SELECT of the stream's type and data ordered by version, JSON.parse of
 *   each row and the same fold.
 *
 * It is synchronous underneath; the Promise wrappers only give it the workload's shape.
 */
export function openRawSqliteStore(file: string, schemaStatements: readonly string[], table: string): RawSqliteStore {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  for (const statement of schemaStatements) db.exec(statement);
  const row = eventRowShape(describeTable(db, table));
  const insert = db.prepare(`INSERT INTO ${table} (${row.columns.join(', ')}) VALUES (${row.columns.map(() => '?').join(', ')})`);
  const insertMany = db.transaction((streamId: string, events: readonly NewEvent[]) => {
    events.forEach((event, index) => {
      insert.run(row.values({ streamId, version: index + 1, type: event.type, dataJson: JSON.stringify(event.data) }));
    });
  });
  const insertRounds = db.transaction((streamIds: readonly string[], round: number, event: NewEvent) => {
    const dataJson = JSON.stringify(event.data);
    for (const streamId of streamIds) insert.run(row.values({ streamId, version: round + 1, type: event.type, dataJson }));
  });
  const select = db.prepare<[string], { type: string; data: string }>(
    `SELECT ${row.column('type')} AS type, ${row.column('data')} AS data FROM ${table} WHERE ${row.column('stream')} = ? ORDER BY ${row.column('version')}`,
  );
  return {
    async appendToStream(streamId, events) {
      const [only] = events;
      if (events.length === 1 && only) {
        insert.run(row.values({ streamId, version: 1, type: only.type, dataJson: JSON.stringify(only.data) }));
      } else {
        insertMany(streamId, events);
      }
    },
    async appendRoundsInTransactions(streamIds, rounds, event) {
      for (let round = 0; round < rounds; round++) insertRounds(streamIds, round, event(round));
    },
    async aggregateStream(streamId: string, evolver: Evolver<DomainEvent, Balance>) {
      let state = evolver.initialState();
      for (const { type, data } of select.iterate(streamId)) state = evolver.evolve(state, { type, data: JSON.parse(data) });
      return { state };
    },
    async close() {
      db.close();
    },
  };
}

function describeTable(db: Database.Database, table: string): ColumnInfo[] {
  const columns = db.pragma(`table_info(${table})`) as Array<{
    name: string;
    type: string;
    notnull: number;
    dflt_value: unknown;
    pk: number;
  }>;
  if (columns.length === 0) throw new Error(`the adapter's DDL created no table ${table}`);
  const soleIntegerKey = columns.filter((c) => c.pk > 0).length === 1;
  return columns.map((c) => {
    // INTEGER PRIMARY KEY is the rowid: SQLite assigns it, so it is never required.
    const isRowid = soleIntegerKey && c.pk > 0 && c.type.toUpperCase() === 'INTEGER';
    // table_info leaves generated columns out (table_xinfo would list them).
    return { name: c.name, type: c.type.toLowerCase(), required: c.notnull === 1 && c.dflt_value === null && !isRowid, generated: false };
  });
}
