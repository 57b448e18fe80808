import {
  isRetryableFailure,
  isTransientFailure,
  type RetryOptions,
  resolveRetryOptions,
  retryUnitOfWork,
} from '../concurrency/retryUnitOfWork.js';
import type { Decider } from '../domain/decider.js';
import type { DomainEvent, EventMetadata, RecordedEvent } from '../domain/event.js';
import type { StoreTransaction, StreamOperations } from '../eventStore/eventStore.js';
import { assertExpectedVersion, type ExpectedVersion, parseExpectedVersion } from '../eventStore/expectedVersion.js';
import { loadAggregate } from '../snapshots/loadAggregate.js';
import { resolveSnapshotOptions, type SnapshotOptions } from '../snapshots/snapshotOptions.js';
import { takeSnapshotInBackground } from '../snapshots/takeSnapshot.js';
import { withSpan } from '../tracing/tidemarkTracer.js';
import { loadThroughCache, type StateCache } from './stateCache.js';

/** Who asked, and why: propagated into every event the command causes. */
export interface CommandMetadata {
  /** Becomes each event's causationId (and the correlationId when none is given). */
  commandId?: string;
  correlationId?: string;
  userId?: string;
  tenantId?: string;
  traceparent?: string;
}

export interface HandleCommandOptions<State = unknown> {
  /**
   * The version the caller saw (an HTTP If-Match, say). When given, a conflict is the caller's
   * to resolve and is never retried.
   */
  expectedVersion?: ExpectedVersion;
  metadata?: CommandMetadata;
  /**
   * How long a conflict the caller did not ask for (no expectedVersion: someone else wrote the
   * stream in between) is resolved by reloading and deciding again. Bounded in time, not in
   * attempts — a busy stream needs more attempts, not an error: by default no attempt starts
   * after 5 s. When it runs out the command fails with RetriesExhaustedError (an HTTP 503 with
   * Retry-After), never with a ConcurrencyError quoting a version the caller never sent.
   * Ignored inside a transaction: there the transaction is the retry boundary.
   */
  retry?: RetryOptions;
  /**
   * Keep the stream's state in memory between commands (createStateCache): a command then
   * decides on the cached state, and reads only the events written since when the append says
   * someone else wrote, instead of folding the whole stream. Commands on one stream through one
   * cache take turns. Not used inside a transaction, which may still roll back.
   */
  cache?: StateCache;
  /**
   * Load from the latest valid snapshot instead of the first event, and snapshot the state every
   * `every` events (default 100). Snapshots are taken after the append committed, in the
   * background: the command never waits for one, a failure is reported to `onError`. With
   * `cache` too, the cache answers first and snapshots serve its misses (a new process, an
   * evicted stream).
   */
  snapshots?: SnapshotOptions<State>;
}

export interface CommandResult<State> {
  /** State after the new events. */
  state: State;
  events: RecordedEvent[];
  nextExpectedVersion: number;
  /**
   * Global position of the last event written: wait for a projection to reach it to read your
   * own write. 0 when the command decided nothing.
   */
  position: bigint;
}

function eventMetadata(metadata: CommandMetadata | undefined): EventMetadata | undefined {
  if (!metadata) return undefined;
  const { commandId, correlationId, ...rest } = metadata;
  const result: EventMetadata = { ...rest };
  if (commandId !== undefined) result.causationId = commandId;
  const correlation = correlationId ?? commandId;
  if (correlation !== undefined) result.correlationId = correlation;
  return result;
}

const isTransaction = (store: StreamOperations): store is StoreTransaction => typeof (store as StoreTransaction).afterCommit === 'function';

/**
 * Load → decide → append with the version that was loaded. Works on the store or on a
 * transaction (pass `tx` as `store` to make the command part of a larger unit of work).
 *
 * On the store, the command owns its unit of work: a conflict means someone wrote in between,
 * so the whole load → decide → append runs again (see `retry`); so does one the database aborted
 * (deadlock, lost connection). Inside a transaction it never retries: the transaction has
 * failed as a whole, and only running it again (`store.transaction(work, { retry })`) can help.
 */
export function handleCommand<Command, Event extends DomainEvent, State>(
  store: StreamOperations,
  decider: Decider<Command, Event, State>,
  streamId: string,
  command: Command,
  options: HandleCommandOptions<State> = {},
): Promise<CommandResult<State>> {
  // One span for the command, retries included: the appends it makes are its children.
  return withSpan('tidemark.command', { attributes: { 'tidemark.stream_id': String(streamId) } }, () =>
    handleUntraced(store, decider, streamId, command, options),
  );
}

async function handleUntraced<Command, Event extends DomainEvent, State>(
  store: StreamOperations,
  decider: Decider<Command, Event, State>,
  streamId: string,
  command: Command,
  options: HandleCommandOptions<State>,
): Promise<CommandResult<State>> {
  const metadata = eventMetadata(options.metadata);
  const cache = isTransaction(store) ? undefined : options.cache;
  const snapshots = options.snapshots === undefined ? undefined : resolveSnapshotOptions(options.snapshots);
  // The snapshot version a load from the store started from (undefined: the cache answered).
  let snapshotVersion: number | undefined;
  const loadFromStore = async () => {
    const loaded = await loadAggregate(store, streamId, decider, snapshots ? { snapshots } : {});
    snapshotVersion = loaded.snapshotVersion;
    return loaded;
  };
  /** The state to decide on, and whether it was read from the stream (not only taken from the cache). */
  const load = async (verified: boolean): Promise<{ state: State; version: number; verified: boolean }> => {
    if (!cache) return { ...(await loadFromStore()), verified: true };
    const cached = verified ? undefined : cache.get(store, decider, streamId);
    if (cached) return { ...cached, verified: false };
    return { ...(await loadThroughCache(cache, store, decider, streamId, loadFromStore)), verified: true };
  };
  const once = async (attempt: number): Promise<CommandResult<State>> => {
    snapshotVersion = undefined;
    // The first attempt trusts the cache: the append's expected version proves it current. With
    // the caller's own expectedVersion it would not (the append checks the caller's version, not
    // the state's), and a retry follows a conflict, which says the cache is behind.
    let { state, version, verified } = await load(attempt > 1 || options.expectedVersion !== undefined);
    let decided: Event[];
    try {
      decided = decider.decide(command, state);
    } catch (error) {
      if (verified) throw error;
      // A rejection must not come from a stale entry: decide again on the stream's tail.
      ({ state, version, verified } = await load(true));
      decided = decider.decide(command, state);
    }
    if (decided.length === 0 && !verified) {
      ({ state, version, verified } = await load(true));
      decided = decider.decide(command, state);
    }
    if (decided.length === 0) return { state, events: [], nextExpectedVersion: version, position: 0n };
    // The caller's version against the one just read: a mismatch is the append's ConcurrencyError
    // anyway, found before the append's stages do anything (a data subject's first key is one).
    // It also refuses events decided on an older state than the version the caller names.
    if (options.expectedVersion !== undefined) assertExpectedVersion(streamId, parseExpectedVersion(options.expectedVersion), version);
    const result = await store.appendToStream(
      streamId,
      decided.map((event) => ({
        type: event.type,
        data: event.data,
        ...(event.schemaVersion !== undefined && { schemaVersion: event.schemaVersion }),
        ...(metadata && { metadata }),
      })),
      { expectedVersion: options.expectedVersion ?? version },
    );
    const next = decided.reduce(decider.evolve, state);
    // Only when our events follow the loaded version directly (an `any` append may land later).
    if (cache && result.written && result.events[0]?.version === version + 1) {
      cache.set(store, decider, streamId, { state: next, version: result.nextExpectedVersion });
    }
    const last = result.events[result.events.length - 1];
    if (snapshots && last && result.written && result.events[0]?.version === version + 1) {
      const { every } = snapshots;
      // A multiple of `every` was passed, or the load replayed `every` events or more past its
      // snapshot (none yet, or a stale one): either way the next load should start later.
      const due =
        Math.floor(last.version / every) > Math.floor(version / every) ||
        (snapshotVersion !== undefined && last.version - snapshotVersion >= every);
      if (due) {
        const take = () => takeSnapshotInBackground(snapshots, streamId, next, last);
        if (isTransaction(store)) store.afterCommit(take);
        else take();
      }
    }
    return {
      state: next,
      events: result.events,
      nextExpectedVersion: result.nextExpectedVersion,
      position: result.position,
    };
  };
  if (isTransaction(store)) return once(1);
  // With the caller's expectedVersion a conflict is the caller's answer (409), not ours to retry.
  const retryable = options.expectedVersion === undefined ? isRetryableFailure : isTransientFailure;
  const run = () => retryUnitOfWork(once, resolveRetryOptions(options.retry, { maxAttempts: Number.POSITIVE_INFINITY }), retryable);
  return cache ? cache.exclusive(store, decider, streamId, run) : run();
}
