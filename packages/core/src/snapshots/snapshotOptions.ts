import { ValidationError } from '../domain/errors.js';
import { isSchemaVersion, maxSchemaVersion } from '../domain/isSchemaVersion.js';
import { jsonSnapshotSerializer, type SnapshotSerializer } from './snapshotCodec.js';
import type { SnapshotStore } from './snapshotStore.js';

/** Why a snapshot was not used or not taken. The user's load or command went on regardless. */
export interface SnapshotProblem {
  streamId: string;
  name: string;
  /**
   * `unreadable`: the payload did not inflate, parse or deserialise; `stale`: taken under another
   * snapshot schema version; `load_failed` / `save_failed`: the snapshot store failed.
   */
  reason: 'unreadable' | 'stale' | 'load_failed' | 'save_failed';
  /** The version of the snapshot concerned, when there is one. */
  streamVersion?: number;
}

/** Receives snapshot problems; the default emits a process warning (code TIDEMARK_SNAPSHOT). */
export type SnapshotErrorReporter = (error: unknown, problem: SnapshotProblem) => void;

export const warnOnSnapshotError: SnapshotErrorReporter = (error, problem) => {
  const message = error instanceof Error ? error.message : String(error);
  process.emitWarning(`snapshot ${problem.reason} for '${problem.streamId}' (${problem.name}): ${message}`, {
    code: 'TIDEMARK_SNAPSHOT',
  });
};

/**
 * How a decider's state is snapshotted: handleCommand's and loadAggregate's `snapshots` option.
 * One object per decider (it carries the decider's snapshot schema version).
 */
export interface SnapshotOptions<State> {
  store: SnapshotStore;
  /**
   * Snapshot schema version (≥ 1). Bump it whenever `evolve` or the state's shape changes:
   * snapshots of another version are reported `stale` and replaced, the state is folded from
   * the events meanwhile.
   */
  version: number;
  /** Take a snapshot every this many events of a stream (default 100). */
  every?: number;
  /** Tells apart the states of several deciders folding the same stream (default 'state'). */
  name?: string;
  /** For states that are not plain JSON (Maps, Dates…). Default: JSON as it is. */
  serializer?: SnapshotSerializer<State>;
  /** Default: a process warning. */
  onError?: SnapshotErrorReporter;
}

export interface ResolvedSnapshotOptions<State> {
  store: SnapshotStore;
  version: number;
  every: number;
  name: string;
  serializer: SnapshotSerializer<State>;
  onError: SnapshotErrorReporter;
}

export function resolveSnapshotOptions<State>(options: SnapshotOptions<State>): ResolvedSnapshotOptions<State> {
  if (options === null || typeof options !== 'object' || typeof options.store?.load !== 'function') {
    throw new ValidationError('snapshots needs a snapshot store', { field: 'snapshots.store' });
  }
  const { version } = options;
  // It becomes the saved snapshots' schemaVersion: a version no store could keep is refused now.
  if (!isSchemaVersion(version)) {
    throw new ValidationError(`snapshots.version must be a whole number from 1 to ${maxSchemaVersion}`, { field: 'snapshots.version' });
  }
  const every = options.every ?? 100;
  if (!Number.isSafeInteger(every) || every < 1) {
    throw new ValidationError('snapshots.every must be a whole number ≥ 1', { field: 'snapshots.every' });
  }
  return {
    store: options.store,
    version,
    every,
    name: options.name ?? 'state',
    serializer: options.serializer ?? (jsonSnapshotSerializer as SnapshotSerializer<State>),
    onError: options.onError ?? warnOnSnapshotError,
  };
}
