import type { RecordedEvent } from '../domain/event.js';
import { encodeSnapshotState } from './snapshotCodec.js';
import { type ResolvedSnapshotOptions, resolveSnapshotOptions, type SnapshotOptions } from './snapshotOptions.js';
import type { SnapshotStore } from './snapshotStore.js';

/** The event a state was folded up to: where the snapshot stands. */
export type SnapshotPoint = Pick<RecordedEvent, 'version' | 'position' | 'recordedAt'>;

/** Snapshots being written, per snapshot store and stream: at most one each. */
const inFlight = new WeakMap<SnapshotStore, Map<string, Promise<void>>>();

/**
 * Stores a snapshot of `state` (folded up to the event `at`) now, and resolves once it is
 * stored. Errors reach the caller: for a snapshot an operator takes before archiving, say.
 */
export async function takeSnapshot<State>(
  options: SnapshotOptions<State>,
  streamId: string,
  state: State,
  at: SnapshotPoint,
): Promise<void> {
  const policy = resolveSnapshotOptions(options);
  await policy.store.save({
    streamId,
    name: policy.name,
    streamVersion: at.version,
    position: at.position,
    recordedAt: at.recordedAt,
    schemaVersion: policy.version,
    payload: encodeSnapshotState(state, policy.serializer),
  });
}

/**
 * Takes a snapshot off the caller's path: serialising, compressing and storing run after the
 * current I/O turn, nobody awaits them, a failure goes to `onError`. While one is being written
 * for a stream, further requests for it are dropped (the next multiple of `every` takes the
 * next one), so a busy stream never queues snapshots.
 */
export function takeSnapshotInBackground<State>(
  policy: ResolvedSnapshotOptions<State>,
  streamId: string,
  state: State,
  at: SnapshotPoint,
): void {
  let writing = inFlight.get(policy.store);
  if (writing === undefined) {
    writing = new Map();
    inFlight.set(policy.store, writing);
  }
  const key = `${policy.name}\u0000${streamId}`;
  if (writing.has(key)) return;
  const streams = writing;
  const done = new Promise<void>((resolve) => setImmediate(resolve))
    .then(() => takeSnapshot(policy, streamId, state, at))
    .catch((error: unknown) => {
      try {
        policy.onError(error, { streamId, name: policy.name, reason: 'save_failed', streamVersion: at.version });
      } catch {
        // A throwing reporter must not become an unhandled rejection nobody awaits.
      }
    })
    .finally(() => streams.delete(key));
  streams.set(key, done);
}

/** Resolves once every background snapshot started so far on this store has settled: before closing it, say. */
export async function snapshotsSettled(store: SnapshotStore): Promise<void> {
  const writing = inFlight.get(store);
  if (writing !== undefined) await Promise.all([...writing.values()]);
}
