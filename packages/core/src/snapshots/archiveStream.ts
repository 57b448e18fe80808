import { ValidationError } from '../domain/errors.js';
import type { RecordedEvent } from '../domain/event.js';
import { ArchiveNotCoveredError, StreamNotFoundError } from '../domain/streamLifecycleErrors.js';
import type { EventStore } from '../eventStore/eventStore.js';
import type { TruncateStreamResult } from '../eventStore/streamLifecycle.js';
import { decodeSnapshotState } from './snapshotCodec.js';
import { resolveSnapshotOptions, type SnapshotOptions } from './snapshotOptions.js';

export interface ArchiveStreamOptions {
  /** Events with a version below this one leave the store. */
  beforeVersion: number;
  /** The decider's snapshot options: a valid snapshot at beforeVersion - 1 or later must exist. */
  snapshots: SnapshotOptions<unknown>;
  /**
   * Receives the events about to leave, in pages in version order, before anything is removed
   * (write them to cold storage, say). A throw stops the archive with nothing removed.
   */
  archive?: (events: readonly RecordedEvent[]) => void | Promise<void>;
}

const pageSize = 1000;

/**
 * Archives a stream's old events: they leave the store (after `archive` saw them), the stream
 * keeps its later events and versions, every global position stays as it was. Allowed only up
 * to a version a valid snapshot covers — current schema version, readable payload — so the
 * state stays loadable through loadAggregate; otherwise ArchiveNotCoveredError and nothing
 * removed. Temporal queries before the archived point are no longer answerable from the events
 * (StreamTruncatedError) unless an older snapshot lies exactly at them.
 */
export async function archiveStream(store: EventStore, streamId: string, options: ArchiveStreamOptions): Promise<TruncateStreamResult> {
  const before = options?.beforeVersion;
  if (typeof before !== 'number' || !Number.isSafeInteger(before) || before < 2) {
    throw new ValidationError('beforeVersion must be a whole number ≥ 2', { field: 'beforeVersion', streamId });
  }
  const policy = resolveSnapshotOptions(options.snapshots);
  // Throws StreamDeletedError for a tombstoned stream.
  if (!(await store.streamExists(streamId))) throw new StreamNotFoundError(streamId);
  const snapshot = await policy.store.load(streamId, policy.name);
  let covered = 0;
  if (snapshot !== undefined && snapshot.schemaVersion === policy.version) {
    try {
      decodeSnapshotState(snapshot.payload, policy.serializer);
      covered = snapshot.streamVersion;
    } catch {
      // An unreadable snapshot covers nothing.
    }
  }
  if (covered < before - 1) throw new ArchiveNotCoveredError(streamId, before, covered);
  if (options.archive) {
    for (let from = 1; from < before; from += pageSize) {
      const page = await store.readStream(streamId, { from, to: Math.min(before - 1, from + pageSize - 1) });
      if (page.length > 0) await options.archive(page);
    }
  }
  return store.truncateStream(streamId, { beforeVersion: before });
}
