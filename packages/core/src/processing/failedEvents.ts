import { NotFoundError, ValidationError } from '../domain/errors.js';
import type { EventStore, StoreTransaction } from '../eventStore/eventStore.js';
import type { CheckpointStore, FailedEvent } from './checkpointStore.js';
import { liveTables, type Projection } from './projection.js';

/** Where an operator's action on one failed or parked event applies. */
export interface FailedEventTarget<Tx extends StoreTransaction> {
  store: EventStore<Tx>;
  checkpoints: CheckpointStore<Tx>;
  /** The projection's name. */
  name: string;
  position: bigint;
}

/** Failed and parked events of every projection, or of the one named. */
export function listFailedEvents<Tx extends StoreTransaction>(
  store: EventStore<Tx>,
  checkpoints: CheckpointStore<Tx>,
  name?: string,
): Promise<FailedEvent[]> {
  return store.transaction((tx) => checkpoints.failedEvents(tx, name));
}

async function find<Tx extends StoreTransaction>(target: FailedEventTarget<Tx>, tx: Tx): Promise<FailedEvent> {
  const found = (await target.checkpoints.failedEvents(tx, target.name)).find((event) => event.position === target.position);
  if (!found) {
    throw new NotFoundError(`Projection '${target.name}' has no failed or parked event at position ${target.position}`, {
      projection: target.name,
      position: target.position,
    });
  }
  return found;
}

/**
 * Tries an event again once its handler is fixed. A parked event is applied with `projection`
 * (after the events that followed it: the read model must tolerate that order) in the same
 * transaction that removes its dead letter — a handler that still throws leaves both as they
 * were. A halted projector's failure is cleared, so the projector retries the event from its
 * checkpoint when it next starts.
 */
export async function retryFailedEvent<Tx extends StoreTransaction>(
  target: FailedEventTarget<Tx> & { projection?: Projection<Tx> },
): Promise<FailedEvent> {
  const { store, checkpoints, name, position, projection } = target;
  return store.transaction(async (tx) => {
    const failed = await find(target, tx);
    if (failed.status === 'failed') {
      await checkpoints.recordFailure(name, undefined, tx);
      return failed;
    }
    if (!projection) {
      throw new ValidationError(`Retrying the parked event at ${position} needs the projection '${name}' to apply it`, {
        field: 'projection',
      });
    }
    if (projection.name !== name) throw new ValidationError(`The projection given is '${projection.name}', not '${name}'`);
    const letter = (await checkpoints.deadLetters(name, tx)).find((candidate) => candidate.position === position);
    if (!letter)
      throw new NotFoundError(`Projection '${name}' has no parked event at position ${position}`, { projection: name, position });
    await projection.apply([letter.event], tx, liveTables);
    await checkpoints.removeDeadLetter(name, position, tx);
    return failed;
  });
}

/**
 * Gives up on an event for good: a parked event's dead letter is dropped; a halted projector's
 * checkpoint moves past the failed event (its failure cleared), so it resumes after it.
 */
export async function skipFailedEvent<Tx extends StoreTransaction>(target: FailedEventTarget<Tx>): Promise<FailedEvent> {
  const { store, checkpoints, name, position } = target;
  return store.transaction(async (tx) => {
    const failed = await find(target, tx);
    if (failed.status === 'parked') {
      await checkpoints.removeDeadLetter(name, position, tx);
      return failed;
    }
    const record = await checkpoints.load(name, tx);
    await checkpoints.save(name, record?.position ?? 0n, position, tx);
    return failed;
  });
}
