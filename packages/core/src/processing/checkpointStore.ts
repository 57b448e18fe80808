import { TidemarkError } from '../domain/errors.js';
import type { RecordedEvent } from '../domain/event.js';
import type { StoreTransaction } from '../eventStore/eventStore.js';

/** Why a projector stopped: recorded beside its checkpoint so that every instance (and a dashboard) sees it. */
export interface ProjectionFailure {
  /** Position of the event that kept failing; the checkpoint stays just before it. */
  position: bigint;
  eventId: string;
  eventType: string;
  streamId: string;
  message: string;
  attempts: number;
  failedAt: Date;
}

export interface CheckpointRecord {
  name: string;
  /** Every event at or below this position has been applied (or parked). 0n: nothing yet. */
  position: bigint;
  updatedAt: Date;
  /** Present while the projector is stopped on a failing event. */
  failure?: ProjectionFailure;
}

/** An event a projector gave up on and set aside, written in the same transaction as the checkpoint that passes it. */
export interface DeadLetter {
  projection: string;
  position: bigint;
  eventId: string;
  eventType: string;
  streamId: string;
  message: string;
  attempts: number;
  parkedAt: Date;
  /** The event as it was stored, so that it can be replayed once the handler is fixed. */
  event: RecordedEvent;
}

/**
 * An event a projection could not handle, for operators: the one a halted projector stopped on
 * (`failed`, recorded beside its checkpoint) or one set aside in the dead-letter table (`parked`).
 */
export interface FailedEvent {
  projection: string;
  status: 'failed' | 'parked';
  position: bigint;
  eventId: string;
  eventType: string;
  streamId: string;
  message: string;
  attempts: number;
  /** When the projector gave up on it. */
  at: Date;
}

/**
 * Where asynchronous projectors remember how far they got. Every write takes the caller's
 * transaction: the checkpoint commits with the read-model writes of the same batch, which is
 * what makes a crash neither lose nor double-apply an event.
 */
export interface CheckpointStore<Tx extends StoreTransaction = StoreTransaction> {
  /**
   * Called before a projector or rebuild sets up its read-model tables, in the same
   * transaction. The tables of the checkpoint store itself come from the adapter's migrations;
   * a SQL adapter takes a lock here that serialises concurrent read-model set-ups.
   */
  setup(tx: Tx): Promise<void>;
  load(name: string, tx: Tx): Promise<CheckpointRecord | undefined>;
  /** Every checkpoint, by name: what an operator's dashboard or CLI shows of projectors it does not run. */
  list(tx: Tx): Promise<CheckpointRecord[]>;
  /**
   * Moves the checkpoint from `expected` to `position` (> expected) and clears any recorded
   * failure. Compare-and-set: throws {@link CheckpointConflictError} when the stored position is
   * not `expected` (another instance moved it, or a rebuild reset it), so the caller rolls back.
   */
  save(name: string, expected: bigint, position: bigint, tx: Tx): Promise<void>;
  /** Records (or clears, with undefined) the failure that stopped the projector; the position is left as it is. */
  recordFailure(name: string, failure: ProjectionFailure | undefined, tx: Tx): Promise<void>;
  /**
   * For a rebuild that swaps in freshly built tables: moves the checkpoint to `position` and
   * clears any failure — unless the stored position is already past it (a live projector got
   * further than the replay), in which case nothing changes and it answers false: replay on,
   * then try again. A checkpoint never moves backwards, so a caller that saw a projector reach
   * a position (read-your-writes) can rely on the read model holding it.
   */
  reset(name: string, position: bigint, tx: Tx): Promise<boolean>;
  park(letter: DeadLetter, tx: Tx): Promise<void>;
  deadLetters(name: string, tx: Tx): Promise<DeadLetter[]>;
  /** Failed and parked events (of one projection when named), by projection, then position. */
  failedEvents(tx: Tx, projection?: string): Promise<FailedEvent[]>;
  /** Deletes the dead letter of `projection` at `position`; answers whether there was one. */
  removeDeadLetter(projection: string, position: bigint, tx: Tx): Promise<boolean>;
}

/** The stored checkpoint was not where this projector left it: someone else is projecting, or a rebuild reset it. */
export class CheckpointConflictError extends TidemarkError {
  constructor(name: string, expected: bigint, actual: bigint | undefined) {
    super('concurrency', `Checkpoint '${name}' expected at ${expected} but is at ${actual ?? 'none'}`, {
      name,
      expected: String(expected),
      actual: actual === undefined ? undefined : String(actual),
    });
  }
}
