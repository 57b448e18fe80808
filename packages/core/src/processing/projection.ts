import { type RecordedEvent, streamCategory } from '../domain/event.js';
import type { StoreTransaction } from '../eventStore/eventStore.js';

/**
 * Maps a projection's logical table names to the physical ones it must use. Normally the
 * identity; during a rebuild it points at shadow tables, so that the live ones keep serving
 * until the rebuilt set is swapped in. Name indexes after `tables.name(...)` too, so that
 * shadow indexes never collide with live ones.
 */
export interface ProjectionTables {
  name(logical: string): string;
}

export const liveTables: ProjectionTables = { name: (logical) => logical };

/**
 * A read model built from events. The same definition runs inline (inside each append's
 * transaction), asynchronously (a projector with a checkpoint) and in a rebuild.
 */
export interface Projection<Tx extends StoreTransaction = StoreTransaction> {
  /** Stable name: the checkpoint key and the dead-letter key. */
  name: string;
  /** Only events of these types reach `apply` (all when absent). */
  types?: readonly string[];
  /** Only events of streams in these categories reach `apply` (all when absent). */
  categories?: readonly string[];
  /** Logical names of the tables it owns: a rebuild builds shadows of exactly these and swaps them in. */
  tables?: readonly string[];
  /** Creates its tables and indexes; must be idempotent (CREATE … IF NOT EXISTS). */
  setup?(tx: Tx, tables: ProjectionTables): Promise<void>;
  /**
   * Applies events in global order inside `tx`. May be called with one event at a time when
   * the projector is isolating a failure, so it must not depend on batch boundaries.
   */
  apply(events: readonly RecordedEvent[], tx: Tx, tables: ProjectionTables): Promise<void>;
}

/** Whether `event` passes the projection's type and category filters. */
export function projectionHandles(projection: Pick<Projection, 'types' | 'categories'>, event: RecordedEvent): boolean {
  if (projection.types && !projection.types.includes(event.type)) return false;
  if (projection.categories && !projection.categories.includes(streamCategory(event.streamId))) return false;
  return true;
}
