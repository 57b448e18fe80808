import { SpanKind } from '@opentelemetry/api';
import { ValidationError } from '../domain/errors.js';
import type { EventStore, StoreTransaction } from '../eventStore/eventStore.js';
import { assertValidName } from '../eventStore/prepareAppend.js';
import { type Metrics, noMetrics } from '../monitoring/metrics.js';
import { CheckpointConflictError, type CheckpointStore } from '../processing/checkpointStore.js';
import { type Lease, LeaseLostError } from '../processing/lease.js';
import { type LeaseWatch, waitForLease, watchLease } from '../processing/leaseHolding.js';
import { abortableDelay, backoffDelay, type RetryPolicy, resolveRetryPolicy } from '../processing/retryPolicy.js';
import { traceOrigin, withSpan } from '../tracing/tidemarkTracer.js';
import type { Transport } from '../transport/transport.js';
import type { MessageMapper } from './messageMapper.js';
import type { Outbox } from './outbox.js';
import { createLogRelayCursor, createTableRelayCursor, type RelayCursor } from './relayCursor.js';

/**
 * What the relay publishes: the outbox table of state-stored entities, or — for event-sourced
 * streams, where the log itself is the outbox — the event log followed from a checkpoint (named
 * after the relay) and mapped to integration messages.
 */
export type OutboxRelaySource<Tx extends StoreTransaction> =
  | { readonly kind: 'table'; readonly outbox: Outbox<Tx> }
  | { readonly kind: 'log'; readonly checkpoints: CheckpointStore<Tx>; readonly mapper: MessageMapper };

export interface OutboxRelayOptions<Tx extends StoreTransaction> {
  /** Stable name: the checkpoint key (log source), the metrics label; name the lease after it too. */
  name: string;
  store: EventStore<Tx>;
  transport: Transport;
  source: OutboxRelaySource<Tx>;
  /** One active relay per outbox across instances: only the holder publishes, others stand by. */
  lease?: Lease<Tx>;
  /** Most messages per publish. Default 100. */
  batchSize?: number;
  /** Bounded fallback when no notification of new messages arrives (other processes). Default: the store's `pollIntervalMs`, else 500 ms. */
  pollIntervalMs?: number;
  /** Backoff while the transport (or the database) fails; retried indefinitely. Default 100 ms doubling to 30 s. */
  retry?: Omit<RetryPolicy, 'maxAttempts'>;
  /** Table source: published rows are deleted this long after publication. Default 7 days. */
  retentionMs?: number;
  /** Table source: how often the holder deletes expired rows. Default 60 s. */
  cleanupIntervalMs?: number;
  metrics?: Metrics;
  /** How often the holder samples the backlog for the gauges. Default 5 s. */
  metricsIntervalMs?: number;
  leaseRetryMs?: number;
  leaseRenewMs?: number;
  /** Called with each failure before the backoff (for logs). Must not throw. */
  onError?: (error: unknown) => void;
}

export type OutboxRelayState = 'stopped' | 'starting' | 'standby' | 'running' | 'retrying';

export interface OutboxRelayStatus {
  name: string;
  state: OutboxRelayState;
  /** Messages this instance published and confirmed since start. */
  published: number;
  /** Failed publishes and confirmations since start. */
  failures: number;
  /** Consecutive failures while `retrying`. */
  attempts?: number;
  lastError?: string;
  /** From the last sample: unpublished messages (for the log source, capped at 10,000). */
  backlog?: number;
  oldestUnpublishedAt?: Date;
}

export interface OutboxRelay {
  readonly name: string;
  start(): Promise<void>;
  /** Stops after the publish in flight (its rows stay unconfirmed and are published again later) and releases the lease. */
  stop(): Promise<void>;
  status(): OutboxRelayStatus;
  /** Samples the backlog now (also done every metricsIntervalMs while holding the lease). */
  sample(): Promise<{ backlog: number; oldestUnpublishedAt?: Date }>;
}

/** Thrown inside the loop to end the holding phase without counting a failure. */
class Halt extends Error {}

const day = 24 * 60 * 60 * 1000;

function whole(value: number | undefined, fallback: number, field: string, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < min) throw new ValidationError(`${field} must be a whole number ≥ ${min}`, { field });
  return v;
}

/**
 * The relay: publishes what the source holds, in order, to the transport, and confirms it
 * (marks the rows published, or moves the checkpoint) only after the transport acknowledged
 * it. A crash anywhere republishes at most the unconfirmed tail, never loses a message: the
 * broker's de-duplication (message id) and the consumers' inbox absorb the repeats.
 *
 * Order: one publish at a time, in source order, and a failed publish is retried (with backoff,
 * indefinitely) before anything after it; the transport keeps a publish call's messages of one
 * key in order. Pipelining: the confirmation of a batch commits while the next batch is read
 * and published; a failed confirmation restarts from what is stored, republishing in order.
 */
export function createOutboxRelay<Tx extends StoreTransaction>(options: OutboxRelayOptions<Tx>): OutboxRelay {
  const { name, store, transport, source, lease } = options;
  // It keys the relay's lease and position rows, and operators read it: as a projection's name.
  assertValidName(name, 'name');
  if (source?.kind !== 'table' && source?.kind !== 'log')
    throw new ValidationError(`source.kind must be 'table' or 'log'`, { field: 'source' });
  const batchSize = whole(options.batchSize, 100, 'batchSize');
  const pollIntervalMs = whole(options.pollIntervalMs ?? store.pollIntervalMs, 500, 'pollIntervalMs');
  const retentionMs = whole(options.retentionMs, 7 * day, 'retentionMs', 0);
  const cleanupIntervalMs = whole(options.cleanupIntervalMs, 60_000, 'cleanupIntervalMs');
  const metricsIntervalMs = whole(options.metricsIntervalMs, 5000, 'metricsIntervalMs');
  const leaseRetryMs = whole(options.leaseRetryMs, 1000, 'leaseRetryMs');
  const leaseRenewMs = whole(options.leaseRenewMs, 1000, 'leaseRenewMs');
  const retry = resolveRetryPolicy({ initialDelayMs: 100, maxDelayMs: 30_000, factor: 2, ...options.retry, maxAttempts: 1 });

  const metrics = options.metrics ?? noMetrics;
  const labels = { relay: name, transport: transport.name };
  const labelNames = ['relay', 'transport'];
  const backlogGauge = metrics.gauge({ name: 'tidemark_outbox_backlog_messages', help: 'Messages not yet published', labelNames });
  const ageGauge = metrics.gauge({
    name: 'tidemark_outbox_oldest_unpublished_age_seconds',
    help: 'Age of the oldest message not yet published (0 when none)',
    labelNames,
  });
  const publishedCounter = metrics.counter({
    name: 'tidemark_outbox_published_messages_total',
    help: 'Messages published and confirmed by this process (its rate is the publish rate)',
    labelNames,
  });
  const failureCounter = metrics.counter({
    name: 'tidemark_outbox_publish_failures_total',
    help: 'Failed publishes or confirmations (each retried with backoff)',
    labelNames,
  });

  const current: OutboxRelayStatus = { name, state: 'stopped', published: 0, failures: 0 };
  let controller: AbortController | undefined;
  let loop: Promise<void> | undefined;
  let consecutive = 0;

  const fence = async (tx: Tx) => {
    if (lease?.fence) await lease.fence(tx);
  };

  function failed(error: unknown): number {
    consecutive++;
    current.failures++;
    current.attempts = consecutive;
    current.lastError = error instanceof Error ? error.message : String(error);
    current.state = 'retrying';
    failureCounter.inc(labels);
    options.onError?.(error);
    return backoffDelay(retry, consecutive);
  }

  function recovered() {
    if (consecutive === 0 && current.state === 'running') return;
    consecutive = 0;
    delete current.attempts;
    delete current.lastError;
    current.state = 'running';
  }

  const cursorFor = (signal: AbortSignal): RelayCursor<Tx> =>
    source.kind === 'table'
      ? createTableRelayCursor({ store, outbox: source.outbox, batchSize, pollIntervalMs, signal })
      : createLogRelayCursor({ store, name, checkpoints: source.checkpoints, mapper: source.mapper, batchSize, pollIntervalMs, signal });

  async function sample(): Promise<{ backlog: number; oldestUnpublishedAt?: Date }> {
    const found = await cursorFor(new AbortController().signal).stats();
    current.backlog = found.backlog;
    if (found.oldestUnpublishedAt) current.oldestUnpublishedAt = found.oldestUnpublishedAt;
    else delete current.oldestUnpublishedAt;
    backlogGauge.set(found.backlog, labels);
    ageGauge.set(found.oldestUnpublishedAt ? Math.max(0, (Date.now() - found.oldestUnpublishedAt.getTime()) / 1000) : 0, labels);
    return found;
  }

  async function cleanup(): Promise<void> {
    if (source.kind !== 'table') return;
    for (;;) {
      const deleted = await store.transaction(async (tx) => {
        await fence(tx);
        return source.outbox.deletePublished(tx, new Date(tx.clock.now().getTime() - retentionMs), 1000);
      });
      if (deleted < 1000) return;
    }
  }

  /** One publish in a `tidemark.outbox.publish` span, continuing the traces the messages carry. */
  function tracedPublish(messages: Parameters<Transport['publish']>[0]): Promise<void> {
    const origin = traceOrigin(messages.map((message) => message.headers?.traceparent));
    const attributes = { 'tidemark.relay': name, 'tidemark.message_count': messages.length };
    return withSpan(
      'tidemark.outbox.publish',
      { kind: SpanKind.PRODUCER, links: origin.links, attributes },
      () => transport.publish(messages),
      origin.parent,
    );
  }

  /** Publishes one batch, retrying with backoff until the transport acknowledges it or the relay stops. */
  async function publish(messages: Parameters<Transport['publish']>[0], signal: AbortSignal): Promise<void> {
    for (;;) {
      try {
        await tracedPublish(messages);
        return;
      } catch (error) {
        const delay = failed(error);
        if (!(await abortableDelay(delay, signal))) throw new Halt('stopped');
        if (lease && !(await lease.renew().catch(() => false))) throw new LeaseLostError(name);
      }
    }
  }

  /** While holding the lease: read, publish, confirm (pipelined by one batch). */
  async function relay(signal: AbortSignal): Promise<void> {
    const cursor = cursorFor(signal);
    await cursor.open();
    let confirming: Promise<void> = Promise.resolve();
    try {
      while (!signal.aborted) {
        const batch = await cursor.next();
        if (!batch) {
          await confirming;
          continue;
        }
        if (batch.messages.length > 0) await publish(batch.messages, signal);
        const previous = confirming;
        confirming = previous.then(async () => {
          await store.transaction(async (tx) => {
            await fence(tx);
            await batch.confirm(tx);
          });
          batch.confirmed();
          if (batch.messages.length > 0) {
            current.published += batch.messages.length;
            publishedCounter.inc(labels, batch.messages.length);
          }
          recovered();
        });
        // Handled below (or in finally): never an unhandled rejection in between.
        confirming.catch(() => {});
        // Keep at most one confirmation in flight; its failure surfaces here and restarts the loop.
        await previous;
      }
    } finally {
      await confirming.catch(() => {});
      await cursor.close().catch(() => {});
    }
  }

  const holdLease = (signal: AbortSignal) =>
    lease
      ? waitForLease(
          () => lease.acquire().catch(() => false),
          leaseRetryMs,
          signal,
          () => {
            current.state = 'standby';
          },
        )
      : Promise.resolve(true);

  /** Renews the lease on a timer, samples metrics and cleans up; aborts the returned signal when the lease is lost. */
  function watch(signal: AbortSignal): LeaseWatch {
    const holding = watchLease(lease, leaseRenewMs, signal, () => {
      current.state = 'standby';
    });
    let sampling = false;
    const sampleTimer = setInterval(() => {
      if (sampling) return;
      sampling = true;
      sample()
        .catch(() => {})
        .finally(() => {
          sampling = false;
        });
    }, metricsIntervalMs);
    let cleaning = false;
    const cleanupTimer = setInterval(() => {
      if (cleaning) return;
      cleaning = true;
      cleanup()
        .catch((error: unknown) => options.onError?.(error))
        .finally(() => {
          cleaning = false;
        });
    }, cleanupIntervalMs);
    return {
      signal: holding.signal,
      lost: holding.lost,
      stop() {
        holding.stop();
        clearInterval(sampleTimer);
        clearInterval(cleanupTimer);
      },
    };
  }

  async function run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let watching: ReturnType<typeof watch> | undefined;
      try {
        if (!(await holdLease(signal))) return;
        watching = watch(signal);
        current.state = consecutive > 0 ? 'retrying' : 'running';
        await relay(watching.signal);
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof Halt || error instanceof LeaseLostError || watching?.lost()) {
          current.state = 'standby';
          continue;
        }
        // The checkpoint moved under us (another instance): reload and go on.
        if (error instanceof CheckpointConflictError) continue;
        await abortableDelay(failed(error), signal);
      } finally {
        watching?.stop();
      }
    }
  }

  return {
    name,
    async start() {
      if (loop) return;
      current.state = 'starting';
      if (source.kind === 'log') {
        const { checkpoints } = source;
        await store.transaction((tx) => checkpoints.setup(tx));
      }
      const own = new AbortController();
      controller = own;
      loop = run(own.signal);
    },
    async stop() {
      if (!loop) return;
      controller?.abort();
      await loop;
      loop = undefined;
      controller = undefined;
      if (lease) await lease.release().catch(() => {});
      current.state = 'stopped';
    },
    status: () => ({ ...current }),
    sample,
  };
}
