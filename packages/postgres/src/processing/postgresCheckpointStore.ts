import {
  CheckpointConflictError,
  type CheckpointStore,
  checkpointRecordFromRow,
  type DeadLetter,
  deadLetterEventJson,
  type FailedEvent,
  failureText,
  parseDeadLetterEvent,
} from '@tidemark/core';
import type { PostgresTransaction } from '../eventStore/postgresTransaction.js';
import { quoteIdentifier } from '../schema/schemaName.js';

// pg returns BIGINT as a string.
const num = (value: unknown): number => Number(value);
// int8 arrives as a decimal string: exact as a bigint.
const pos = (value: unknown): bigint => BigInt(value as string | number);
const clearFailure =
  'failed_position = NULL, failed_event_id = NULL, failed_event_type = NULL, failed_stream_id = NULL, error = NULL, attempts = NULL, failed_at = NULL';

interface Tables {
  checkpoints: string;
  letters: string;
}

/**
 * Checkpoints (and dead letters) in the store's schema, committed with the read-model writes
 * of the same batch. The tables come from the store's migrations (checkpointTables.ts) and are
 * always schema-qualified, so neither search_path nor a connection pooler that drops it matters.
 * The failure that stopped a projector is kept in columns beside its position, visible with a
 * plain SELECT.
 */
export function createPostgresCheckpointStore(): CheckpointStore<PostgresTransaction> {
  const tablesBySchema = new Map<string, Tables>();
  const tables = (tx: PostgresTransaction): Tables => {
    let found = tablesBySchema.get(tx.schema);
    if (!found) {
      const s = quoteIdentifier(tx.schema);
      found = { checkpoints: `${s}.tidemark_checkpoints`, letters: `${s}.tidemark_dead_letters` };
      tablesBySchema.set(tx.schema, found);
    }
    return found;
  };
  // The store's clock, as every participant of the unit of work stamps its rows (tests set it).
  const now = (tx: PostgresTransaction) => tx.clock.now().toISOString();

  function insertIfMissing(tx: PostgresTransaction, table: string, name: string, position: bigint) {
    return tx.client.query(`INSERT INTO ${table} (name, position, updated_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`, [
      name,
      position,
      now(tx),
    ]);
  }

  return {
    async setup(tx) {
      // The tables exist (migrations); the caller sets up its read-model tables next, in this transaction.
      await tx.lockForSetup();
    },

    async load(name, tx) {
      const { rows } = await tx.client.query(`SELECT * FROM ${tables(tx).checkpoints} WHERE name = $1`, [name]);
      const row = rows[0];
      return row ? checkpointRecordFromRow(name, row) : undefined;
    },

    async list(tx) {
      // COLLATE "C": names in code-unit order, as the other adapters list them.
      const { rows } = await tx.client.query(`SELECT * FROM ${tables(tx).checkpoints} ORDER BY name COLLATE "C"`);
      return rows.map((row) => checkpointRecordFromRow(row.name, row));
    },

    async save(name, expected, position, tx) {
      if (!(position >= expected)) throw new CheckpointConflictError(name, expected, position);
      const table = tables(tx).checkpoints;
      // Compare-and-set on the position this projector loaded: a second instance (or a rebuild
      // that reset the checkpoint) makes this update miss, and the whole batch rolls back.
      const changed = await tx.client.query(
        `UPDATE ${table} SET position = $3, updated_at = $4, ${clearFailure} WHERE name = $1 AND position = $2`,
        [name, expected, position, now(tx)],
      );
      if (changed.rowCount === 1) return;
      if (expected === 0n && (await insertIfMissing(tx, table, name, position)).rowCount === 1) return;
      const actual = await tx.client.query(`SELECT position FROM ${table} WHERE name = $1`, [name]);
      throw new CheckpointConflictError(name, expected, actual.rows[0] ? pos(actual.rows[0].position) : undefined);
    },

    async recordFailure(name, failure, tx) {
      const table = tables(tx).checkpoints;
      await insertIfMissing(tx, table, name, 0n);
      if (!failure) {
        await tx.client.query(`UPDATE ${table} SET updated_at = $2, ${clearFailure} WHERE name = $1`, [name, now(tx)]);
        return;
      }
      await tx.client.query(
        `UPDATE ${table} SET updated_at = $2, failed_position = $3, failed_event_id = $4, failed_event_type = $5,
           failed_stream_id = $6, error = $7, attempts = $8, failed_at = $9 WHERE name = $1`,
        [
          name,
          now(tx),
          failure.position,
          failure.eventId,
          failure.eventType,
          failure.streamId,
          failureText(failure.message),
          failure.attempts,
          failure.failedAt.toISOString(),
        ],
      );
    },

    async reset(name, position, tx) {
      const table = tables(tx).checkpoints;
      await insertIfMissing(tx, table, name, position);
      // The condition is re-checked under the row lock (PostgreSQL re-evaluates it after waiting
      // for a projector's batch in flight), so a checkpoint that moved past `position` stays put.
      const changed = await tx.client.query(
        `UPDATE ${table} SET position = $2, updated_at = $3, ${clearFailure} WHERE name = $1 AND position <= $2`,
        [name, position, now(tx)],
      );
      return changed.rowCount === 1;
    },

    async park(letter, tx) {
      await tx.client.query(
        `INSERT INTO ${tables(tx).letters} (projection, position, event_id, event_type, stream_id, error, attempts, parked_at, event)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          letter.projection,
          letter.position,
          letter.eventId,
          letter.eventType,
          letter.streamId,
          failureText(letter.message),
          letter.attempts,
          letter.parkedAt.toISOString(),
          // JSON escapes NUL and lone surrogates, so the event's text is always storable.
          deadLetterEventJson(letter.event),
        ],
      );
    },

    async deadLetters(name, tx) {
      const { rows } = await tx.client.query(`SELECT * FROM ${tables(tx).letters} WHERE projection = $1 ORDER BY position`, [name]);
      return rows.map((row): DeadLetter => {
        return {
          projection: name,
          position: pos(row.position),
          eventId: String(row.event_id),
          eventType: String(row.event_type),
          streamId: String(row.stream_id),
          message: String(row.error),
          attempts: num(row.attempts),
          parkedAt: new Date(String(row.parked_at)),
          event: parseDeadLetterEvent(String(row.event)),
        };
      });
    },

    async failedEvents(tx, name) {
      const { checkpoints, letters } = tables(tx);
      const { rows } = await tx.client.query(
        `SELECT * FROM (
           SELECT name AS projection, 'failed' AS status, failed_position AS position, failed_event_id AS event_id,
                  failed_event_type AS event_type, failed_stream_id AS stream_id, error, attempts, failed_at AS at
             FROM ${checkpoints} WHERE failed_position IS NOT NULL
           UNION ALL
           SELECT projection, 'parked', position, event_id, event_type, stream_id, error, attempts, parked_at
             FROM ${letters}
         ) failed
         WHERE $1::text IS NULL OR projection = $1
         ORDER BY projection, position`,
        [name ?? null],
      );
      return rows.map(
        (row): FailedEvent => ({
          projection: String(row.projection),
          status: row.status === 'failed' ? 'failed' : 'parked',
          position: pos(row.position),
          eventId: String(row.event_id),
          eventType: String(row.event_type),
          streamId: String(row.stream_id),
          message: String(row.error),
          attempts: num(row.attempts),
          at: new Date(String(row.at)),
        }),
      );
    },

    async removeDeadLetter(projection, position, tx) {
      const deleted = await tx.client.query(`DELETE FROM ${tables(tx).letters} WHERE projection = $1 AND position = $2`, [
        projection,
        position,
      ]);
      return deleted.rowCount === 1;
    },
  };
}
