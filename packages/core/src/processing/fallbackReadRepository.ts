import type { Evolver } from '../domain/decider.js';
import type { DomainEvent } from '../domain/event.js';
import type { AggregateResult, StreamOperations } from '../eventStore/eventStore.js';
import { assertStorablePosition } from '../eventStore/position.js';
import { assertTimeoutMs } from './assertTimeoutMs.js';

export interface FallbackReadRepositoryOptions<View, State> {
  /** Where the fallback folds from: the store (or a transaction). */
  store: StreamOperations;
  /** The decider (or just its evolve/initialState) of the aggregate behind the view. */
  evolver: Evolver<DomainEvent, State>;
  streamId(id: string): string;
  /** Reads the view from the read model; undefined when the row is missing. */
  query(id: string): Promise<View | undefined>;
  /** Builds the same view from the folded state; undefined when the aggregate does not exist. */
  fromState(id: string, aggregate: AggregateResult<State>): View | undefined;
  /** Waits for the read model to reach a position (a projector's waitForPosition); true when it did. */
  waitForPosition(position: bigint, timeoutMs: number): Promise<boolean>;
  /** How long to wait for the read model before falling back. Default 1000 ms. */
  timeoutMs?: number;
}

export interface FallbackRead<View> {
  view: View | undefined;
  /** Where the answer came from: the read model, or a fold of the events (the write side). */
  source: 'read-model' | 'events';
}

export interface FallbackReadRepository<View> {
  /**
   * The view of `id`. With `minPosition` (the position a command returned), it is the view as of
   * at least that write: from the read model when it catches up within the timeout, otherwise
   * folded from the events. A missing row is also answered from the events. A `minPosition` no
   * store can hold (anything but a bigint from 0n to 2n ** 63n - 1n) is a ValidationError.
   */
  get(id: string, options?: { minPosition?: bigint }): Promise<FallbackRead<View>>;
}

/**
 * The fallback read repository of seed 001: query the read model, and when it is behind the
 * caller's own write (after a bounded wait) or has no row, rebuild the answer from the events
 * with the aggregate's evolver — the write side is always up to date.
 */
export function createFallbackReadRepository<View, State>(
  options: FallbackReadRepositoryOptions<View, State>,
): FallbackReadRepository<View> {
  const timeoutMs = options.timeoutMs ?? 1000;
  assertTimeoutMs(timeoutMs, 'timeoutMs');
  const fromEvents = async (id: string): Promise<FallbackRead<View>> => {
    const aggregate = await options.store.aggregateStream(options.streamId(id), options.evolver);
    return { view: aggregate.exists ? options.fromState(id, aggregate) : undefined, source: 'events' };
  };
  return {
    async get(id, getOptions) {
      const minPosition = getOptions?.minPosition === undefined ? 0n : getOptions.minPosition;
      // Before the wait: a position past any store's would just run out the timeout, then fold.
      assertStorablePosition(minPosition, 'minPosition');
      if (minPosition > 0n && !(await options.waitForPosition(minPosition, timeoutMs))) return fromEvents(id);
      const view = await options.query(id);
      if (view !== undefined) return { view, source: 'read-model' };
      return fromEvents(id);
    },
  };
}
