import {
  type AppendLimits,
  type Outbox,
  type OutboxEntry,
  prepareOutgoingMessages,
  resolveAppendLimits,
  rewrittenDataJson,
  runAfterCommit,
  warnOnError,
} from '@tidemark/core';
import type { Database } from 'better-sqlite3';
import { preparedPerConnection } from '../eventStore/preparedPerConnection.js';
import type { SqliteTransaction } from '../eventStore/sqliteEventStore.js';

interface OutboxRow {
  sequence: number;
  message_id: string;
  type: string;
  schema_version: number;
  key: string;
  data: string;
  headers: string;
  occurred_at: number;
  created_at: number;
}

function prepare(db: Database) {
  return {
    insert: db.prepare<[string, string, number, string, string, string, number, number]>(
      `INSERT INTO tidemark_outbox (message_id, type, schema_version, key, data, headers, occurred_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    pending: db.prepare<[number], OutboxRow>('SELECT * FROM tidemark_outbox WHERE published_at IS NULL ORDER BY sequence LIMIT ?'),
    markPublished: db.prepare<[number, bigint]>('UPDATE tidemark_outbox SET published_at = ? WHERE sequence = ? AND published_at IS NULL'),
    deletePublished: db.prepare<[number, number]>(
      `DELETE FROM tidemark_outbox WHERE sequence IN (
         SELECT sequence FROM tidemark_outbox WHERE published_at IS NOT NULL AND published_at < ? LIMIT ?)`,
    ),
    stats: db.prepare<[], { backlog: number; oldest: number | null }>(
      'SELECT count(*) AS backlog, min(created_at) AS oldest FROM tidemark_outbox WHERE published_at IS NULL',
    ),
    // A page of the messages of some types (a JSON array) after a sequence, for rewriteData.
    ofTypes: db.prepare<[string, number, number], OutboxRow>(
      'SELECT * FROM tidemark_outbox WHERE type IN (SELECT value FROM json_each(?)) AND sequence > ? ORDER BY sequence LIMIT ?',
    ),
    rewriteData: db.prepare<[string, number]>('UPDATE tidemark_outbox SET data = ? WHERE sequence = ?'),
    retained: db.prepare<[], number>('SELECT count(*) FROM tidemark_outbox WHERE published_at IS NOT NULL').pluck(),
  };
}

/** Rows rewriteData reads at a time. */
const rewritePageSize = 500;

const toEntry = (row: OutboxRow): OutboxEntry => ({
  sequence: BigInt(row.sequence),
  createdAt: new Date(row.created_at),
  message: {
    id: row.message_id,
    type: row.type,
    schemaVersion: row.schema_version,
    key: row.key,
    data: JSON.parse(row.data),
    headers: JSON.parse(row.headers),
    occurredAt: new Date(row.occurred_at),
  },
});

/**
 * The outbox table in the SQLite file (migration 4), written through the caller's
 * transaction. SQLite has one writer at a time, so sequence order is commit order.
 */
export function createSqliteOutbox(options: { limits?: Pick<AppendLimits, 'maxEventBytes'> } = {}): Outbox<SqliteTransaction> {
  const limits = resolveAppendLimits(options.limits);
  const statements = preparedPerConnection(prepare);
  const listeners = new Set<() => void>();
  const notify = () => runAfterCommit([...listeners], warnOnError, 'outbox listener failed');

  return {
    async add(tx, messages) {
      const now = tx.clock.now();
      const batch = prepareOutgoingMessages(messages, now, limits);
      if (batch.length === 0) return;
      const { insert } = statements(tx);
      for (const m of batch) {
        insert.run(m.id, m.type, m.schemaVersion, m.key, m.dataJson, m.headersJson, m.occurredAt.getTime(), now.getTime());
      }
      tx.afterCommit(notify);
    },
    async pending(tx, { limit, exclude }) {
      const rows = statements(tx).pending.all(limit + (exclude?.size ?? 0));
      const entries: OutboxEntry[] = [];
      for (const row of rows) {
        if (entries.length >= limit) break;
        if (!exclude?.has(BigInt(row.sequence))) entries.push(toEntry(row));
      }
      return entries;
    },
    async markPublished(tx, sequences) {
      const { markPublished } = statements(tx);
      const now = tx.clock.now().getTime();
      for (const sequence of sequences) markPublished.run(now, sequence);
    },
    async deletePublished(tx, before, limit) {
      return statements(tx).deletePublished.run(before.getTime(), limit).changes;
    },
    async rewriteData(tx, types, rewrite) {
      if (types.length === 0) return 0;
      const { ofTypes, rewriteData } = statements(tx);
      const typesJson = JSON.stringify(types);
      let count = 0;
      // In pages, so that a long retention's worth of rows is never held in memory at once.
      for (let after = 0; ; ) {
        const rows = ofTypes.all(typesJson, after, rewritePageSize);
        for (const row of rows) {
          const dataJson = rewrittenDataJson(toEntry(row).message, row.data, rewrite);
          if (dataJson === undefined) continue;
          rewriteData.run(dataJson, row.sequence);
          count++;
        }
        if (rows.length < rewritePageSize) return count;
        after = (rows.at(-1) as OutboxRow).sequence;
      }
    },
    async stats(tx) {
      const s = statements(tx);
      const row = s.stats.get() as { backlog: number; oldest: number | null };
      const retained = s.retained.get() as number;
      return { backlog: row.backlog, ...(row.oldest !== null && { oldestUnpublishedAt: new Date(row.oldest) }), retained };
    },
    onAdded(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
