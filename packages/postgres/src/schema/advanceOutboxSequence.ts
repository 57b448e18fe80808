import type pg from 'pg';
import { beginReadCommitted } from '../eventStore/beginReadCommitted.js';
import { rethrowTypedFor, toTypedError, watchClient } from '../eventStore/connectionErrors.js';
import { OutboxSequenceBehindError } from './outboxSequenceBehindError.js';
import { assertValidSchemaName, quoteIdentifier } from './schemaName.js';

/** The identity sequence numbering the outbox (pg_sequence_last_value: the last number it gave, null before the first). */
function sequenceSql(s: string): string {
  return `pg_get_serial_sequence('${s}.tidemark_outbox', 'sequence')::regclass`;
}
/** To the highest stored number, only when that is past the sequence: never moves it back. */
function advanceSql(s: string): string {
  return `SELECT setval(${sequenceSql(s)}, max(sequence)) FROM ${s}.tidemark_outbox
  HAVING max(sequence) > coalesce(pg_sequence_last_value(${sequenceSql(s)}), 0)`;
}

/** The repair as plain SQL, for a DBA to run as a role that may lock the outbox and set its sequence. */
export function advanceOutboxSequenceSql(schema: string): string {
  assertValidSchemaName(schema);
  const s = quoteIdentifier(schema);
  return `${beginReadCommitted};
LOCK TABLE ${s}.tidemark_outbox IN EXCLUSIVE MODE;
${advanceSql(s)};
COMMIT;`;
}

/**
 * Moves the outbox's sequence past its rows after a restore that copied the rows but not the
 * sequence's state: `pg_restore -t`, a COPY of the tables, logical replication (which carries no
 * sequences). New messages would otherwise collide with restored ones (duplicate key) or, past
 * them, be numbered below unpublished restored ones and published before them.
 *
 * Checked only when the role may read the sequence (an insert into an identity column needs no
 * right on it, so a role may write the outbox without one). EXCLUSIVE on the outbox waits for
 * every transaction still adding (each drew its numbers before), so the max it then reads holds
 * every number drawn from the old state; setval never moves the sequence back. Returns whether
 * it moved it; a role that may not gets OutboxSequenceBehindError.
 */
export async function advanceOutboxSequence(pool: pg.Pool, schema: string): Promise<boolean> {
  assertValidSchemaName(schema);
  const s = quoteIdentifier(schema);
  const check = await pool
    .query<{ behind: boolean | null }>(
      `SELECT CASE WHEN has_sequence_privilege(${sequenceSql(s)}, 'SELECT, USAGE')
                   THEN (SELECT max(sequence) FROM ${s}.tidemark_outbox) > coalesce(pg_sequence_last_value(${sequenceSql(s)}), 0)
              END AS behind`,
    )
    .catch(rethrowTypedFor(pool));
  if (check.rows[0]?.behind !== true) return false;
  const client = await pool.connect().catch(rethrowTypedFor(pool));
  const watched = watchClient(client);
  let broken: Error | undefined;
  try {
    await client.query(beginReadCommitted);
    await client.query(`LOCK TABLE ${s}.tidemark_outbox IN EXCLUSIVE MODE`);
    const advanced = await client.query(advanceSql(s));
    await client.query('COMMIT');
    return (advanced.rowCount ?? 0) > 0;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => {
      broken = rollbackError;
    });
    if ((error as { code?: string }).code === '42501') throw new OutboxSequenceBehindError(schema, error);
    throw toTypedError(error, watched.lost);
  } finally {
    watched.release(broken);
  }
}
