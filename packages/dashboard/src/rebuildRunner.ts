import {
  type CheckpointStore,
  type EventStore,
  NotFoundError,
  type Projection,
  type RebuildProgress,
  RebuildRefusedError,
  rebuildProjection,
  type StoreTransaction,
  type TableSwap,
} from '@tidemark/core';

/** A rebuild as the projections page shows it, from start to its end (done or failed). */
export interface RebuildStatus {
  projection: string;
  phase: RebuildProgress['phase'] | 'failed';
  eventsProcessed: number;
  position: bigint;
  targetPosition: bigint;
  fraction: number;
  eventsPerSecond: number;
  etaSeconds?: number;
  startedAt: Date;
  finishedAt?: Date;
  error?: string;
}

export interface RebuildRunner {
  /** Names of the projections that can be rebuilt here. */
  readonly rebuildable: readonly string[];
  /** Starts a rebuild in the background: NotFoundError when the name cannot be rebuilt here, RebuildRefusedError while one runs. */
  start(name: string): RebuildStatus;
  status(name: string): RebuildStatus | undefined;
  /** Called with every progress report and with the end. Returns the unsubscribe function. */
  onProgress(listener: (status: RebuildStatus) => void): () => void;
  /** Aborts running rebuilds and waits for them to settle. */
  close(): Promise<void>;
}

/** Runs rebuilds (rebuildProjection) one per projection at a time and keeps the last one's status. */
export function createRebuildRunner<Tx extends StoreTransaction>(options: {
  store: EventStore<Tx>;
  checkpoints: CheckpointStore<Tx> | undefined;
  swap: TableSwap<Tx> | undefined;
  projections: readonly Projection<Tx>[];
}): RebuildRunner {
  const { store, checkpoints, swap } = options;
  const byName = new Map(
    checkpoints && swap ? options.projections.filter((p) => (p.tables?.length ?? 0) > 0).map((p) => [p.name, p] as const) : [],
  );
  const statuses = new Map<string, RebuildStatus>();
  const running = new Map<string, Promise<void>>();
  const listeners = new Set<(status: RebuildStatus) => void>();
  const abort = new AbortController();

  const publish = (status: RebuildStatus) => {
    statuses.set(status.projection, status);
    for (const listener of listeners) listener(status);
  };

  return {
    rebuildable: [...byName.keys()],
    start(name) {
      const projection = byName.get(name);
      if (!projection || !checkpoints || !swap) {
        throw new NotFoundError(
          `No projection '${name}' can be rebuilt here: none was registered by that name with tables and a table swap`,
          {
            projection: name,
            rebuildable: [...byName.keys()],
          },
        );
      }
      if (running.has(name)) throw new RebuildRefusedError(`Projection '${name}' is already being rebuilt`, { projection: name });
      const startedAt = new Date();
      const initial: RebuildStatus = {
        projection: name,
        phase: 'replaying',
        eventsProcessed: 0,
        position: 0n,
        targetPosition: 0n,
        fraction: 0,
        eventsPerSecond: 0,
        startedAt,
      };
      publish(initial);
      const run = rebuildProjection({
        store,
        projection,
        checkpoints,
        swap,
        signal: abort.signal,
        onProgress: (progress) => {
          const { etaSeconds, ...rest } = progress;
          publish({ ...rest, ...(etaSeconds !== undefined && { etaSeconds }), startedAt });
        },
      })
        .then((result) => {
          const last = statuses.get(name) ?? initial;
          publish({
            ...last,
            phase: 'done',
            fraction: 1,
            position: result.position,
            eventsProcessed: result.eventsProcessed,
            finishedAt: new Date(),
          });
        })
        .catch((error: unknown) => {
          const last = statuses.get(name) ?? initial;
          publish({ ...last, phase: 'failed', error: error instanceof Error ? error.message : String(error), finishedAt: new Date() });
        })
        .finally(() => running.delete(name));
      running.set(name, run);
      return initial;
    },
    status: (name) => statuses.get(name),
    onProgress(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      abort.abort();
      await Promise.all(running.values());
    },
  };
}
