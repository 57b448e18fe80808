import { ValidationError } from '@tidemark/core';
import type pg from 'pg';
import { rethrowTyped, toTypedError, watchClient } from './connectionErrors.js';

/**
 * One statement of read SQL in autocommit on a pooled connection (`store.queries`), still one
 * round trip. The extended protocol takes exactly one statement, so a script cannot carry a
 * second. A statement that leaves a transaction open (BEGIN, START TRANSACTION) is rolled back
 * and refused: the connection would otherwise go back to the pool inside it, and the appends
 * that used it next would be acknowledged without ever committing.
 */
export async function queryPooled<Row extends Record<string, unknown>>(
  pool: pg.Pool,
  text: string,
  params: readonly unknown[] | undefined,
): Promise<Row[]> {
  const client = await pool.connect().catch(rethrowTyped);
  const watched = watchClient(client);
  let failure: Error | undefined;
  try {
    // queryMode is pg's (8.16+), not yet in its type definitions.
    const config = { text, values: [...(params ?? [])], queryMode: 'extended' } as pg.QueryConfig;
    const result = await client.query<Row>(config);
    if (client.getTransactionStatus() !== 'I') {
      await client.query('ROLLBACK');
      throw new ValidationError(
        'queries.query runs reads in autocommit: a statement that opens a transaction is refused (use store.transaction)',
        {
          field: 'sql',
        },
      );
    }
    return result.rows;
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    watched.check(error);
    // The ROLLBACK above may be what failed: then the connection must not go back to the pool.
    if (client.getTransactionStatus() !== 'I') failure = error as Error;
    throw toTypedError(error, watched.lost !== undefined);
  } finally {
    watched.release(failure);
  }
}
