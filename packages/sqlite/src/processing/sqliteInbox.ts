import { assertInboxKey, type Inbox } from '@tidemark/core';
import type { Database } from 'better-sqlite3';
import { preparedPerConnection } from '../eventStore/preparedPerConnection.js';
import type { SqliteTransaction } from '../eventStore/sqliteEventStore.js';

function prepare(db: Database) {
  return {
    record: db.prepare<[string, string, number]>(
      'INSERT INTO tidemark_inbox (consumer, message_id, processed_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    has: db.prepare<[string, string], number>('SELECT 1 FROM tidemark_inbox WHERE consumer = ? AND message_id = ?').pluck(),
    expire: db.prepare<[number, number]>(
      `DELETE FROM tidemark_inbox WHERE (consumer, message_id) IN (
         SELECT consumer, message_id FROM tidemark_inbox WHERE processed_at < ? LIMIT ?)`,
    ),
    consumers: db.prepare<[], { consumer: string; records: number; last: number }>(
      'SELECT consumer, count(*) AS records, max(processed_at) AS last FROM tidemark_inbox GROUP BY consumer ORDER BY consumer',
    ),
  };
}

/** The inbox table in the SQLite file (migration 5), written through the caller's transaction. */
export function createSqliteInbox(): Inbox<SqliteTransaction> {
  const statements = preparedPerConnection(prepare);
  return {
    async record(tx, consumer, messageId) {
      assertInboxKey(consumer, messageId);
      return statements(tx).record.run(consumer, messageId, tx.clock.now().getTime()).changes === 1;
    },
    async has(tx, consumer, messageId) {
      assertInboxKey(consumer, messageId);
      return statements(tx).has.get(consumer, messageId) !== undefined;
    },
    async consumers(tx) {
      return statements(tx)
        .consumers.all()
        .map((row) => ({ consumer: row.consumer, records: row.records, lastHandledAt: new Date(row.last) }));
    },
    async expire(tx, before, limit) {
      return statements(tx).expire.run(before.getTime(), limit).changes;
    },
  };
}
