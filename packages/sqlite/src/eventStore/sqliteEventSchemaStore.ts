import type { Clock, EventPipeline, EventSchemaStore, RecordedEvent, RegisteredEventSchema } from '@tidemark/core';
import type { Database } from 'better-sqlite3';
import { type EventRow, eventColumns, toRecordedEvent } from './sqliteRowMapping.js';

export interface SqliteEventSchemaStoreOptions {
  /** The store's read connection (committed data). */
  readDb: Database;
  /** Runs `write` on the writer connection inside one of the store's transactions (its mutex, its lock). */
  inTransaction(write: (db: Database) => void): Promise<void>;
  /** The store's rule for reads on a shared ':memory:' connection. */
  whenReadable<T>(operation: string, read: () => T): Promise<T>;
  clock: Clock;
  pipeline: EventPipeline;
}

type SchemaRow = { type: string; version: number; fingerprint: string | null; json_schema: string | null; registered_at: number };

/** The schema registry in the store's file: table tidemark_event_schemas of its migrations. */
export function createSqliteEventSchemaStore(options: SqliteEventSchemaStoreOptions): EventSchemaStore {
  const { readDb, pipeline } = options;
  const list = readDb.prepare<[], SchemaRow>(
    'SELECT type, version, fingerprint, json_schema, registered_at FROM tidemark_event_schemas ORDER BY type, version',
  );
  // The (type, position) index, walked backwards from the newest; the version is filtered on the way.
  const sample = readDb
    .prepare<[string, number, number], EventRow>(
      `SELECT ${eventColumns} FROM events WHERE type = ? AND schema_version = ? ORDER BY position DESC LIMIT ?`,
    )
    .raw();
  return {
    async list() {
      const rows = await options.whenReadable('eventSchemas.list', () => list.all());
      return rows.map(
        (row): RegisteredEventSchema => ({
          type: row.type,
          version: row.version,
          fingerprint: row.fingerprint,
          jsonSchema: row.json_schema === null ? null : JSON.parse(row.json_schema),
          registeredAt: new Date(row.registered_at),
        }),
      );
    },
    async add(entries) {
      const registeredAt = options.clock.now().getTime();
      await options.inTransaction((db) => {
        const insert = db.prepare(
          'INSERT INTO tidemark_event_schemas (type, version, fingerprint, json_schema, registered_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (type, version) DO NOTHING',
        );
        for (const entry of entries) {
          const jsonSchema = entry.jsonSchema === null || entry.jsonSchema === undefined ? null : JSON.stringify(entry.jsonSchema);
          insert.run(entry.type, entry.version, entry.fingerprint, jsonSchema, registeredAt);
        }
      });
    },
    async sample(type, schemaVersion, limit) {
      const events: RecordedEvent[] = (await options.whenReadable('eventSchemas.sample', () => sample.all(type, schemaVersion, limit))).map(
        toRecordedEvent,
      );
      return pipeline.read(events);
    },
  };
}
