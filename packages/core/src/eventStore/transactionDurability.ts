import { ValidationError } from '../domain/errors.js';

/**
 * How a transaction's commit is made durable.
 * - `full` (the default): the commit is on disk before it is acknowledged.
 * - `relaxed`: acknowledged before it is flushed (SQLite: synchronous=NORMAL for this commit;
 *   PostgreSQL: synchronous_commit=off). A crash of the operating system (SQLite) or of the
 *   database server (PostgreSQL) may lose the last relaxed commits — whole, never torn, and
 *   never a process crash alone on SQLite — while every later full commit makes them durable too.
 *   For work that is recomputed from the log when lost: a projector's batch with its checkpoint
 *   (losing both together replays the batch). Such a transaction cannot append events, which
 *   nothing could recompute: its appends are refused.
 */
export type TransactionDurability = 'full' | 'relaxed';

/** Checks the option's value once, for every adapter. */
export function resolveDurability(value: unknown): TransactionDurability {
  if (value === undefined || value === 'full') return 'full';
  if (value === 'relaxed') return 'relaxed';
  throw new ValidationError(`durability must be 'full' or 'relaxed', not ${JSON.stringify(value)}`, { field: 'durability' });
}

/** Called by every adapter's tx.appendToStream. */
export function assertAppendAllowed(durability: TransactionDurability): void {
  if (durability === 'relaxed') {
    throw new ValidationError(
      "A transaction with durability 'relaxed' cannot append events: a crash could lose them. Use a full transaction for appends.",
      { field: 'durability' },
    );
  }
}
