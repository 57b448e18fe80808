import type { Clock, EventPipeline, EventSchemaStore, RegisteredEventSchema, SqlTransaction } from '@tidemark/core';
import type pg from 'pg';
import { rethrowTyped } from './connectionErrors.js';
import { eventTypes, packedEventWithStream, toRecordedEvent } from './eventRows.js';
import { timeoutNamingPool } from './timeoutNamingPool.js';

export interface PostgresEventSchemaStoreOptions {
  /** The store's pool, already checked open (committed data). */
  pool: () => pg.Pool;
  quotedSchema: string;
  statementName: string;
  /** One of the store's transactions. */
  transaction(work: (tx: SqlTransaction) => Promise<void>): Promise<void>;
  clock: Clock;
  pipeline: EventPipeline;
}

/** The schema registry in the store's schema: table tidemark_event_schemas of its migrations. */
export function createPostgresEventSchemaStore(options: PostgresEventSchemaStoreOptions): EventSchemaStore {
  const table = `${options.quotedSchema}.tidemark_event_schemas`;
  // A statement_timeout named with its value (timeoutNamingPool.ts); the pool checked open first.
  const pool = () => timeoutNamingPool(options.pool());
  return {
    async list() {
      const result = await pool()
        .query<{
          type: string;
          version: number;
          fingerprint: string | null;
          json_schema: unknown;
          registered_at: Date;
        }>(`SELECT type, version, fingerprint, json_schema, registered_at FROM ${table} ORDER BY type, version`)
        .catch(rethrowTyped);
      return result.rows.map(
        (row): RegisteredEventSchema => ({
          type: row.type,
          version: row.version,
          fingerprint: row.fingerprint,
          jsonSchema: row.json_schema,
          registeredAt: row.registered_at,
        }),
      );
    },
    async add(entries) {
      const registeredAt = options.clock.now();
      await options.transaction(async (tx) => {
        for (const entry of entries) {
          const jsonSchema = entry.jsonSchema === null || entry.jsonSchema === undefined ? null : JSON.stringify(entry.jsonSchema);
          await tx.sql.execute(
            `INSERT INTO ${table} (type, version, fingerprint, json_schema, registered_at) VALUES ($1, $2, $3, $4::jsonb, $5) ON CONFLICT (type, version) DO NOTHING`,
            [entry.type, entry.version, entry.fingerprint, jsonSchema, registeredAt],
          );
        }
      });
    },
    async sample(type, schemaVersion, limit) {
      // The (type, position) index, walked backwards from the newest; the version is filtered on the way.
      const result = await pool()
        .query({
          name: `${options.statementName}:schemaSample`,
          text: `SELECT ${packedEventWithStream} FROM ${options.quotedSchema}.events WHERE type = $1 AND schema_version = $2 ORDER BY position DESC LIMIT $3`,
          values: [type, schemaVersion, limit],
          rowMode: 'array',
          types: eventTypes,
        })
        .catch(rethrowTyped);
      return options.pipeline.read(result.rows.map((row) => toRecordedEvent(row)));
    },
  };
}
