import { ValidationError } from '../domain/errors.js';
import { StreamDeletedError, StreamNotFoundError } from '../domain/streamLifecycleErrors.js';

export interface TruncateStreamOptions {
  /** Events with a version below this one are removed; the stream keeps its later events. */
  beforeVersion: number;
}

export interface TruncateStreamResult {
  /** How many events were removed (0 when the stream was already truncated that far). */
  removed: number;
  /** The stream's first remaining version. */
  firstVersion: number;
}

/**
 * The end of a stream's life, on every adapter alike.
 *
 * - Tombstoned (soft-deleted) streams keep their events in the global log, so `readAll`,
 *   projections and rebuilds still see them, exactly as before. Every per-stream operation
 *   (`appendToStream`, `readStream`, `streamExists`, `aggregateStream`, in a transaction too)
 *   throws StreamDeletedError, and the name is never reused.
 * - Truncated (archived) streams lose their events before a version: `readAll` skips them (the
 *   rest keep their global positions), `readStream` returns the remaining ones (versions
 *   unchanged), appends continue the versions, and `aggregateStream` — which folds from the
 *   start — throws StreamTruncatedError: their state is loaded from a snapshot (loadAggregate).
 *   Use `archiveStream`, which only truncates what a valid snapshot covers.
 */
export interface StreamLifecycle {
  /**
   * Tombstones a stream. Idempotent; StreamNotFoundError for a stream without events (nothing
   * written). Appends already committed stay; any later one is refused.
   */
  tombstoneStream(streamId: string): Promise<void>;
  /**
   * Removes a stream's events before `beforeVersion` (2 ≤ beforeVersion ≤ the stream's version:
   * the last event always stays, so the stream's version remains known). The low-level half of
   * `archiveStream`, which checks a snapshot covers them first: this one does not.
   */
  truncateStream(streamId: string, options: TruncateStreamOptions): Promise<TruncateStreamResult>;
}

/** The checks every adapter runs, under its write lock, before truncating. */
export function checkTruncate(streamId: string, options: TruncateStreamOptions, current: number, deleted: boolean): number {
  const before = options?.beforeVersion;
  if (typeof before !== 'number' || !Number.isSafeInteger(before) || before < 2) {
    throw new ValidationError('beforeVersion must be a whole number ≥ 2', { field: 'beforeVersion', streamId });
  }
  if (current === 0) throw new StreamNotFoundError(streamId);
  if (deleted) throw new StreamDeletedError(streamId);
  if (before > current) {
    throw new ValidationError(`beforeVersion ${before} is past the stream's last event (version ${current}), which always stays`, {
      field: 'beforeVersion',
      streamId,
      version: current,
    });
  }
  return before;
}
