import { randomBytes } from 'node:crypto';
import { ValidationError } from '../domain/errors.js';
import type { EventStore, StoreTransaction } from '../eventStore/eventStore.js';
import type { CheckpointStore } from './checkpointStore.js';
import { type Projection, type ProjectionTables, projectionHandles } from './projection.js';
import { abortableDelay } from './retryPolicy.js';
import { subscribe } from './subscription.js';
import type { TableSwap } from './tableSwap.js';

export interface RebuildProgress {
  projection: string;
  phase: 'replaying' | 'swapping' | 'done';
  /** Events applied to the shadow tables so far. */
  eventsProcessed: number;
  /** Log position replayed up to. */
  position: bigint;
  /** Head of the log when the rebuild started: the finish line (positions may be sparse, so it is not a count). */
  targetPosition: bigint;
  /** 0…1, by position. */
  fraction: number;
  eventsPerSecond: number;
  /** Estimated seconds left, from the rate of progress in positions. */
  etaSeconds: number | undefined;
}

export interface RebuildOptions<Tx extends StoreTransaction> {
  store: EventStore<Tx>;
  projection: Projection<Tx>;
  /** The projector's checkpoint store: the checkpoint is reset to the rebuilt position in the swap transaction. */
  checkpoints: CheckpointStore<Tx>;
  /** The adapter's swap (createPostgresTableSwap, createSqliteTableSwap). */
  swap: TableSwap<Tx>;
  /**
   * Tries of the swap transaction when it fails transiently (the store's isTransient: a lock
   * timeout behind a long reader, a deadlock…), with backoff up to 2 s. Default 100.
   */
  maxSwapAttempts?: number;
  /** Events per replay transaction. Default 500. */
  batchSize?: number;
  onProgress?: (progress: RebuildProgress) => void;
  signal?: AbortSignal;
}

export interface RebuildResult {
  position: bigint;
  eventsProcessed: number;
  durationMs: number;
}

/**
 * Rebuilds a projection from position 0 into shadow tables while the live tables keep
 * serving, then swaps them in and resets the checkpoint in ONE transaction. A projector
 * running meanwhile finds its checkpoint moved (its compare-and-set fails), reloads it and
 * carries on from the rebuilt position, so events appended during the rebuild are not lost.
 *
 * For asynchronous (checkpointed) projections; an inline projection would miss appends made
 * between the end of the replay and the swap.
 */
export async function rebuildProjection<Tx extends StoreTransaction>(options: RebuildOptions<Tx>): Promise<RebuildResult> {
  const { store, projection, checkpoints, swap } = options;
  const maxSwapAttempts = options.maxSwapAttempts ?? 100;
  if (!Number.isSafeInteger(maxSwapAttempts) || maxSwapAttempts < 1) {
    throw new ValidationError('maxSwapAttempts must be a whole number ≥ 1', { field: 'maxSwapAttempts' });
  }
  const logical = projection.tables ?? [];
  if (logical.length === 0) throw new ValidationError(`Projection '${projection.name}' declares no tables to rebuild`, { field: 'tables' });
  const suffix = `_rb${randomBytes(4).toString('hex')}`;
  const shadow: ProjectionTables = {
    name(table) {
      if (!logical.includes(table)) throw new ValidationError(`Table '${table}' is not declared in projection '${projection.name}'.tables`);
      return `${table}${suffix}`;
    },
  };
  const physical = logical.map((table) => shadow.name(table));
  const started = performance.now();
  const targetPosition = await store.headPosition();
  let eventsProcessed = 0;
  let position = 0n;

  const report = (phase: RebuildProgress['phase']) => {
    const seconds = (performance.now() - started) / 1000;
    const fraction = targetPosition === 0n ? 1 : Math.min(1, Number(position) / Number(targetPosition));
    const positionRate = seconds > 0 ? Number(position) / seconds : 0;
    options.onProgress?.({
      projection: projection.name,
      phase,
      eventsProcessed,
      position,
      targetPosition,
      fraction,
      eventsPerSecond: seconds > 0 ? eventsProcessed / seconds : 0,
      etaSeconds: positionRate > 0 ? Math.max(0, Number(targetPosition - position)) / positionRate : undefined,
    });
  };

  const setup = projection.setup;
  await store.transaction(async (tx) => {
    // First: what would make the swap fail (or lose something) refuses the rebuild now.
    await swap.check(logical, tx);
    await checkpoints.setup(tx);
    if (setup) await setup.call(projection, tx, shadow);
  });
  const controller = new AbortController();
  const stopWith = () => controller.abort();
  options.signal?.addEventListener('abort', stopWith, { once: true });

  /** Replays into the shadow tables from where the replay stands until it passes `target`. */
  async function replayUntil(target: bigint): Promise<void> {
    if (position >= target) return;
    const batches = subscribe(store, {
      after: position,
      batchSize: options.batchSize ?? 500,
      signal: controller.signal,
      ...(projection.types && { types: projection.types }),
      ...(projection.categories && { categories: projection.categories }),
    });
    for await (const batch of batches) {
      const handled = batch.events.filter((event) => projectionHandles(projection, event));
      if (handled.length > 0) await store.transaction((tx) => projection.apply(handled, tx, shadow));
      eventsProcessed += handled.length;
      position = batch.checkpoint;
      report('replaying');
      if (position >= target) return;
    }
  }

  try {
    try {
      // Replay up to the head the rebuild started from: the live projector takes it from there.
      await replayUntil(targetPosition);
      // Aborted: leave the live tables alone (the shadows are dropped below) and say why.
      options.signal?.throwIfAborted();
      report('swapping');
      // The checkpoint row first, then the tables: a projector's batch takes them in the same
      // order, so a batch in flight either commits before the swap (and its CAS fails after it)
      // or waits and then fails its CAS — it never writes stale events into the swapped-in tables.
      // The reset refuses to move the checkpoint backwards: a live projector that got past the
      // replay has told waiters it reached its position, so the replay catches up with it first.
      // Retry what the store calls transient: the adapter's swap gives up its table locks after
      // a short lock timeout rather than queue behind a long report with every reader queued
      // behind it, and other writers may deadlock with it.
      for (let attempt = 1; ; ) {
        try {
          const swapped = await store.transaction(async (tx) => {
            if (!(await checkpoints.reset(projection.name, position, tx))) return false;
            await swap.swap(logical, suffix, tx);
            return true;
          });
          if (swapped) break;
          const live = await store.transaction((tx) => checkpoints.load(projection.name, tx));
          await replayUntil(live?.position ?? 0n);
          options.signal?.throwIfAborted();
        } catch (error) {
          if (attempt >= maxSwapAttempts || !store.isTransient?.(error)) throw error;
          const delay = Math.min(2000, 25 * 2 ** attempt) * (0.8 + Math.random() * 0.4);
          attempt++;
          if (!(await abortableDelay(delay, controller.signal))) options.signal?.throwIfAborted();
        }
      }
    } catch (error) {
      await store.transaction((tx) => swap.drop(physical, tx)).catch(() => {});
      throw error;
    }
  } finally {
    options.signal?.removeEventListener('abort', stopWith);
  }
  report('done');
  return { position, eventsProcessed, durationMs: performance.now() - started };
}
