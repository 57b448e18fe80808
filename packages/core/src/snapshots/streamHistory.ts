import type { Evolver } from '../domain/decider.js';
import { ValidationError } from '../domain/errors.js';
import type { DomainEvent, RecordedEvent } from '../domain/event.js';
import { StreamTruncatedError } from '../domain/streamLifecycleErrors.js';
import type { StreamOperations } from '../eventStore/eventStore.js';
import { loadAggregate } from './loadAggregate.js';
import type { SnapshotOptions } from './snapshotOptions.js';

export interface StreamHistoryOptions<State> {
  /** The window's start (exclusive): the history starts from the state as of this instant. */
  from: Date;
  /** The window's end (inclusive). */
  to: Date;
  /** Start from the latest valid snapshot at or before `from`. */
  snapshots?: SnapshotOptions<State>;
}

/** One event of the window and the stream's state right after it. */
export interface HistoryEntry<State> {
  event: RecordedEvent;
  state: State;
}

const pageSize = 1000;

function checkInstant(value: unknown, field: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw new ValidationError(`${field} must be a valid Date`, { field });
  return value;
}

/**
 * The history of a stream between two instants: each event recorded after `from` and at or
 * before `to`, with the state after it. The fold starts from the state as of `from`
 * (loadAggregate, so from a snapshot when one lies before it) and reads the window with
 * readStream, in pages, through the store's read stages (upcasters included). For the state
 * before the first entry, call `loadAggregate(store, streamId, evolver, { asOf: from })`.
 */
export async function* streamHistory<Event extends DomainEvent, State>(
  store: StreamOperations,
  streamId: string,
  evolver: Evolver<Event, State>,
  options: StreamHistoryOptions<State>,
): AsyncGenerator<HistoryEntry<State>> {
  const from = checkInstant(options?.from, 'from');
  const to = checkInstant(options?.to, 'to').getTime();
  if (from.getTime() > to) throw new ValidationError('from must not be after to', { field: 'from' });
  const start = await loadAggregate(store, streamId, evolver, {
    asOf: from,
    ...(options.snapshots !== undefined && { snapshots: options.snapshots }),
  });
  let { state, version } = start;
  for (;;) {
    const page = await store.readStream(streamId, { from: version + 1, limit: pageSize });
    if (page.length === 0) return;
    if ((page[0] as RecordedEvent).version !== version + 1) throw new StreamTruncatedError(streamId, (page[0] as RecordedEvent).version);
    for (const event of page) {
      // Like asOf, the window ends at the first event recorded after it (a clock may step back).
      if (event.recordedAt.getTime() > to) return;
      state = evolver.evolve(state, event as unknown as Event);
      version = event.version;
      yield { event, state };
    }
    if (page.length < pageSize) return;
  }
}
