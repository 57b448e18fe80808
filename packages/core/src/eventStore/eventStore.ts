import type { Evolver } from '../domain/decider.js';
import type { DomainEvent, NewEvent, RecordedEvent } from '../domain/event.js';
import type { ExpectedVersion } from './expectedVersion.js';

export interface AppendOptions {
  expectedVersion?: ExpectedVersion;
}

export interface AppendResult {
  streamId: string;
  /** The stream's version after the append: pass it as the next expectedVersion. */
  nextExpectedVersion: number;
  /** Global position of the last event of this append (of its original append for a retry). */
  position: number;
  /** False when every event id was already stored by an identical earlier append (idempotent retry). */
  written: boolean;
  /** The events as stored by this append (empty for an idempotent retry). */
  events: RecordedEvent[];
}

export interface ReadStreamOptions {
  /** First version to return (inclusive). Forwards: default 1; backwards: default the last. */
  from?: number;
  /** Last version to return (inclusive); bounds the read in the direction of travel. */
  to?: number;
  direction?: 'forwards' | 'backwards';
  limit?: number;
}

export interface ReadAllOptions {
  /** Exclusive global position to start after (a checkpoint). Default 0: the beginning. */
  after?: number;
  /** Only these event types. */
  types?: readonly string[];
  /** Only streams of these categories (stream id prefix before the first '-'). */
  categories?: readonly string[];
  /** Stop after this many events. */
  limit?: number;
  /** Rows fetched per round trip; memory stays proportional to it. */
  batchSize?: number;
}

export interface AggregateOptions {
  /** Fold only up to this version (inclusive): the state as of a version. */
  upToVersion?: number;
  /** Fold only events recorded at or before this instant: the state as of a time. */
  asOf?: Date;
}

export interface AggregateResult<State> {
  state: State;
  /** Version of the last event folded (0 when none). */
  version: number;
  /** Whether any event was folded. */
  exists: boolean;
}

/** Operations on streams, available on the store and inside a transaction. */
export interface StreamOperations {
  appendToStream(streamId: string, events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult>;
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  streamExists(streamId: string): Promise<boolean>;
  aggregateStream<Event extends DomainEvent, State>(
    streamId: string,
    evolver: Evolver<Event, State>,
    options?: AggregateOptions,
  ): Promise<AggregateResult<State>>;
}

/**
 * The unit of work. Appends made through it, and any adapter-specific writes (read models,
 * outbox rows, inbox records, checkpoints, saga state) commit or roll back together.
 */
export interface StoreTransaction extends StreamOperations {
  /** Run after a successful commit (wake readers, publish notifications); never on rollback. */
  afterCommit(callback: () => void): void;
  /** Run after a rollback: in-memory participants undo their staged changes here. */
  afterRollback(callback: () => void): void;
}

/**
 * Runs inside the append's transaction with the events just stored: the hook for inline
 * projections and other writes that must commit atomically with the events.
 */
export type AppendHook<Tx extends StoreTransaction> = (events: readonly RecordedEvent[], tx: Tx) => void | Promise<void>;

export interface EventStore<Tx extends StoreTransaction = StoreTransaction> extends StreamOperations {
  /** The whole log in global order, fetched in batches: memory stays constant however long it is. */
  readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent>;
  /** Position of the last event a reader can see now (0 for an empty store). */
  headPosition(): Promise<number>;
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * Calls `listener` after events may have become readable (after a local commit, or a
   * database notification from another process). A hint for tailing readers so they need not
   * busy-poll; it may fire spuriously, and readers still poll at a bounded interval because a
   * notification can be lost. Returns the unsubscribe function.
   */
  onAppended(listener: () => void): () => void;
  /** Registers a hook that runs inside every append's transaction. */
  addAppendHook(hook: AppendHook<Tx>): void;
  /**
   * Whether `error` (thrown by this store, or by SQL run in one of its transactions) is the
   * infrastructure's and worth retrying as it is: a lost connection, a deadlock, a
   * serialization failure, a lock or statement timeout, a server shutting down, a busy
   * database. Only the adapter knows its driver's errors, so the classification lives here and
   * core stays dialect-free. Projectors never count such errors against an event. Absent: none is.
   */
  isTransient?(error: unknown): boolean;
  close(): Promise<void>;
}
