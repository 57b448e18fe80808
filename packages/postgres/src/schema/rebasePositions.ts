import type pg from 'pg';
import { beginReadCommitted } from '../eventStore/beginReadCommitted.js';
import { rethrowTypedFor, toTypedError, watchClient } from '../eventStore/connectionErrors.js';
import { positionSequenceBits } from './migrations.js';
import { PositionsRebaseRequiredError } from './positionsRebaseRequiredError.js';
import { assertValidSchemaName, quoteIdentifier } from './schemaName.js';

/** The transaction part (xid8 + offset) of the highest stored position; null for an empty store. */
function lastTransactionSql(s: string): string {
  return `((SELECT max(position) FROM ${s}.events) >> ${positionSequenceBits})`;
}
const nextXid = 'pg_snapshot_xmax(pg_current_snapshot())::text::bigint';
const oldestRunningXid = 'pg_snapshot_xmin(pg_current_snapshot())::text::bigint';

/**
 * The rebase as plain SQL, for a DBA (or a migration tool) to run as a role that may lock and
 * update the store's tables. A no-op unless the store was moved (see rebasePositions).
 */
export function rebasePositionsSql(schema: string): string {
  assertValidSchemaName(schema);
  const s = quoteIdentifier(schema);
  return `${beginReadCommitted};
LOCK TABLE ${s}.position_offset IN ACCESS EXCLUSIVE MODE;
LOCK TABLE ${s}.events IN EXCLUSIVE MODE;
UPDATE ${s}.position_offset SET xid_offset = ${lastTransactionSql(s)} + 1 - ${oldestRunningXid}
 WHERE ${lastTransactionSql(s)} >= ${nextXid} + xid_offset;
COMMIT;`;
}

/**
 * Keeps positions strictly increasing after the store moved to another cluster.
 *
 * Positions are ((xid8 + offset) << 20) + k. Restored (pg_dump, logical replication, another
 * provider) into a cluster whose transaction ids are lower, the stored positions sit above every
 * position the new cluster would make: the readable horizon stays below the whole history and
 * every append to an existing stream looks out of order. Detected when the highest stored
 * position's transaction part is at or above the next transaction id plus the offset — on the
 * cluster that wrote it, that transaction id was assigned, so it is always below.
 *
 * The fix raises the offset so that every transaction still able to write (ids from the oldest
 * running one, the snapshot's xmin) makes positions above every stored one, and the horizon
 * (xmin + offset) passes the whole history at once. Under ACCESS EXCLUSIVE on position_offset,
 * taken first: every statement that computes a position or a horizon reads that table, so the
 * rebase waits for every transaction that read the old offset to end (its events are then in the
 * max it computes), and statements after it wait and then read the new offset — a statement's
 * snapshot is taken after its table locks are granted. EXCLUSIVE on events (after, so that an
 * appender holding the offset table's lock is never waited for while the rebase holds it) keeps
 * out any writer that does not go through the offset. Readers wait only for the rebase itself.
 *
 * Returns whether it rebased. A role without the privileges gets PositionsRebaseRequiredError.
 */
export async function rebasePositions(pool: pg.Pool, schema: string): Promise<boolean> {
  assertValidSchemaName(schema);
  const s = quoteIdentifier(schema);
  // Typed like every statement of the store: a session killed while it opens is a ConnectionLostError.
  const check = await pool
    .query<{ moved: boolean | null }>(
      `SELECT ${lastTransactionSql(s)} >= ${nextXid} + (SELECT xid_offset FROM ${s}.position_offset) AS moved`,
    )
    .catch(rethrowTypedFor(pool));
  if (check.rows[0]?.moved !== true) return false;
  const client = await pool.connect().catch(rethrowTypedFor(pool));
  const watched = watchClient(client);
  let broken: Error | undefined;
  try {
    await client.query(beginReadCommitted);
    await client.query(`LOCK TABLE ${s}.position_offset IN ACCESS EXCLUSIVE MODE`);
    await client.query(`LOCK TABLE ${s}.events IN EXCLUSIVE MODE`);
    const updated = await client.query(
      `UPDATE ${s}.position_offset SET xid_offset = ${lastTransactionSql(s)} + 1 - ${oldestRunningXid}
        WHERE ${lastTransactionSql(s)} >= ${nextXid} + xid_offset`,
    );
    await client.query('COMMIT');
    return (updated.rowCount ?? 0) > 0;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => {
      broken = rollbackError;
    });
    if ((error as { code?: string }).code === '42501') throw new PositionsRebaseRequiredError(schema, error);
    throw toTypedError(error, watched.lost);
  } finally {
    watched.release(broken);
  }
}
