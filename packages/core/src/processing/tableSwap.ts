import { TidemarkError } from '../domain/errors.js';
import type { StoreTransaction } from '../eventStore/eventStore.js';

/**
 * How an adapter swaps a rebuild's shadow tables in for the live ones. The SQL is the
 * adapter's (PostgreSQL: createPostgresTableSwap, SQLite: createSqliteTableSwap); a rebuild
 * only decides when each step runs.
 */
export interface TableSwap<Tx extends StoreTransaction = StoreTransaction> {
  /**
   * Before anything is replayed: throws {@link RebuildRefusedError} for what the swap could not
   * carry over (e.g. views on a live table), so a rebuild fails in seconds, not after hours.
   */
  check(live: readonly string[], tx: Tx): Promise<void>;
  /**
   * Inside the swap transaction: replaces each live table by its shadow (`live + suffix`),
   * keeping what belongs to the live table (index names, and where the adapter can, grants
   * and policies). Readers see the old tables until commit and the new ones after.
   */
  swap(live: readonly string[], suffix: string, tx: Tx): Promise<void>;
  /** Drops shadow tables left by an interrupted rebuild. */
  drop(physical: readonly string[], tx: Tx): Promise<void>;
}

/** A rebuild refused before replaying: the swap could not keep what depends on the live tables. */
export class RebuildRefusedError extends TidemarkError {
  constructor(message: string, details: Record<string, unknown>) {
    super('rebuild_refused', message, details);
  }
}
