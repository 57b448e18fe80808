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
import type { PostgresTransaction } from '../eventStore/postgresTransaction.js';
import { quoteIdentifier } from '../schema/schemaName.js';

interface OutboxRow {
  sequence: string;
  message_id: string;
  type: string;
  schema_version: number;
  key: string;
  data: string;
  headers: string;
  occurred_at: Date;
  created_at: Date;
}

/** Rows rewriteData reads at a time. */
const rewritePageSize = 500;

const toEntry = (row: OutboxRow): OutboxEntry => ({
  sequence: BigInt(row.sequence),
  createdAt: row.created_at,
  message: {
    id: row.message_id,
    type: row.type,
    schemaVersion: row.schema_version,
    key: row.key,
    data: JSON.parse(row.data),
    headers: JSON.parse(row.headers),
    occurredAt: row.occurred_at,
  },
});

/**
 * The outbox table in the store's schema (migration 7), written through the caller's
 * transaction.
 *
 * Order per key: an identity sequence is drawn at insert time, not at commit, so two
 * transactions adding messages of one key could commit in the other order than their
 * sequences. Each add therefore first takes a transaction-scoped advisory lock per key (in
 * sorted order, so adds of several keys cannot deadlock each other): the second writer of a key
 * draws its sequences only after the first committed. Different keys do not wait for each other.
 */
export function createPostgresOutbox(options: { limits?: Pick<AppendLimits, 'maxEventBytes'> } = {}): Outbox<PostgresTransaction> {
  const limits = resolveAppendLimits(options.limits);
  const tables = new Map<string, string>();
  const table = (tx: PostgresTransaction) => {
    let found = tables.get(tx.schema);
    if (!found) {
      found = `${quoteIdentifier(tx.schema)}.tidemark_outbox`;
      tables.set(tx.schema, found);
    }
    return found;
  };
  const listeners = new Set<() => void>();
  const notify = () => runAfterCommit([...listeners], warnOnError, 'outbox listener failed');

  return {
    async add(tx, messages) {
      const now = tx.clock.now();
      const batch = prepareOutgoingMessages(messages, now, limits);
      if (batch.length === 0) return;
      const keys = [...new Set(batch.map((m) => m.key))].sort();
      await tx.sql.query(
        `SELECT pg_advisory_xact_lock(h) FROM (SELECT hashtextextended('tidemark_outbox:' || k, 0) AS h FROM unnest($1::text[]) AS k ORDER BY 1) AS keys`,
        [keys],
      );
      await tx.sql.execute(
        `INSERT INTO ${table(tx)} (message_id, type, schema_version, key, data, headers, occurred_at, created_at)
         SELECT t.id, t.type, t.schema_version, t.key, t.data::json, t.headers::json, t.occurred_at, $8
           FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::timestamptz[])
                WITH ORDINALITY AS t(id, type, schema_version, key, data, headers, occurred_at, ord)
          ORDER BY t.ord`,
        [
          batch.map((m) => m.id),
          batch.map((m) => m.type),
          batch.map((m) => m.schemaVersion),
          batch.map((m) => m.key),
          batch.map((m) => m.dataJson),
          batch.map((m) => m.headersJson),
          batch.map((m) => m.occurredAt.toISOString()),
          now.toISOString(),
        ],
      );
      tx.afterCommit(notify);
    },
    async pending(tx, { limit, exclude }) {
      const rows = await tx.sql.query<OutboxRow & Record<string, unknown>>(
        `SELECT sequence, message_id, type, schema_version, key, data::text AS data, headers::text AS headers, occurred_at, created_at
           FROM ${table(tx)} WHERE published_at IS NULL ORDER BY sequence LIMIT $1`,
        [limit + (exclude?.size ?? 0)],
      );
      const entries: OutboxEntry[] = [];
      for (const row of rows) {
        if (entries.length >= limit) break;
        if (!exclude?.has(BigInt(row.sequence))) entries.push(toEntry(row));
      }
      return entries;
    },
    async markPublished(tx, sequences) {
      if (sequences.length === 0) return;
      await tx.sql.execute(`UPDATE ${table(tx)} SET published_at = $2 WHERE sequence = ANY ($1::bigint[]) AND published_at IS NULL`, [
        sequences.map(String),
        tx.clock.now().toISOString(),
      ]);
    },
    async deletePublished(tx, before, limit) {
      return tx.sql.execute(
        `DELETE FROM ${table(tx)} WHERE sequence IN (
           SELECT sequence FROM ${table(tx)} WHERE published_at IS NOT NULL AND published_at < $1 LIMIT $2)`,
        [before.toISOString(), limit],
      );
    },
    async rewriteData(tx, types, rewrite) {
      if (types.length === 0) return 0;
      let count = 0;
      // In pages, so that a long retention's worth of rows is never held in memory at once.
      for (let after = '0'; ; ) {
        const rows = await tx.sql.query<OutboxRow & Record<string, unknown>>(
          `SELECT sequence, message_id, type, schema_version, key, data::text AS data, headers::text AS headers, occurred_at, created_at
             FROM ${table(tx)} WHERE type = ANY ($1::text[]) AND sequence > $2 ORDER BY sequence LIMIT $3`,
          [types, after, rewritePageSize],
        );
        for (const row of rows) {
          const dataJson = rewrittenDataJson(toEntry(row).message, row.data, rewrite);
          if (dataJson === undefined) continue;
          await tx.sql.execute(`UPDATE ${table(tx)} SET data = $2::json WHERE sequence = $1`, [row.sequence, dataJson]);
          count++;
        }
        if (rows.length < rewritePageSize) return count;
        after = (rows.at(-1) as OutboxRow).sequence;
      }
    },
    async stats(tx) {
      // Two index-only counts on the partial indexes.
      const [row] = await tx.sql.query<{ backlog: string; oldest: Date | null; retained: string }>(
        `SELECT (SELECT count(*) FROM ${table(tx)} WHERE published_at IS NULL) AS backlog,
                (SELECT min(created_at) FROM ${table(tx)} WHERE published_at IS NULL) AS oldest,
                (SELECT count(*) FROM ${table(tx)} WHERE published_at IS NOT NULL) AS retained`,
      );
      return {
        backlog: Number(row?.backlog ?? 0),
        ...(row?.oldest && { oldestUnpublishedAt: row.oldest }),
        retained: Number(row?.retained ?? 0),
      };
    },
    onAdded(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
