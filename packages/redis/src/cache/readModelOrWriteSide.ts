import type { DomainEvent, Evolver, StreamOperations } from '@tidemark/core';

/** A read-model row together with the stream version it reflects. */
export interface VersionedValue<Value> {
  value: Value;
  version: number;
}

export interface ReadModelOrWriteSideOptions<Value, State> {
  /** The read model's row for `key`, with the version of the last event applied to it. */
  readModel: (key: string) => Promise<VersionedValue<Value> | undefined>;
  /** The store (or a transaction) holding the events. */
  store: StreamOperations;
  streamId: (key: string) => string;
  /** How the write side folds a stream: a decider is one. */
  evolver: Evolver<DomainEvent, State>;
  /** The read-model shape of a rebuilt state. */
  toValue: (state: State, key: string) => Value;
  /** Told when the read model was absent or behind and the write side answered. */
  onFallback?: (key: string, reason: 'absent' | 'behind') => void;
}

/**
 * The fallback read repository of the founding document: answer from the read model when it
 * is current for this entity, otherwise from the write side (the aggregate folded from its
 * events), which is always current. "Current" is checked per entity, with one cheap read of
 * the stream's last version — not the projection's global checkpoint — so one lagging stream
 * does not send every read to the event store.
 */
export function readModelOrWriteSide<Value, State>(options: ReadModelOrWriteSideOptions<Value, State>) {
  return async (key: string): Promise<Value | undefined> => {
    const streamId = options.streamId(key);
    const [row, last] = await Promise.all([
      options.readModel(key),
      options.store.readStream(streamId, { direction: 'backwards', limit: 1 }),
    ]);
    const version = last[0]?.version ?? 0;
    if (version === 0) return undefined;
    if (row && row.version >= version) return row.value;
    options.onFallback?.(key, row ? 'behind' : 'absent');
    const aggregate = await options.store.aggregateStream(streamId, options.evolver);
    return aggregate.exists ? options.toValue(aggregate.state, key) : undefined;
  };
}
