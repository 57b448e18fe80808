import type { TransactionOptions } from '../concurrency/retryUnitOfWork.js';
import type { Clock } from '../domain/clock.js';
import type { Evolver } from '../domain/decider.js';
import type { DomainEvent, NewEvent, RecordedEvent } from '../domain/event.js';
import type { EventSchemaStore } from '../versioning/eventSchemaStore.js';
import type { ExpectedVersion } from './expectedVersion.js';
import type { StreamLifecycle } from './streamLifecycle.js';

export interface AppendOptions {
  expectedVersion?: ExpectedVersion;
}

export interface AppendResult {
  streamId: string;
  /**
   * The stream's version after the append: pass it as the next expectedVersion. For an
   * idempotent retry, the version of the batch's last event as stored, even when the stream
   * has moved on since (see {@link StreamOperations.appendToStream}).
   */
  nextExpectedVersion: number;
  /** Global position of the last event of this append (for a retry: of that event as stored). */
  position: bigint;
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
  after?: bigint;
  /** Only these event types. */
  types?: readonly string[];
  /** Only streams of these categories (stream id prefix before the first '-'). */
  categories?: readonly string[];
  /** Stop after this many events. */
  limit?: number;
  /** Rows fetched per round trip; memory stays proportional to it. */
  batchSize?: number;
  /** See HeadPositionOptions. Default true. */
  readYourWrites?: boolean;
}

export interface ReadPageOptions {
  /** Exclusive global position to start after (a checkpoint). Default 0: the beginning. */
  after?: bigint;
  /** Only these event types. */
  types?: readonly string[];
  /** Only streams of these categories. */
  categories?: readonly string[];
  /** Most stored events the page reads (an upcaster that splits or drops events changes how many come out). */
  limit: number;
  /** See HeadPositionOptions. Default true. */
  readYourWrites?: boolean;
}

/** One page of the log with the head it was read against: what a tailing reader needs per read. */
export interface LogPage {
  /** The matching events after `after` in global order, through the read stages. */
  events: RecordedEvent[];
  /** Every event at or below this position was readable when the page was read; at least the last event's position. */
  head: bigint;
  /**
   * True when the page read fewer stored events than `limit`: no matching event lies between
   * the page and `head`. Counted before the read stages, which may split or drop events: only
   * the store knows.
   */
  reachedHead: boolean;
  /**
   * The page covers every matching event up to this position: `head` when it reached it, else
   * the last stored event it read (whose events an upcaster may have dropped). What a reader
   * saves as its checkpoint.
   */
  seenUpTo: bigint;
}

export interface HeadPositionOptions {
  /**
   * Include this store instance's own commits (default true). Where committed events can be
   * unreadable for a moment (PostgreSQL: a transaction open elsewhere holds the readable horizon
   * back), the store waits, bounded, until what it committed itself is readable, so that a
   * caller reads its own appends. A follower that is woken again when more becomes readable (a
   * subscription) passes false: under a steady stream of its own process's commits that wait
   * would come back on nearly every read. Stores whose commits are readable at once ignore it.
   */
  readYourWrites?: boolean;
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
  /**
   * Appends events to a stream, all or nothing.
   *
   * Idempotency: events with caller-supplied ids make a retried append safe. When ALL of a
   * batch's ids are already stored, in this stream, at consecutive versions in batch order,
   * the batch is a retry: nothing is written (`written: false`, no expected-version check, no
   * hooks) and the result reports the version and position of the batch's LAST event as
   * stored — for a retry of the first part `[a]` of an original `[a, b]`, those of `a`, not
   * the stream's head. A retry must repeat the events exactly: the same type, schema version,
   * data (compared as its JSON text) and metadata (compared as JSON values, leaving out
   * `traceparent` and keys whose value is the store's own `defaultMetadata`, which may change between a crash and the
   * retry); any difference is `IdempotencyConflictError` naming the event and the field, and
   * nothing is written. So a retrying caller reuses its correlation and causation ids rather
   * than generating fresh ones per attempt. Any other reuse of a stored id (another stream,
   * another order, a batch mixing stored and new ids) is `DuplicateEventIdError`.
   */
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
  /** The store's clock: participants stamp their rows with it, never with `new Date()`. */
  readonly clock: Clock;
  /**
   * Run after a successful commit (wake readers, publish notifications); never on rollback, nor
   * when the commit's outcome is unknown. A callback that throws or rejects is reported to the
   * store's `onError` and changes nothing: the transaction still resolves, later callbacks and
   * the readers' wake-up still run.
   */
  afterCommit(callback: () => void): void;
  /** Run after a rollback: in-memory participants undo their staged changes here. */
  afterRollback(callback: () => void): void;
}

/**
 * Runs inside the append's transaction with the events just stored: the hook for inline
 * projections and other writes that must commit atomically with the events.
 */
export type AppendHook<Tx extends StoreTransaction> = (events: readonly RecordedEvent[], tx: Tx) => void | Promise<void>;

export interface EventStore<Tx extends StoreTransaction = StoreTransaction> extends StreamOperations, StreamLifecycle {
  /** The whole log in global order, fetched in batches: memory stays constant however long it is. */
  readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent>;
  /** Position of the last event a reader can see now (0n for an empty store). */
  headPosition(options?: HeadPositionOptions): Promise<bigint>;
  /**
   * The head and one page of `readAll` read together — on PostgreSQL in one statement, one
   * snapshot, one round trip instead of two. Optional: `subscribe` falls back to `headPosition`
   * then `readAll` for a store without it.
   */
  readPage?(options: ReadPageOptions): Promise<LogPage>;
  /**
   * Runs `work` in one transaction: committed when it resolves, rolled back when it throws.
   * Appends `work` left running are awaited first, as if it had awaited them: one that then
   * fails rolls the transaction back and rejects it with that failure. Inside `work` (and the
   * append hooks it triggers) use `tx`: calling the store's own
   * `appendToStream` or `transaction` there rejects at once with NestedStoreCallError, on every
   * adapter — on a store with one writer it would wait forever for the transaction calling it,
   * elsewhere it would run outside the unit of work. The store's reads stay allowed and see what
   * is committed (not the transaction's own appends), except on a SQLite ':memory:' database,
   * whose one connection cannot read outside the open transaction: NestedStoreCallError there too.
   * With `{ retry }` the transaction is the retry boundary: on a retryable failure (a
   * ConcurrencyError, a serialization failure or deadlock, a connection lost before COMMIT)
   * the whole `work` runs again in a fresh transaction, with jittered backoff, until the
   * budget runs out (RetriesExhaustedError). `work` must therefore redo its reads.
   */
  transaction<T>(work: (tx: Tx) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * Calls `listener` after events may have become readable (after a local commit, or a
   * database notification from another process). A hint for tailing readers so they need not
   * busy-poll; it may fire spuriously, and readers still poll at a bounded interval because a
   * notification can be lost. Returns the unsubscribe function.
   */
  onAppended(listener: () => void): () => void;
  /**
   * The bound the store's operator set for how long a caught-up reader waits without a
   * notification (PostgreSQL's `pollIntervalMs` option: notifications from other processes can
   * be lost while the LISTEN connection reconnects, or never arrive behind a pooler).
   * `subscribe`, projectors and outbox relays use it when not given their own. Undefined: each
   * keeps its own default.
   */
  readonly pollIntervalMs?: number | undefined;
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
  /** The schema registry kept with the events (a table of the store's migrations): see EventRegistry.registerWith. */
  readonly eventSchemas?: EventSchemaStore;
  /**
   * Closes the store once every call accepted before it has settled: appends (their write stages
   * included) commit and answer, transactions finish with their retries, reads under way answer.
   * Calls made once close() has begun reject with a ValidationError ('The event store is closed').
   * Idempotent: a second call returns the first's promise.
   */
  close(): Promise<void>;
}
