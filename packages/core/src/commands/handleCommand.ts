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
import type { ExpectedVersion } from '../eventStore/expectedVersion.js';
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

export interface HandleCommandOptions {
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
   * reads only the events written since, instead of folding the whole stream. Not used inside
   * a transaction, which may still roll back.
   */
  cache?: StateCache;
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
  options: HandleCommandOptions = {},
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
  options: HandleCommandOptions,
): Promise<CommandResult<State>> {
  const metadata = eventMetadata(options.metadata);
  const cache = isTransaction(store) ? undefined : options.cache;
  const once = async (): Promise<CommandResult<State>> => {
    const { state, version } = cache
      ? await loadThroughCache(cache, store, decider, streamId)
      : await store.aggregateStream(streamId, decider);
    const decided = decider.decide(command, state);
    if (decided.length === 0) return { state, events: [], nextExpectedVersion: version, position: 0n };
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
    return {
      state: next,
      events: result.events,
      nextExpectedVersion: result.nextExpectedVersion,
      position: result.position,
    };
  };
  if (isTransaction(store)) return once();
  // With the caller's expectedVersion a conflict is the caller's answer (409), not ours to retry.
  const retryable = options.expectedVersion === undefined ? isRetryableFailure : isTransientFailure;
  return retryUnitOfWork(once, resolveRetryOptions(options.retry, { maxAttempts: Number.POSITIVE_INFINITY }), retryable);
}
