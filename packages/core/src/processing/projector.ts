import { SpanKind } from '@opentelemetry/api';
import { ValidationError } from '../domain/errors.js';
import type { RecordedEvent } from '../domain/event.js';
import type { EventStore, StoreTransaction } from '../eventStore/eventStore.js';
import { assertStorablePosition, maxPosition } from '../eventStore/position.js';
import { assertValidName } from '../eventStore/prepareAppend.js';
import { resolveDurability, type TransactionDurability } from '../eventStore/transactionDurability.js';
import { storeVisibility, type VisibilitySample, type VisibilitySource } from '../monitoring/projectionLagMonitor.js';
import { traceOrigin, withSpan } from '../tracing/tidemarkTracer.js';
import { assertTimeoutMs, maxTimeoutMs } from './assertTimeoutMs.js';
import { CheckpointConflictError, type CheckpointStore, type ProjectionFailure } from './checkpointStore.js';
import { type Lease, LeaseLostError } from './lease.js';
import { type LeaseWatch, waitForLease, watchLease } from './leaseHolding.js';
import { createPositionWaiters } from './positionWaiters.js';
import { liveTables, type Projection, projectionHandles } from './projection.js';
import { abortableDelay, backoffDelay, type RetryPolicy, resolveRetryPolicy } from './retryPolicy.js';
import { type SubscriptionBatch, subscribe } from './subscription.js';
import { watchVisibility } from './visibilitySampler.js';

/**
 * `retrying`: the infrastructure failed (connection lost, lock timeout, deadlock…) and the
 * projector is retrying with backoff, indefinitely; `lastError` and `attempts` say why and how long.
 */
export type ProjectorState = 'starting' | 'standby' | 'running' | 'retrying' | 'stopped' | 'failed';

export interface ProjectorStatus {
  name: string;
  /** Everything at or below it is in the read model. */
  checkpoint: bigint;
  /**
   * The readable head the projector last saw: `headPosition - checkpoint` bounds the lag of what
   * it can read (positions may be sparse). Where committed events can be unreadable for a while
   * (PostgreSQL: a transaction open anywhere on the server holds the readable horizon back),
   * more may be committed past it: `invisibleEvents` counts them. A projector with checkpoint ==
   * headPosition and `invisibleEvents > 0` is stalled behind the horizon, not caught up.
   */
  headPosition?: bigint;
  /**
   * Events committed but not readable yet, whatever the projection's filters (the horizon hides
   * their types too): no projector can apply them until the horizon passes them. Sampled every
   * `visibilityIntervalMs` while the projector is `running` or `retrying`, from a store that can
   * tell (PostgreSQL's `visibilityLag()`); absent on stores whose commits are readable at once
   * (SQLite, in memory), before the first sample, when the last sample failed, and in the other
   * states (standby, failed, stopped).
   */
  invisibleEvents?: number;
  /** Age in seconds of the oldest transaction holding the readable horizon back (0: none); sampled with `invisibleEvents`. */
  horizonAgeSeconds?: number;
  /** `recordedAt` of the oldest committed-but-unreadable event: now minus this is how long the stall has kept it waiting. */
  oldestInvisibleRecordedAt?: Date;
  /** `recordedAt` of the last event applied: now minus this is the lag in time. */
  lastProcessedRecordedAt?: Date;
  /** `standby`: waiting for the lease while another instance projects. */
  state: ProjectorState;
  /** The event that stopped the projector (state `failed`), as recorded beside the checkpoint. */
  error?: ProjectionFailure;
  /** The last infrastructure error (database down…), retried with backoff; cleared by the next good batch. */
  lastError?: string;
  /** Consecutive infrastructure failures while `retrying`; cleared by the next good batch. */
  attempts?: number;
  /** Events applied by this instance since start. */
  eventsProcessed: number;
  /** Events this instance parked in the dead-letter table. */
  eventsParked: number;
}

/** An infrastructure failure the projector is about to retry: for metrics and logs. */
export interface RetryInfo {
  name: string;
  /** Consecutive infrastructure failures so far (1 for the first). */
  attempts: number;
  error: unknown;
  /** Backoff before the next try. */
  delayMs: number;
}

/** What each committed batch did: for metrics (throughput, batch latency, lag). */
export interface BatchInfo {
  name: string;
  /** Events applied in this batch (filtered-out ones not counted). */
  events: number;
  parked: number;
  fromPosition: bigint;
  toPosition: bigint;
  headPosition: bigint;
  durationMs: number;
  lastRecordedAt?: Date;
}

export interface ProjectorOptions<Tx extends StoreTransaction> {
  store: EventStore<Tx>;
  projection: Projection<Tx>;
  checkpoints: CheckpointStore<Tx>;
  /** Most events per transaction. Default 100. */
  batchSize?: number;
  /** Bounded fallback when no append notification arrives. Default: the store's `pollIntervalMs`, else 1000. */
  pollIntervalMs?: number;
  /** While the log keeps moving, read at most once per this many ms (see SubscribeOptions). Default 5. */
  minReadIntervalMs?: number;
  /**
   * How often a projector whose batches hold none of its events (a filtered projection while
   * other streams are busy) writes its checkpoint past them. Such a move only spares re-reading
   * those events after a restart, and writing it on every wake-up cost a transaction per batch
   * (on SQLite, the one writer's time). The position still moves in memory at once
   * (`waitForPosition`, `status`); the stored checkpoint follows within this interval — written
   * with the next batch, or on its own once the interval is up when no batch comes — and on
   * `stop`. 0: write every move. Default 1000.
   */
  skipCheckpointIntervalMs?: number;
  /**
   * Backoff for failures. Only errors thrown by the projection's own `apply` count toward
   * `maxAttempts`; the store's transient errors (see EventStore.isTransient) and every error
   * reading events or saving the checkpoint are infrastructure, retried with this backoff
   * indefinitely in state `retrying` — a lock timeout is not a poison event.
   */
  retry?: RetryPolicy;
  /**
   * After `retry.maxAttempts` failures of one event: `stop` (default) leaves the checkpoint just
   * before it, records the error beside it and sets state `failed`; `dead-letter` parks the
   * event in the dead-letter table in the same transaction that moves the checkpoint past it.
   */
  onFailure?: 'stop' | 'dead-letter';
  /** Only the holder processes; others stand by. Every batch transaction is fenced with it. */
  lease?: Lease<Tx>;
  /** How often a standby instance retries `lease.acquire`. Default 1000. */
  leaseRetryMs?: number;
  /**
   * How often the holder renews the lease besides before each batch, so that a holder stuck on
   * a dead connection notices the loss (state `standby`) instead of staying `running`. Keep it
   * well under the lease's time to live. Default 1000.
   */
  leaseRenewMs?: number;
  /**
   * Durability of the batch transactions. 'relaxed' acknowledges a batch before it is flushed:
   * a crash of the OS (SQLite) or the server (PostgreSQL) may lose the last batches together
   * with their checkpoint, and the projector applies them again — the read model stays exact,
   * it only steps back for a moment. It saves a flush per batch: on SQLite a synchronous fsync
   * on the one writer connection that appends also need. Only for projections whose `apply`
   * writes nothing but its own tables (a relaxed transaction refuses appends). Default 'full'.
   */
  durability?: TransactionDurability;
  /**
   * Where `status()` learns of committed events the readable horizon still hides
   * (`invisibleEvents`, `horizonAgeSeconds`). Default: the store's own `visibilityLag()` when it
   * has one (PostgreSQL), else none (SQLite and in memory have no horizon). `false`: never sample.
   */
  visibility?: VisibilitySource | false;
  /**
   * How often the visibility is sampled while the projector runs: one query per interval for
   * all the projectors of a process on the same store (and source), off the batch path. Default 1000.
   */
  visibilityIntervalMs?: number;
  /** Called after every committed batch. Must not throw. */
  onBatch?: (info: BatchInfo) => void;
  /** Called before each backoff after an infrastructure failure. Must not throw. */
  onRetry?: (info: RetryInfo) => void;
}

export interface Projector {
  readonly name: string;
  /** Sets up the checkpoint and read-model tables, then projects in the background. */
  start(): Promise<void>;
  /** Stops after the transaction in flight (if any) and releases the lease. */
  stop(): Promise<void>;
  status(): ProjectorStatus;
  /**
   * Resolves true once the checkpoint is at or past `position` (e.g. a command's returned
   * position), false on timeout, and at once when the projector is failed or stopped. A
   * position no store can hold (anything but a bigint from 0n to 2n ** 63n - 1n) rejects at
   * once with a ValidationError.
   */
  waitForPosition(position: bigint, options?: { timeoutMs?: number }): Promise<boolean>;
}

/** Thrown inside the loop to end it: the projector failed on an event and must not go on. */
class Halt extends Error {}

/** What the loop hears instead of a batch when a skipped move is due to be written. */
const skipWriteDue = Symbol('skipWriteDue');

/** What the projection's own code threw (and the store does not call transient): the only failure that counts against an event. */
class HandlerFailure {
  constructor(readonly cause: unknown) {}
}

/**
 * The asynchronous projector: subscribe from the checkpoint, and for each batch commit the
 * read-model writes and the checkpoint in ONE store transaction. A crash at any point leaves
 * either both or neither, so events are neither lost nor applied twice.
 */
export function createProjector<Tx extends StoreTransaction>(options: ProjectorOptions<Tx>): Projector {
  const { store, projection, checkpoints, lease } = options;
  const name = projection.name;
  // The name keys its checkpoint row and is shown by the CLI and the dashboard: a lone surrogate
  // would be stored as U+FFFD and share another's, a NUL fails at the first batch on PostgreSQL,
  // a bidi control makes it display as another name. Refused here, before anything is written.
  assertValidName(name, 'projection.name');
  const retry = resolveRetryPolicy(options.retry);
  const onFailure = options.onFailure ?? 'stop';
  const batchTransaction = { durability: resolveDurability(options.durability) };
  if (onFailure !== 'stop' && onFailure !== 'dead-letter') throw new ValidationError(`onFailure must be 'stop' or 'dead-letter'`);
  const leaseRetryMs = options.leaseRetryMs ?? 1000;
  const leaseRenewMs = options.leaseRenewMs ?? 1000;
  if (!(leaseRenewMs > 0)) throw new ValidationError('leaseRenewMs must be > 0', { field: 'leaseRenewMs' });
  const visibility = options.visibility === false ? undefined : (options.visibility ?? storeVisibility(store));
  const visibilityIntervalMs = options.visibilityIntervalMs ?? 1000;
  if (!(visibilityIntervalMs >= 1 && visibilityIntervalMs <= maxTimeoutMs))
    throw new ValidationError(`visibilityIntervalMs must be a number of milliseconds from 1 to ${maxTimeoutMs}`, {
      field: 'visibilityIntervalMs',
    });
  const skipCheckpointIntervalMs = options.skipCheckpointIntervalMs ?? 1000;
  if (!(skipCheckpointIntervalMs >= 0))
    throw new ValidationError('skipCheckpointIntervalMs must be ≥ 0', { field: 'skipCheckpointIntervalMs' });
  /** Before a batch transaction writes: still ours? (and it cannot change hands until we commit). */
  const fence = async (tx: Tx) => {
    if (lease?.fence) await lease.fence(tx);
  };
  const waiters = createPositionWaiters();
  // A driver error wrapped by the projection (as `cause`) is still the driver's.
  const transient = (error: unknown): boolean => {
    for (let e = error, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
      if (store.isTransient?.(e)) return true;
    }
    return false;
  };

  const current: ProjectorStatus = { name, checkpoint: 0n, state: 'stopped', eventsProcessed: 0, eventsParked: 0 };
  let controller: AbortController | undefined;
  let loop: Promise<void> | undefined;
  /** Where the projection has got to: every event up to here is applied or not its own. */
  let position = 0n;
  /** The checkpoint as stored (behind `position` while a skip is not written yet), and when it was written. */
  let stored = 0n;
  let storedAt = 0;
  /**
   * While a move past skipped events is not written yet: resolves when it is due. It only wakes
   * the loop, which writes the move between two batches (see follow), never beside one.
   */
  let pendingSkip: { due: Promise<typeof skipWriteDue>; timer: ReturnType<typeof setTimeout> } | undefined;
  /** Consecutive infrastructure failures; any committed progress ends them. */
  let failures = 0;
  /** Stops sampling the readable horizon (see `visibility`). */
  let unwatchVisibility: (() => void) | undefined;

  /** Sampled while running or retrying; the figures of a projector that is neither would only go stale. */
  const watchesVisibility = () => current.state === 'running' || current.state === 'retrying';

  function sawVisibility(sample: VisibilitySample | undefined) {
    if (!sample || !watchesVisibility()) {
      forgetVisibility();
      return;
    }
    current.invisibleEvents = sample.invisibleEvents;
    current.horizonAgeSeconds = sample.oldestOpenTransactionSeconds;
    if (sample.invisibleEvents > 0 && sample.oldestInvisibleRecordedAt)
      current.oldestInvisibleRecordedAt = sample.oldestInvisibleRecordedAt;
    else delete current.oldestInvisibleRecordedAt;
  }

  function forgetVisibility() {
    delete current.invisibleEvents;
    delete current.horizonAgeSeconds;
    delete current.oldestInvisibleRecordedAt;
  }

  const setState = (state: ProjectorState) => {
    current.state = state;
    if (state === 'failed' || state === 'stopped') waiters.abandon();
    if (!watchesVisibility()) forgetVisibility();
  };

  /** Progress after infrastructure failures: back to `running`. */
  function recovered() {
    delete current.lastError;
    if (failures === 0) return;
    failures = 0;
    delete current.attempts;
    setState('running');
  }

  function advance(to: bigint, applied: RecordedEvent[], parked: number, started: number, head: bigint) {
    const from = position;
    position = to;
    current.checkpoint = to;
    current.headPosition = maxPosition(maxPosition(current.headPosition ?? 0n, head), to);
    current.eventsProcessed += applied.length;
    current.eventsParked += parked;
    const last = applied[applied.length - 1];
    if (last) current.lastProcessedRecordedAt = last.recordedAt;
    delete current.error;
    recovered();
    waiters.reached(to);
    options.onBatch?.({
      name,
      events: applied.length,
      parked,
      fromPosition: from,
      toPosition: to,
      headPosition: current.headPosition,
      durationMs: performance.now() - started,
      ...(last && { lastRecordedAt: last.recordedAt }),
    });
  }

  /** Wakes the loop to write a skipped move once the interval since the last write is up, if no batch writes it first. */
  function armSkipWrite() {
    if (pendingSkip || !Number.isFinite(skipCheckpointIntervalMs)) return;
    const delay = Math.min(Math.max(0, storedAt + skipCheckpointIntervalMs - performance.now()), maxTimeoutMs);
    let fire: () => void = () => {};
    const due = new Promise<typeof skipWriteDue>((resolve) => {
      fire = () => resolve(skipWriteDue);
    });
    const timer = setTimeout(fire, delay);
    // Cleared when the loop ends; it must not keep a process alive meanwhile either.
    timer.unref?.();
    pendingSkip = { due, timer };
  }

  function disarmSkipWrite() {
    if (!pendingSkip) return;
    clearTimeout(pendingSkip.timer);
    pendingSkip = undefined;
  }

  /** Applies `events` and moves the checkpoint to `to`, atomically. */
  function commit(events: readonly RecordedEvent[], to: bigint): Promise<void> {
    if (events.length === 0) return commitUntraced(events, to);
    // The batch continues the trace of the request that appended its events (see tracing).
    const origin = traceOrigin(events.map((event) => event.metadata.traceparent));
    const attributes = { 'tidemark.projection': name, 'tidemark.event_count': events.length, 'tidemark.position': String(to) };
    return withSpan(
      'tidemark.projector.batch',
      { kind: SpanKind.CONSUMER, links: origin.links, attributes },
      () => commitUntraced(events, to),
      origin.parent,
    );
  }

  async function commitUntraced(events: readonly RecordedEvent[], to: bigint): Promise<void> {
    const from = stored;
    await store.transaction(async (tx) => {
      await fence(tx);
      // Checkpoint first: the compare-and-set fails fast when another instance or a rebuild
      // moved it, before any read-model write, and it takes the checkpoint row's lock before the
      // tables' — the order a rebuild's swap uses too, so the two cannot deadlock.
      await checkpoints.save(name, from, to, tx);
      if (events.length === 0) return;
      try {
        await withSpan('tidemark.projection.apply', { attributes: { 'tidemark.projection': name } }, () =>
          projection.apply(events, tx, liveTables),
        );
      } catch (error) {
        throw transient(error) ? error : new HandlerFailure(error);
      }
    }, batchTransaction);
    stored = to;
    storedAt = performance.now();
    disarmSkipWrite();
  }

  async function processBatch(batch: SubscriptionBatch, signal: AbortSignal): Promise<void> {
    const started = performance.now();
    const handled = batch.events.filter((event) => projectionHandles(projection, event));
    if (handled.length === 0) {
      // An empty "caught up" batch moves nothing: no transaction for it.
      if (batch.checkpoint === position) return;
      // Only skipped events: the move is written at most once per interval (see skipCheckpointIntervalMs).
      if (started - storedAt < skipCheckpointIntervalMs) {
        advance(batch.checkpoint, handled, 0, started, batch.headPosition);
        armSkipWrite();
        return;
      }
    }
    try {
      await commit(handled, batch.checkpoint);
      advance(batch.checkpoint, handled, 0, started, batch.headPosition);
      return;
    } catch (error) {
      // Only the projection's own failure is worth isolating; anything else goes to run(),
      // which retries from the checkpoint with backoff.
      if (!(error instanceof HandlerFailure)) throw error;
    }
    // The batch failed: go one event at a time to find the culprit, so that the events before
    // it commit and the failure is pinned to one position.
    for (const event of handled) {
      for (let attempt = 1; ; attempt++) {
        const eventStarted = performance.now();
        try {
          await commit([event], event.position);
          advance(event.position, [event], 0, eventStarted, batch.headPosition);
          break;
        } catch (error) {
          // Infrastructure (and a conflict): not this event's fault, so no attempt is counted.
          if (!(error instanceof HandlerFailure)) throw error;
          if (attempt >= retry.maxAttempts) {
            await giveUp(event, error.cause, attempt, batch.headPosition);
            break;
          }
          if (!(await abortableDelay(backoffDelay(retry, attempt), signal))) throw new Halt('stopped');
        }
      }
    }
    // Trailing events the filter skipped still move the checkpoint.
    if (batch.checkpoint > position) {
      await commit([], batch.checkpoint);
      advance(batch.checkpoint, [], 0, started, batch.headPosition);
    }
  }

  async function giveUp(event: RecordedEvent, error: unknown, attempts: number, head: bigint): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    // Stamped by the store's clock, inside the transaction that records it.
    const failureAt = (tx: Tx): ProjectionFailure => ({
      position: event.position,
      eventId: event.id,
      eventType: event.type,
      streamId: event.streamId,
      message,
      attempts,
      failedAt: tx.clock.now(),
    });
    if (onFailure === 'dead-letter') {
      const started = performance.now();
      const from = stored;
      await store.transaction(async (tx) => {
        await fence(tx);
        await checkpoints.save(name, from, event.position, tx);
        const failure = failureAt(tx);
        await checkpoints.park({ projection: name, ...failure, parkedAt: failure.failedAt, event }, tx);
      });
      stored = event.position;
      storedAt = performance.now();
      disarmSkipWrite();
      advance(event.position, [], 1, started, head);
      return;
    }
    const failure = await store.transaction(async (tx) => {
      await fence(tx);
      // A skip not written yet goes with it: the failure is recorded beside the stored checkpoint.
      if (stored < position) await checkpoints.save(name, stored, position, tx);
      const recorded = failureAt(tx);
      await checkpoints.recordFailure(name, recorded, tx);
      return recorded;
    });
    stored = position;
    disarmSkipWrite();
    current.error = failure;
    setState('failed');
    throw new Halt(message);
  }

  const holdLease = (signal: AbortSignal) =>
    lease
      ? waitForLease(
          () => lease.acquire(),
          leaseRetryMs,
          signal,
          () => setState('standby'),
        )
      : Promise.resolve(true);

  async function run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let watch: LeaseWatch | undefined;
      try {
        if (!(await holdLease(signal))) return;
        watch = watchLease(lease, leaseRenewMs, signal, () => setState('standby'));
        const record = await store.transaction((tx) => checkpoints.load(name, tx));
        position = record?.position ?? 0n;
        stored = position;
        storedAt = performance.now();
        disarmSkipWrite();
        current.checkpoint = position;
        // A failure recorded by an earlier run stays visible until this run gets past it.
        if (record?.failure) current.error = record.failure;
        // Still `retrying` until a batch goes through: reloading the checkpoint proves little.
        setState(failures > 0 ? 'retrying' : 'running');
        waiters.reached(position);
        await follow(watch.signal);
      } catch (error) {
        if (error instanceof Halt) {
          // A projector halted on a poison event gives its lease up, so that a standby (perhaps
          // with a fixed handler) takes over instead of everyone waiting on a stopped holder.
          if (current.state === 'failed' && lease) await lease.release().catch(() => {});
          if (current.state === 'failed' || signal.aborted) return;
          continue; // the lease was lost mid-backoff: back to standby
        }
        // The lease changed hands under a batch: it rolled back; stand by.
        if (error instanceof LeaseLostError || watch?.lost()) {
          setState('standby');
          continue;
        }
        // A conflict means the checkpoint moved under us (another instance, a rebuild): reload.
        if (error instanceof CheckpointConflictError) continue;
        // Infrastructure trouble (database unreachable, lock timeout…): keep trying, with backoff.
        failures++;
        current.lastError = error instanceof Error ? error.message : String(error);
        current.attempts = failures;
        setState('retrying');
        const delayMs = backoffDelay(retry, failures);
        options.onRetry?.({ name, attempts: failures, error, delayMs });
        await abortableDelay(delayMs, signal);
      } finally {
        watch?.stop();
        disarmSkipWrite();
      }
    }
  }

  /**
   * Processes the batches of a subscription from `position` until `signal` aborts or the lease is
   * lost. A skipped move still unwritten when its interval is up, with no batch come to carry it,
   * is written here, between two batches, by the same fenced batch transaction; a failure of it
   * goes to run() like a batch's.
   */
  async function follow(signal: AbortSignal): Promise<void> {
    // Its own signal, so that leaving while a read is in flight (after a failed write) ends it too.
    const reading = new AbortController();
    const endReading = () => reading.abort();
    // Stopped already (before the checkpoint loaded): an 'abort' listener added now would never hear it.
    if (signal.aborted) reading.abort();
    else signal.addEventListener('abort', endReading, { once: true });
    const batches = subscribe(store, {
      after: position,
      batchSize: options.batchSize ?? 100,
      ...(options.pollIntervalMs !== undefined && { pollIntervalMs: options.pollIntervalMs }),
      ...(options.minReadIntervalMs !== undefined && { minReadIntervalMs: options.minReadIntervalMs }),
      signal: reading.signal,
      ...(projection.types && { types: projection.types }),
      ...(projection.categories && { categories: projection.categories }),
    });
    let next = batches.next();
    try {
      for (;;) {
        const step = pendingSkip ? await Promise.race([next, pendingSkip.due]) : await next;
        if (step === skipWriteDue) {
          disarmSkipWrite();
          // A timer can fire a little early, or have been cut short (the longest a timer waits).
          if (performance.now() - storedAt < skipCheckpointIntervalMs) armSkipWrite();
          else if (stored < position) {
            if (lease && !(await lease.renew())) {
              setState('standby');
              return;
            }
            await commitUntraced([], position);
          }
          continue;
        }
        if (step.done) return;
        if (lease && !(await lease.renew())) {
          setState('standby');
          return;
        }
        const batch = step.value;
        current.headPosition = maxPosition(current.headPosition ?? 0n, batch.headPosition);
        await processBatch(batch, signal);
        // Caught up with nothing to commit: the reads worked, the trouble is over too.
        if (batch.caughtUp) recovered();
        next = batches.next();
      }
    } finally {
      signal.removeEventListener('abort', endReading);
      reading.abort();
      // What a read still in flight brings is dropped: the next run reads from the checkpoint.
      await next.catch(() => {});
      await batches.return();
    }
  }

  return {
    name,
    async start() {
      if (loop) return;
      setState('starting');
      const setup = projection.setup;
      try {
        await store.transaction(async (tx) => {
          await checkpoints.setup(tx);
          if (setup) await setup.call(projection, tx, liveTables);
        });
      } catch (error) {
        setState('stopped');
        throw error;
      }
      const ownController = new AbortController();
      controller = ownController;
      loop = run(ownController.signal);
      if (visibility) {
        // Only a projector that projects (or is retrying to) wants the figures: not one standing by or failed.
        unwatchVisibility = watchVisibility(options.visibility || store, visibility, visibilityIntervalMs, {
          wanted: watchesVisibility,
          sampled: sawVisibility,
        });
      }
    },
    async stop() {
      if (!loop) return;
      controller?.abort();
      unwatchVisibility?.();
      unwatchVisibility = undefined;
      forgetVisibility();
      await loop;
      loop = undefined;
      controller = undefined;
      // A skip not written yet is written now, while the lease (if any) is still ours; after
      // trouble it is left for the next run to re-read rather than delaying the stop.
      if (stored < position && current.state === 'running') await commitUntraced([], position).catch(() => {});
      if (lease) await lease.release();
      if (current.state !== 'failed') setState('stopped');
    },
    status: () => ({ ...current }),
    // async: a position that cannot exist rejects the promise, like any other failure, rather than throwing.
    async waitForPosition(target, waitOptions) {
      assertStorablePosition(target, 'position');
      // A stopped or failed projector will not get there by itself: say so now rather than at the timeout.
      if ((current.state === 'failed' || current.state === 'stopped') && position < target) return false;
      const timeoutMs = waitOptions?.timeoutMs ?? 5000;
      assertTimeoutMs(timeoutMs, 'timeoutMs');
      return waiters.wait(target, position, timeoutMs);
    },
  };
}
