import { assertValidStreamId, checkSnapshot, checkSnapshotQuery, type SnapshotStore } from '@tidemark/core';
import { rethrowTyped } from '../eventStore/connectionErrors.js';
import { earliestTimestampMs } from '../eventStore/earliestTimestamp.js';
import type { PostgresEventStore } from '../eventStore/postgresEventStore.js';
import type { Queryable } from '../eventStore/queryable.js';
import { statementPrefix } from '../eventStore/statementPrefix.js';
import { timeoutNamingPool } from '../eventStore/timeoutNamingPool.js';
import { openTransactionOn } from '../eventStore/transactionContext.js';
import { quoteIdentifier } from '../schema/schemaName.js';

export interface PostgresSnapshotStoreOptions {
  /** The event store whose schema holds the snapshots (its migrations create the table) and whose pool runs them. */
  store: PostgresEventStore;
}

interface SnapshotRow {
  stream_version: string;
  position: string;
  recorded_at: Date;
  schema_version: number;
  payload: Buffer;
}

/**
 * Snapshots in the event store's schema. Outside a transaction each statement runs in autocommit
 * on the store's pool: a snapshot is taken after the command's commit and belongs to no unit of
 * work. Called from the work of one of the store's transactions (`loadAggregate(tx, …, {
 * snapshots })`), it runs on that transaction's connection instead (openTransactionOn): the
 * transaction never waits for a second connection of the pool it holds one of — with as many
 * concurrent transactions as the pool has connections, none would come, and all would fail after
 * connectionTimeoutMs — and it reads and writes within the unit of work: a snapshot saved there
 * is rolled back with it. Loads are one backward seek on the primary key. Failures are typed as
 * the store's are (toTypedError), a statement_timeout on the pool named with its value
 * (timeoutNamingPool.ts).
 */
export function createPostgresSnapshotStore(options: PostgresSnapshotStoreOptions): SnapshotStore {
  const { store } = options;
  const table = `${quoteIdentifier(store.schema)}.tidemark_snapshots`;
  const name = `${statementPrefix(store.schema)}:snapshot`;
  const pooled = timeoutNamingPool(store.pool);
  /** The open transaction's statements when called from its work, else the pool. */
  const runner = (): Queryable => openTransactionOn(store.pool)?.client ?? pooled;
  return {
    async save(snapshot) {
      checkSnapshot(snapshot);
      await runner()
        .query({
          name: `${name}:save`,
          text: `INSERT INTO ${table} (stream_id, name, stream_version, position, recorded_at, schema_version, payload)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (stream_id, name, stream_version) DO UPDATE SET
                 position = excluded.position, recorded_at = excluded.recorded_at,
                 schema_version = excluded.schema_version, payload = excluded.payload`,
          values: [
            snapshot.streamId,
            snapshot.name,
            snapshot.streamVersion,
            snapshot.position.toString(),
            snapshot.recordedAt,
            snapshot.schemaVersion,
            Buffer.from(snapshot.payload.buffer, snapshot.payload.byteOffset, snapshot.payload.byteLength),
          ],
        })
        .catch(rethrowTyped);
    },
    async load(streamId, snapshotName, query) {
      assertValidStreamId(streamId);
      checkSnapshotQuery(query);
      const result = await runner()
        .query<SnapshotRow>({
          name: `${name}:load`,
          // int8 columns arrive as decimal strings (pg's default), exact for bigints.
          text: `SELECT stream_version, position, recorded_at, schema_version, payload FROM ${table}
               WHERE stream_id = $1 AND name = $2 AND stream_version <= $3 AND ($4::timestamptz IS NULL OR recorded_at <= $4)
               ORDER BY stream_version DESC LIMIT 1`,
          values: [streamId, snapshotName, query?.maxVersion ?? Number.MAX_SAFE_INTEGER, asOfParameter(query?.asOf)],
        })
        .catch(rethrowTyped);
      const row = result.rows[0];
      if (row === undefined) return undefined;
      return {
        streamId,
        name: snapshotName,
        streamVersion: Number(row.stream_version),
        position: BigInt(row.position),
        recordedAt: row.recorded_at,
        schemaVersion: row.schema_version,
        payload: row.payload,
      };
    },
    async deleteStream(streamId) {
      assertValidStreamId(streamId);
      await runner()
        .query({ name: `${name}:delete`, text: `DELETE FROM ${table} WHERE stream_id = $1`, values: [streamId] })
        .catch(rethrowTyped);
    },
  };
}

/** A bound before PostgreSQL's earliest timestamp is moved to it (earliestTimestamp.ts). */
function asOfParameter(asOf: Date | undefined): Date | null {
  if (asOf === undefined) return null;
  return asOf.getTime() < earliestTimestampMs ? new Date(earliestTimestampMs) : asOf;
}
