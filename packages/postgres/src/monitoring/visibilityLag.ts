import type pg from 'pg';
import { readableHorizonSql } from '../eventStore/readableHorizon.js';

export interface VisibilityLag {
  /**
   * Age of the oldest transaction on the server that holds a transaction id (it has written,
   * or is writing). Readers cannot see past the first position such a transaction could
   * still write, so one long transaction stalls every reader of the log: alert on this.
   */
  oldestOpenTransactionSeconds: number;
  /** Events already committed that readers cannot see yet because of that horizon. */
  invisibleEvents: number;
  /** `recordedAt` of the oldest of them: how long the newest reader has been kept waiting. */
  oldestInvisibleRecordedAt?: Date;
}

/**
 * The horizon is cluster-wide (transaction ids are): a long transaction in ANY database of the
 * server holds it back, not only one writing events. Sessions of other roles may hide their
 * xact_start unless this role can read all statistics (pg_read_all_stats).
 */
export async function measureVisibilityLag(pool: pg.Pool, quotedSchema: string): Promise<VisibilityLag> {
  const result = await pool.query<{ oldest: number | null; invisible: string; oldest_invisible: Date | null }>(
    `SELECT
       (SELECT extract(epoch FROM clock_timestamp() - min(started))::float8 FROM (
          SELECT xact_start AS started FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
          UNION ALL SELECT prepared FROM pg_prepared_xacts
        ) open_transactions) AS oldest,
       invisible.count AS invisible, invisible.oldest AS oldest_invisible
     FROM (SELECT count(*), min(recorded_at) AS oldest FROM ${quotedSchema}.events WHERE position >= ${readableHorizonSql(quotedSchema)}) invisible`,
  );
  const row = result.rows[0];
  return {
    oldestOpenTransactionSeconds: Math.max(0, row?.oldest ?? 0),
    invisibleEvents: Number(row?.invisible ?? 0),
    ...(row?.oldest_invisible && { oldestInvisibleRecordedAt: new Date(row.oldest_invisible) }),
  };
}
