import type { Evolver } from '../domain/decider.js';
import type { DomainEvent } from '../domain/event.js';
import type { StreamOperations } from '../eventStore/eventStore.js';

export interface StateCacheOptions {
  /** Streams whose state is kept; the least recently used is dropped past it. Default 10,000. */
  maxStreams?: number;
}

/** A stream's state as of a committed version. */
export interface CachedState<State> {
  state: State;
  version: number;
}

/**
 * Decider states kept in memory between commands (handleCommand's `cache` option), so that a
 * command on a busy stream does not fold the whole stream again: without it the cost of every
 * command grows with the stream.
 *
 * Correct with any number of writers and processes: the cache is only a starting point. A
 * command decides on the cached state and appends with the cached version as its expected
 * version, so when another writer has moved the stream on the append conflicts and the command
 * runs again on the stream's tail read after the cached version — a stale entry costs one more
 * round, never a wrong decision. A rejection or an empty decision is only answered once a read
 * of the tail has shown the state it was made on to be current. Only committed state is stored:
 * loads through a transaction bypass the cache, and an entry advances only after the append
 * resolved.
 *
 * Commands on one stream through one cache take turns (`exclusive`): in a single process they
 * would otherwise conflict with each other, and each conflict costs a wasted append and a reload.
 *
 * States are shared between the cache and the callers: `evolve` must return new state rather than
 * mutate the one it is given (the decider contract), and callers must not mutate the state a
 * command returns.
 */
export interface StateCache {
  /** The cached state of a stream for this store and decider, if any. */
  get<State>(store: StreamOperations, evolver: Evolver<never, State>, streamId: string): CachedState<State> | undefined;
  set<State>(store: StreamOperations, evolver: Evolver<never, State>, streamId: string, entry: CachedState<State>): void;
  delete(store: StreamOperations, evolver: Evolver<never, unknown>, streamId: string): void;
  /** Runs `work` once every earlier `exclusive` call for the same stream has settled. */
  exclusive<T>(store: StreamOperations, evolver: Evolver<never, unknown>, streamId: string, work: () => Promise<T>): Promise<T>;
  /**
   * Drops every cached state of these streams, whatever the store or decider: states hold
   * decrypted personal data, so a crypto-shredding `onForgotten` listener evicts the forgotten
   * subject's streams here (`({ streamIds }) => cache.deleteStreams(streamIds)`).
   */
  deleteStreams(streamIds: readonly string[]): void;
  clear(): void;
  readonly size: number;
}

export function createStateCache(options: StateCacheOptions = {}): StateCache {
  const maxStreams = options.maxStreams ?? 10_000;
  if (!Number.isSafeInteger(maxStreams) || maxStreams < 1) throw new RangeError('maxStreams must be a whole number ≥ 1');
  // Map keeps insertion order: re-inserting on every hit makes the first key the least recently used.
  const entries = new Map<string, CachedState<unknown>>();
  /** Per stream, the settling of the last command queued on it; removed when the queue drains. */
  const turns = new Map<string, Promise<unknown>>();
  // Stores and deciders are told apart by identity; a number per object keeps the key a string.
  const ids = new WeakMap<object, number>();
  let nextId = 0;
  const idOf = (value: object): number => {
    let id = ids.get(value);
    if (id === undefined) {
      id = nextId++;
      ids.set(value, id);
    }
    return id;
  };
  const keyOf = (store: object, evolver: object, streamId: string) => `${idOf(store)}:${idOf(evolver)}:${streamId}`;

  return {
    get<State>(store: StreamOperations, evolver: Evolver<never, State>, streamId: string) {
      const key = keyOf(store, evolver, streamId);
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      entries.delete(key);
      entries.set(key, entry);
      return entry as CachedState<State>;
    },
    set(store, evolver, streamId, entry) {
      const key = keyOf(store, evolver, streamId);
      const current = entries.get(key);
      // Two commands may finish out of order: never step an entry back to an older version.
      if (current !== undefined && current.version > entry.version) return;
      entries.delete(key);
      entries.set(key, entry);
      if (entries.size > maxStreams) entries.delete(entries.keys().next().value as string);
    },
    delete(store, evolver, streamId) {
      entries.delete(keyOf(store, evolver, streamId));
    },
    exclusive(store, evolver, streamId, work) {
      const key = keyOf(store, evolver, streamId);
      const run = (turns.get(key) ?? Promise.resolve()).then(work);
      const settled = run.then(
        () => undefined,
        () => undefined,
      );
      turns.set(key, settled);
      void settled.then(() => {
        if (turns.get(key) === settled) turns.delete(key);
      });
      return run;
    },
    deleteStreams(streamIds) {
      const streams = new Set(streamIds);
      for (const key of [...entries.keys()]) {
        // keyOf's `store:evolver:` prefix ends at the second ':'; the stream id may hold more.
        if (streams.has(key.slice(key.indexOf(':', key.indexOf(':') + 1) + 1))) entries.delete(key);
      }
    },
    clear() {
      entries.clear();
    },
    get size() {
      return entries.size;
    },
  };
}

/**
 * A stream's current state through the cache: the cached state (or the initial one) plus the
 * events written after it.
 */
export async function loadThroughCache<Event extends DomainEvent, State>(
  cache: StateCache,
  store: StreamOperations,
  evolver: Evolver<Event, State>,
  streamId: string,
  /** How a miss loads the state: the whole stream by default, loadAggregate with snapshots say. */
  loadMissing: () => Promise<CachedState<State>> = () => store.aggregateStream(streamId, evolver),
): Promise<CachedState<State>> {
  const cached = cache.get(store, evolver, streamId);
  if (cached === undefined) {
    const { state, version } = await loadMissing();
    if (version > 0) cache.set(store, evolver, streamId, { state, version });
    return { state, version };
  }
  const tail = await store.readStream(streamId, { from: cached.version + 1 });
  if (tail.length === 0) return cached;
  // Versions are contiguous; should the tail not continue the entry, trust the stream, not the cache.
  if (tail[0]!.version !== cached.version + 1) {
    cache.delete(store, evolver, streamId);
    return loadThroughCache(cache, store, evolver, streamId, loadMissing);
  }
  let { state, version } = cached;
  for (const event of tail) {
    state = evolver.evolve(state, event as unknown as Event);
    version = event.version;
  }
  const loaded = { state, version };
  cache.set(store, evolver, streamId, loaded);
  return loaded;
}
