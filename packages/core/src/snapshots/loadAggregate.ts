import type { Evolver } from '../domain/decider.js';
import type { DomainEvent, RecordedEvent } from '../domain/event.js';
import { StreamTruncatedError } from '../domain/streamLifecycleErrors.js';
import { checkAggregateOptions } from '../eventStore/aggregate.js';
import type { AggregateOptions, AggregateResult, StreamOperations } from '../eventStore/eventStore.js';
import { decodeSnapshotState } from './snapshotCodec.js';
import { resolveSnapshotOptions, type SnapshotOptions } from './snapshotOptions.js';

export interface LoadAggregateOptions<State> extends AggregateOptions {
  /** Start from the latest valid snapshot at or before the target instead of the first event. */
  snapshots?: SnapshotOptions<State>;
}

export interface LoadedAggregate<State> extends AggregateResult<State> {
  /** Version of the snapshot the load started from; 0 when it folded from the first event. */
  snapshotVersion: number;
}

/** Events per readStream page while folding a snapshot's tail: memory stays bounded. */
const tailPageSize = 1000;

/**
 * A stream's state, as of now or as of `upToVersion` / `asOf` — the one public way to load
 * state with snapshots. The store's own `aggregateStream` stays snapshot-free (it folds from
 * the first event, in the adapter's fastest way); this loader starts instead from the latest
 * snapshot at or before the target whose schema version is current, and folds the events after
 * it (read with readStream, so through every read stage of the store, upcasters included).
 *
 * A snapshot that cannot be used (unreadable bytes, another schema version, a failing snapshot
 * store) is reported to the options' `onError` and the state is folded from the events: never
 * an error to the caller. A truncated (archived) stream with no usable snapshot at or after its
 * first remaining version throws StreamTruncatedError; a deleted one, StreamDeletedError.
 */
export async function loadAggregate<Event extends DomainEvent, State>(
  store: StreamOperations,
  streamId: string,
  evolver: Evolver<Event, State>,
  options: LoadAggregateOptions<State> = {},
): Promise<LoadedAggregate<State>> {
  checkAggregateOptions(options);
  const { snapshots, upToVersion, asOf } = options;
  const temporal: AggregateOptions = {
    ...(upToVersion !== undefined && { upToVersion }),
    ...(asOf !== undefined && { asOf }),
  };
  if (snapshots === undefined) return { ...(await store.aggregateStream(streamId, evolver, temporal)), snapshotVersion: 0 };
  const policy = resolveSnapshotOptions(snapshots);
  const start = await latestUsableSnapshot(streamId, policy, temporal);
  if (start === undefined) return { ...(await store.aggregateStream(streamId, evolver, temporal)), snapshotVersion: 0 };
  const folded = await foldTail(store, streamId, evolver, start, temporal);
  return { ...folded, snapshotVersion: start.version };
}

interface Start<State> {
  state: State;
  version: number;
}

async function latestUsableSnapshot<State>(
  streamId: string,
  policy: ReturnType<typeof resolveSnapshotOptions<State>>,
  temporal: AggregateOptions,
): Promise<Start<State> | undefined> {
  const problem = { streamId, name: policy.name };
  let snapshot: Awaited<ReturnType<typeof policy.store.load>>;
  try {
    snapshot = await policy.store.load(streamId, policy.name, {
      ...(temporal.upToVersion !== undefined && { maxVersion: temporal.upToVersion }),
      ...(temporal.asOf !== undefined && { asOf: temporal.asOf }),
    });
  } catch (error) {
    policy.onError(error, { ...problem, reason: 'load_failed' });
    return undefined;
  }
  if (snapshot === undefined) return undefined;
  if (snapshot.schemaVersion !== policy.version) {
    const error = new Error(`snapshot schema version ${snapshot.schemaVersion} is not the current ${policy.version}`);
    policy.onError(error, { ...problem, reason: 'stale', streamVersion: snapshot.streamVersion });
    return undefined;
  }
  try {
    return { state: decodeSnapshotState(snapshot.payload, policy.serializer), version: snapshot.streamVersion };
  } catch (error) {
    policy.onError(error, { ...problem, reason: 'unreadable', streamVersion: snapshot.streamVersion });
    return undefined;
  }
}

/** The snapshot's state plus the events after it, up to the temporal bounds (foldEvents' rules). */
async function foldTail<Event extends DomainEvent, State>(
  store: StreamOperations,
  streamId: string,
  evolver: Evolver<Event, State>,
  start: Start<State>,
  temporal: AggregateOptions,
): Promise<AggregateResult<State>> {
  const upTo = temporal.upToVersion ?? Number.MAX_SAFE_INTEGER;
  const asOf = temporal.asOf?.getTime() ?? Number.POSITIVE_INFINITY;
  let { state, version } = start;
  // At least one read, even when the snapshot is the target: it is the read that says whether
  // the stream was deleted since.
  do {
    const page: RecordedEvent[] = await store.readStream(streamId, {
      from: version + 1,
      ...(upTo !== Number.MAX_SAFE_INTEGER && { to: upTo }),
      limit: tailPageSize,
    });
    if (page.length === 0) break;
    // Archived events between the snapshot and the rest: this snapshot cannot reach the target.
    if ((page[0] as RecordedEvent).version !== version + 1) throw new StreamTruncatedError(streamId, (page[0] as RecordedEvent).version);
    for (const event of page) {
      if (event.recordedAt.getTime() > asOf) return { state, version, exists: version > 0 };
      state = evolver.evolve(state, event as unknown as Event);
      version = event.version;
    }
    if (page.length < tailPageSize) break;
  } while (version < upTo);
  return { state, version, exists: version > 0 };
}
