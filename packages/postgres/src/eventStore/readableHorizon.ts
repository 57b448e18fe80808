import { positionSql } from '../schema/migrations.js';

/**
 * The first position a reader must not read past: the statement snapshot's xmin, shifted as
 * positions are. Every transaction with an id below xmin has finished, so every position below
 * this is either committed and visible or will never exist — no later commit can land under
 * what a reader has already passed. Transactions at or above xmin may still commit (possibly
 * with lower ids than ones already committed), so their positions wait. Ordering by position
 * is then ordering by (transaction, sequence within it), with no skips and no duplicates.
 *
 * pg_current_snapshot() is the snapshot of the running statement, the same one that decides
 * which rows the statement sees. The store's position offset is added as in positionSql.
 */
export function readableHorizonSql(quotedSchema: string): string {
  return positionSql(quotedSchema, 'pg_snapshot_xmin(pg_current_snapshot())');
}
