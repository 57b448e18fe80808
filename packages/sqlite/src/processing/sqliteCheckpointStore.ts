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
import type { Database } from 'better-sqlite3';
import { preparedPerConnection } from '../eventStore/preparedPerConnection.js';
import type { SqliteTransaction } from '../eventStore/sqliteEventStore.js';

interface CheckpointRow {
  position: number;
  updated_at: string;
  failed_position: number | null;
  failed_event_id: string | null;
  failed_event_type: string | null;
  failed_stream_id: string | null;
  error: string | null;
  attempts: number | null;
  failed_at: string | null;
}

interface LetterRow {
  projection: string;
  position: number;
  event_id: string;
  event_type: string;
  stream_id: string;
  error: string;
  attempts: number;
  parked_at: string;
  event: string;
}

interface FailedRow extends Omit<LetterRow, 'parked_at' | 'event'> {
  status: 'failed' | 'parked';
  at: string;
}

const clearFailure =
  'failed_position = NULL, failed_event_id = NULL, failed_event_type = NULL, failed_stream_id = NULL, error = NULL, attempts = NULL, failed_at = NULL';

const failedSelect = `SELECT * FROM (
  SELECT name AS projection, 'failed' AS status, failed_position AS position, failed_event_id AS event_id,
         failed_event_type AS event_type, failed_stream_id AS stream_id, error, attempts, failed_at AS at
    FROM tidemark_checkpoints WHERE failed_position IS NOT NULL
  UNION ALL
  SELECT projection, 'parked', position, event_id, event_type, stream_id, error, attempts, parked_at FROM tidemark_dead_letters
)`;

function prepare(db: Database) {
  return {
    load: db.prepare<[string], CheckpointRow>('SELECT * FROM tidemark_checkpoints WHERE name = ?'),
    list: db.prepare<[], CheckpointRow & { name: string }>('SELECT * FROM tidemark_checkpoints ORDER BY name'),
    position: db.prepare<[string], number>('SELECT position FROM tidemark_checkpoints WHERE name = ?').pluck(),
    insertIfMissing: db.prepare<[string, bigint, string]>(
      'INSERT INTO tidemark_checkpoints (name, position, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING',
    ),
    // Compare-and-set on the position the projector loaded.
    save: db.prepare<[bigint, string, string, bigint]>(
      `UPDATE tidemark_checkpoints SET position = ?, updated_at = ?, ${clearFailure} WHERE name = ? AND position = ?`,
    ),
    clearFailure: db.prepare<[string, string]>(`UPDATE tidemark_checkpoints SET updated_at = ?, ${clearFailure} WHERE name = ?`),
    recordFailure: db.prepare<[string, bigint, string, string, string, string, number, string, string]>(
      `UPDATE tidemark_checkpoints SET updated_at = ?, failed_position = ?, failed_event_id = ?, failed_event_type = ?,
         failed_stream_id = ?, error = ?, attempts = ?, failed_at = ? WHERE name = ?`,
    ),
    reset: db.prepare<[bigint, string, string, bigint]>(
      `UPDATE tidemark_checkpoints SET position = ?, updated_at = ?, ${clearFailure} WHERE name = ? AND position <= ?`,
    ),
    park: db.prepare<[string, bigint, string, string, string, string, number, string, string]>(
      `INSERT INTO tidemark_dead_letters (projection, position, event_id, event_type, stream_id, error, attempts, parked_at, event)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    deadLetters: db.prepare<[string], LetterRow>('SELECT * FROM tidemark_dead_letters WHERE projection = ? ORDER BY position'),
    allFailed: db.prepare<[], FailedRow>(`${failedSelect} ORDER BY projection, position`),
    failedOf: db.prepare<[string], FailedRow>(`${failedSelect} WHERE projection = ? ORDER BY position`),
    removeDeadLetter: db.prepare<[string, bigint]>('DELETE FROM tidemark_dead_letters WHERE projection = ? AND position = ?'),
  };
}

/**
 * Checkpoints (and dead letters) in the SQLite file, committed with the read-model writes of
 * the same batch. The tables come from the store's migrations; the statements are prepared
 * once per connection and kept for every later transaction.
 */
export function createSqliteCheckpointStore(): CheckpointStore<SqliteTransaction> {
  const statements = preparedPerConnection(prepare);
  // The store's clock, as every participant of the unit of work stamps its rows (tests set it).
  const now = (tx: SqliteTransaction) => tx.clock.now().toISOString();

  return {
    // SQLite runs one write transaction at a time: read-model set-ups cannot race.
    async setup() {},

    async load(name, tx) {
      const row = statements(tx).load.get(name);
      return row ? checkpointRecordFromRow(name, row) : undefined;
    },

    async list(tx) {
      return statements(tx)
        .list.all()
        .map((row) => checkpointRecordFromRow(row.name, row));
    },

    async save(name, expected, position, tx) {
      if (!(position >= expected)) throw new CheckpointConflictError(name, expected, position);
      const s = statements(tx);
      if (s.save.run(position, now(tx), name, expected).changes === 1) return;
      if (expected === 0n && s.insertIfMissing.run(name, position, now(tx)).changes === 1) return;
      const actual = s.position.get(name);
      throw new CheckpointConflictError(name, expected, actual === undefined ? undefined : BigInt(actual));
    },

    async recordFailure(name, failure, tx) {
      const s = statements(tx);
      s.insertIfMissing.run(name, 0n, now(tx));
      if (!failure) {
        s.clearFailure.run(now(tx), name);
        return;
      }
      s.recordFailure.run(
        now(tx),
        failure.position,
        failure.eventId,
        failure.eventType,
        failure.streamId,
        failureText(failure.message),
        failure.attempts,
        failure.failedAt.toISOString(),
        name,
      );
    },

    async reset(name, position, tx) {
      const s = statements(tx);
      s.insertIfMissing.run(name, position, now(tx));
      return s.reset.run(position, now(tx), name, position).changes === 1;
    },

    async park(letter, tx) {
      statements(tx).park.run(
        letter.projection,
        letter.position,
        letter.eventId,
        letter.eventType,
        letter.streamId,
        failureText(letter.message),
        letter.attempts,
        letter.parkedAt.toISOString(),
        deadLetterEventJson(letter.event),
      );
    },

    async deadLetters(name, tx) {
      return statements(tx)
        .deadLetters.all(name)
        .map((row): DeadLetter => {
          return {
            projection: name,
            position: BigInt(row.position),
            eventId: row.event_id,
            eventType: row.event_type,
            streamId: row.stream_id,
            message: row.error,
            attempts: row.attempts,
            parkedAt: new Date(row.parked_at),
            event: parseDeadLetterEvent(row.event),
          };
        });
    },

    async failedEvents(tx, name) {
      const s = statements(tx);
      const rows = name === undefined ? s.allFailed.all() : s.failedOf.all(name);
      return rows.map(
        (row): FailedEvent => ({
          projection: row.projection,
          status: row.status,
          position: BigInt(row.position),
          eventId: row.event_id,
          eventType: row.event_type,
          streamId: row.stream_id,
          message: row.error,
          attempts: row.attempts,
          at: new Date(row.at),
        }),
      );
    },

    async removeDeadLetter(projection, position, tx) {
      return statements(tx).removeDeadLetter.run(projection, position).changes === 1;
    },
  };
}
