import { NotFoundError, TidemarkError, ValidationError } from './errors.js';

/**
 * The stream was soft-deleted (tombstoned): its events stay in the global log, but it can no
 * longer be appended to or read as a stream, and its name cannot be reused. HTTP 410.
 */
export class StreamDeletedError extends TidemarkError {
  readonly streamId: string;

  constructor(streamId: string) {
    super('stream_deleted', `Stream '${streamId}' was deleted`, { streamId });
    this.streamId = streamId;
  }
}

/**
 * The stream's events before `firstVersion` were archived (truncated), so its state cannot be
 * folded from its events alone: load it from a snapshot (loadAggregate with `snapshots`), or ask
 * for a version or time the remaining events and snapshots cover.
 */
export class StreamTruncatedError extends TidemarkError {
  readonly streamId: string;
  readonly firstVersion: number;

  constructor(streamId: string, firstVersion: number) {
    super(
      'stream_truncated',
      `Stream '${streamId}' keeps its events from version ${firstVersion} on: its state needs a snapshot at version ${firstVersion - 1} or later`,
      { streamId, firstVersion },
    );
    this.streamId = streamId;
    this.firstVersion = firstVersion;
  }
}

/** A lifecycle operation (tombstone, archive) named a stream that has no events. */
export class StreamNotFoundError extends NotFoundError {
  constructor(streamId: string) {
    super(`Stream '${streamId}' does not exist`, { streamId });
  }
}

/**
 * Archiving would remove events no valid snapshot covers, so the stream's state could no longer
 * be loaded. Nothing was removed.
 */
export class ArchiveNotCoveredError extends ValidationError {
  constructor(streamId: string, beforeVersion: number, snapshotVersion: number) {
    super(
      `Cannot archive '${streamId}' before version ${beforeVersion}: the latest valid snapshot is at version ${snapshotVersion}, so at most the events before version ${snapshotVersion + 1} can go`,
      { streamId, beforeVersion, snapshotVersion },
    );
  }
}
