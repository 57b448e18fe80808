import type { Evolver } from '../domain/decider.js';
import { ValidationError } from '../domain/errors.js';
import type { DomainEvent, RecordedEvent } from '../domain/event.js';
import type { AggregateOptions, AggregateResult } from './eventStore.js';

/** Checks temporal-query options once, for every adapter. */
export function checkAggregateOptions(options: AggregateOptions | undefined): void {
  const upTo = options?.upToVersion;
  if (upTo !== undefined && (!Number.isSafeInteger(upTo) || upTo < 0)) {
    throw new ValidationError('upToVersion must be a whole number ≥ 0', { field: 'upToVersion' });
  }
  const asOf = options?.asOf;
  if (asOf !== undefined && (!(asOf instanceof Date) || Number.isNaN(asOf.getTime()))) {
    throw new ValidationError('asOf must be a valid Date', { field: 'asOf' });
  }
}

/** Folds a stream's events (already in version order) into state, honouring the temporal bounds. */
export function foldEvents<Event extends DomainEvent, State>(
  events: Iterable<RecordedEvent>,
  evolver: Evolver<Event, State>,
  options?: AggregateOptions,
): AggregateResult<State> {
  const upTo = options?.upToVersion ?? Number.MAX_SAFE_INTEGER;
  const asOf = options?.asOf?.getTime() ?? Number.POSITIVE_INFINITY;
  let state = evolver.initialState();
  let version = 0;
  for (const event of events) {
    if (event.version > upTo || event.recordedAt.getTime() > asOf) break;
    state = evolver.evolve(state, event as unknown as Event);
    version = event.version;
  }
  return { state, version, exists: version > 0 };
}
