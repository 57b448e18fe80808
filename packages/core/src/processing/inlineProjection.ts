import type { EventStore, StoreTransaction } from '../eventStore/eventStore.js';
import { liveTables, type Projection, projectionHandles } from './projection.js';
import { lockForSetup } from './setupLock.js';

/**
 * Runs `projection` inside every append's transaction: the read model is never behind for
 * the write that changed it, and a throwing projection rolls the append back. Sets the tables
 * up first. Inline projections keep no checkpoint: they are exactly as far as the log.
 */
export async function registerInlineProjection<Tx extends StoreTransaction>(
  store: EventStore<Tx>,
  projection: Projection<Tx>,
): Promise<void> {
  const setup = projection.setup;
  if (setup) {
    await store.transaction(async (tx) => {
      await lockForSetup(tx);
      await setup.call(projection, tx, liveTables);
    });
  }
  store.addAppendHook(async (events, tx) => {
    const handled = events.filter((event) => projectionHandles(projection, event));
    if (handled.length > 0) await projection.apply(handled, tx, liveTables);
  });
}
