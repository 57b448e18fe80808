import { assertInboxKey, type Inbox } from '@tidemark/core';
import type { PostgresTransaction } from '../eventStore/postgresTransaction.js';
import { quoteIdentifier } from '../schema/schemaName.js';

/**
 * The inbox table in the store's schema (migration 8), written through the caller's
 * transaction. INSERT … ON CONFLICT DO NOTHING waits for a concurrent transaction inserting the
 * same (consumer, message id) and then reports the conflict, so two deliveries of one message
 * handled at once apply it once.
 */
export function createPostgresInbox(): Inbox<PostgresTransaction> {
  const table = (tx: PostgresTransaction) => `${quoteIdentifier(tx.schema)}.tidemark_inbox`;
  return {
    async record(tx, consumer, messageId) {
      assertInboxKey(consumer, messageId);
      const changed = await tx.sql.execute(
        `INSERT INTO ${table(tx)} (consumer, message_id, processed_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
        [consumer, messageId, tx.clock.now().toISOString()],
      );
      return changed === 1;
    },
    async has(tx, consumer, messageId) {
      assertInboxKey(consumer, messageId);
      const rows = await tx.sql.query(`SELECT 1 FROM ${table(tx)} WHERE consumer = $1 AND message_id = $2`, [consumer, messageId]);
      return rows.length > 0;
    },
    async consumers(tx) {
      const rows = await tx.sql.query<{ consumer: string; records: string; last: Date | string }>(
        `SELECT consumer, count(*) AS records, max(processed_at) AS last FROM ${table(tx)} GROUP BY consumer ORDER BY consumer COLLATE "C"`,
      );
      return rows.map((row) => ({ consumer: row.consumer, records: Number(row.records), lastHandledAt: new Date(row.last) }));
    },
    async expire(tx, before, limit) {
      return tx.sql.execute(
        `DELETE FROM ${table(tx)} WHERE (consumer, message_id) IN (
           SELECT consumer, message_id FROM ${table(tx)} WHERE processed_at < $1 LIMIT $2)`,
        [before.toISOString(), limit],
      );
    },
  };
}
