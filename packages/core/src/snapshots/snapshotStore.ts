/**
 * A stream's folded state at one version, as stored: compressed bytes the store never looks into,
 * tagged so a loader can tell where it stands and whether it can still read it.
 */
export interface Snapshot {
  streamId: string;
  /** Which state of the stream: several evolvers may fold the same stream. */
  name: string;
  /** Version of the last event folded into the state. */
  streamVersion: number;
  /** Global position and record time of that event: `asOf` queries pick snapshots by time. */
  position: bigint;
  recordedAt: Date;
  /**
   * The application's snapshot schema version: bumped whenever `evolve` or the state's shape
   * changes, so that snapshots folded by the old code are no longer used.
   */
  schemaVersion: number;
  /** The serialised state, compressed (see snapshotCodec.ts). */
  payload: Uint8Array;
}

export interface SnapshotQuery {
  /** Only snapshots at or before this stream version. */
  maxVersion?: number;
  /** Only snapshots whose last event was recorded at or before this instant. */
  asOf?: Date;
}

/**
 * Where snapshots live: in-memory, SQLite and PostgreSQL adapters run one contract
 * (snapshotStoreContract). The store keeps every snapshot it is given, so that a temporal load
 * finds the latest one before its target; it does not interpret payloads, loaders do
 * (loadAggregate), and treat anything unreadable as absent.
 */
export interface SnapshotStore {
  /** Stores a snapshot; one already stored for the same stream, name and version is replaced. */
  save(snapshot: Snapshot): Promise<void>;
  /** The latest snapshot of the stream under `name` that satisfies the query, if any. */
  load(streamId: string, name: string, query?: SnapshotQuery): Promise<Snapshot | undefined>;
  /**
   * Erases every snapshot of the stream, under every name: a forgotten data subject's state must
   * not survive in them. Loads fall back to the events afterwards.
   */
  deleteStream(streamId: string): Promise<void>;
}
