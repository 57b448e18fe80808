import type { Projection, RecordedEvent, StoreTransaction } from '../src/index.js';

/**
 * A real in-memory read model for tests: per-stream sums and counts, staged per transaction
 * and published on commit, exactly as the in-memory store stages events. Counting
 * applications per event id makes a double application visible.
 */
export interface SumReadModel {
  projection: Projection<StoreTransaction>;
  sums: Map<string, number>;
  applied: Map<string, number>;
  /** Throws when applying events this predicate accepts (to simulate a bug). */
  failWhen: (event: RecordedEvent) => boolean;
}

export function createSumReadModel(name = 'sums', filter: Pick<Projection, 'types' | 'categories'> = {}): SumReadModel {
  const model: SumReadModel = {
    sums: new Map(),
    applied: new Map(),
    failWhen: () => false,
    projection: {
      name,
      ...filter,
      async apply(events, tx) {
        const sums = new Map<string, number>();
        const applied = new Map<string, number>();
        for (const event of events) {
          if (model.failWhen(event)) throw new Error(`cannot apply ${event.type} at ${event.position}`);
          const amount = (event.data as { amount?: number }).amount ?? 0;
          sums.set(event.streamId, (sums.get(event.streamId) ?? model.sums.get(event.streamId) ?? 0) + amount);
          applied.set(event.id, (applied.get(event.id) ?? model.applied.get(event.id) ?? 0) + 1);
        }
        tx.afterCommit(() => {
          for (const [key, value] of sums) model.sums.set(key, value);
          for (const [key, value] of applied) model.applied.set(key, value);
        });
      },
    },
  };
  return model;
}
