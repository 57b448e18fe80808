import { ValidationError } from '../domain/errors.js';
import type { RecordedEvent } from '../domain/event.js';
import type { StoreTransaction } from '../eventStore/eventStore.js';
import type { SqlExecutor, SqlTransaction } from '../eventStore/sqlExecutor.js';
import { CheckpointConflictError, type CheckpointRecord, type CheckpointStore, type DeadLetter } from './checkpointStore.js';
import { lockForSetup } from './setupLock.js';

export interface SqlCheckpointStoreOptions {
  /** Default `tidemark_checkpoints`. */
  table?: string;
  /** Default `tidemark_dead_letters`. */
  deadLetterTable?: string;
}

// A plain identifier, optionally schema-qualified.
const identifier = /^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/;

function tableName(value: string | undefined, fallback: string, field: string): string {
  const name = value ?? fallback;
  if (!identifier.test(name)) throw new ValidationError(`${field} must be a plain SQL identifier`, { field });
  return name;
}

// Drivers return BIGINT as a string (pg) or a number (better-sqlite3): normalise once.
const num = (value: unknown): number => Number(value);
const pos = (value: unknown): bigint => BigInt(value as string | number);

/**
 * One checkpoint implementation for both SQL adapters, through the dialect-neutral
 * SqlExecutor: the checkpoint row (and any dead letter) is written with the caller's
 * transaction, in the same commit as the read-model writes. The failure that stopped a
 * projector is kept in columns beside its position, so it is visible with a plain SELECT.
 */
export function createSqlCheckpointStore<Tx extends StoreTransaction & SqlTransaction>(
  options: SqlCheckpointStoreOptions = {},
): CheckpointStore<Tx> {
  const table = tableName(options.table, 'tidemark_checkpoints', 'table');
  const letters = tableName(options.deadLetterTable, 'tidemark_dead_letters', 'deadLetterTable');
  const now = () => new Date().toISOString();
  const clearFailure =
    'failed_position = NULL, failed_event_id = NULL, failed_event_type = NULL, failed_stream_id = NULL, error = NULL, attempts = NULL, failed_at = NULL';

  async function insertIfMissing(sql: SqlExecutor, name: string, position: bigint): Promise<number> {
    return sql.execute(`INSERT INTO ${table} (name, position, updated_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`, [
      name,
      position,
      now(),
    ]);
  }

  return {
    async setup(tx) {
      // Projectors and rebuilds set up their read-model tables after this, in the same
      // transaction, so the lock covers those too.
      await lockForSetup(tx);
      await tx.sql.execute(`CREATE TABLE IF NOT EXISTS ${table} (
        name TEXT PRIMARY KEY,
        position BIGINT NOT NULL,
        updated_at TEXT NOT NULL,
        failed_position BIGINT,
        failed_event_id TEXT,
        failed_event_type TEXT,
        failed_stream_id TEXT,
        error TEXT,
        attempts INTEGER,
        failed_at TEXT
      )`);
      await tx.sql.execute(`CREATE TABLE IF NOT EXISTS ${letters} (
        projection TEXT NOT NULL,
        position BIGINT NOT NULL,
        event_id TEXT NOT NULL,
        event_type TEXT NOT NULL,
        stream_id TEXT NOT NULL,
        error TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        parked_at TEXT NOT NULL,
        event TEXT NOT NULL,
        PRIMARY KEY (projection, position)
      )`);
    },

    async load(name, tx) {
      const rows = await tx.sql.query(`SELECT * FROM ${table} WHERE name = $1`, [name]);
      const row = rows[0];
      if (!row) return undefined;
      const record: CheckpointRecord = { name, position: pos(row.position), updatedAt: new Date(String(row.updated_at)) };
      if (row.failed_position !== null && row.failed_position !== undefined) {
        record.failure = {
          position: pos(row.failed_position),
          eventId: String(row.failed_event_id),
          eventType: String(row.failed_event_type),
          streamId: String(row.failed_stream_id),
          message: String(row.error),
          attempts: num(row.attempts),
          failedAt: new Date(String(row.failed_at)),
        };
      }
      return record;
    },

    async save(name, expected, position, tx) {
      if (!(position >= expected)) throw new CheckpointConflictError(name, expected, position);
      // Compare-and-set on the position this projector loaded: a second instance (or a rebuild
      // that reset the checkpoint) makes this update miss, and the whole batch rolls back.
      const changed = await tx.sql.execute(
        `UPDATE ${table} SET position = $3, updated_at = $4, ${clearFailure} WHERE name = $1 AND position = $2`,
        [name, expected, position, now()],
      );
      if (changed === 1) return;
      if (expected === 0n && (await insertIfMissing(tx.sql, name, position)) === 1) return;
      const actual = await tx.sql.query(`SELECT position FROM ${table} WHERE name = $1`, [name]);
      throw new CheckpointConflictError(name, expected, actual[0] ? pos(actual[0].position) : undefined);
    },

    async recordFailure(name, failure, tx) {
      await insertIfMissing(tx.sql, name, 0n);
      if (!failure) {
        await tx.sql.execute(`UPDATE ${table} SET updated_at = $2, ${clearFailure} WHERE name = $1`, [name, now()]);
        return;
      }
      await tx.sql.execute(
        `UPDATE ${table} SET updated_at = $2, failed_position = $3, failed_event_id = $4, failed_event_type = $5,
           failed_stream_id = $6, error = $7, attempts = $8, failed_at = $9 WHERE name = $1`,
        [
          name,
          now(),
          failure.position,
          failure.eventId,
          failure.eventType,
          failure.streamId,
          failure.message,
          failure.attempts,
          failure.failedAt.toISOString(),
        ],
      );
    },

    async reset(name, position, tx) {
      await insertIfMissing(tx.sql, name, position);
      // The condition is re-checked under the row lock (PostgreSQL re-evaluates it after waiting
      // for a projector's batch in flight), so a checkpoint that moved past `position` stays put.
      const changed = await tx.sql.execute(
        `UPDATE ${table} SET position = $2, updated_at = $3, ${clearFailure} WHERE name = $1 AND position <= $2`,
        [name, position, now()],
      );
      return changed === 1;
    },

    async park(letter, tx) {
      await tx.sql.execute(
        `INSERT INTO ${letters} (projection, position, event_id, event_type, stream_id, error, attempts, parked_at, event)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          letter.projection,
          letter.position,
          letter.eventId,
          letter.eventType,
          letter.streamId,
          letter.message,
          letter.attempts,
          letter.parkedAt.toISOString(),
          // JSON has no bigint: the position goes as a decimal string.
          JSON.stringify({ ...letter.event, position: String(letter.event.position) }),
        ],
      );
    },

    async deadLetters(name, tx) {
      const rows = await tx.sql.query(`SELECT * FROM ${letters} WHERE projection = $1 ORDER BY position`, [name]);
      return rows.map((row): DeadLetter => {
        const event = JSON.parse(String(row.event)) as Omit<RecordedEvent, 'position' | 'recordedAt'> & {
          position: string;
          recordedAt: string;
        };
        return {
          projection: name,
          position: pos(row.position),
          eventId: String(row.event_id),
          eventType: String(row.event_type),
          streamId: String(row.stream_id),
          message: String(row.error),
          attempts: num(row.attempts),
          parkedAt: new Date(String(row.parked_at)),
          event: { ...event, position: BigInt(event.position), recordedAt: new Date(event.recordedAt) },
        };
      });
    },
  };
}
