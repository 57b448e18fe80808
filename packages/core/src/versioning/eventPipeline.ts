import { AppendedButUnreadableError, ValidationError } from '../domain/errors.js';
import type { NewEvent, RecordedEvent } from '../domain/event.js';
import type { AppendResult } from '../eventStore/eventStore.js';
import { assertValidName, assertValidStreamId } from '../eventStore/prepareAppend.js';
import type { EventStage } from './eventStage.js';

/**
 * A stage that renames event types on read (an upcaster turning `customer.registered` into
 * `account.opened`) tells the stores which stored types a `readAll({ types })` filter must
 * query: the filter is applied by the database on the STORED type, so without this a reader
 * asking for the new name would never see the events stored under the old one.
 */
export interface TypeRenamingStage extends EventStage {
  /** The stored types whose events may come out of `read` as one of `types` (including `types` themselves). */
  storedTypesFor(types: readonly string[]): readonly string[];
}

/** The stages of one store, composed once; every adapter calls these at the same points. */
export interface EventPipeline {
  /** Whether any stage reads: without one, the read paths skip the pipeline entirely. */
  readonly reads: boolean;
  /** The write stages in order; the events themselves (no checks, no copy) when there is none. */
  write(events: readonly NewEvent[], streamId: string): readonly NewEvent[] | Promise<readonly NewEvent[]>;
  /** The read stages in reverse order, on a batch in version/position order. */
  read(events: RecordedEvent[]): RecordedEvent[] | Promise<RecordedEvent[]>;
  /** For a backwards read: the stages see the batch in forward order (a split keeps its order), then it is reversed back. */
  readBackwards(events: RecordedEvent[]): RecordedEvent[] | Promise<RecordedEvent[]>;
  /** One page of readAll: read, then filtered to the requested types again (a stage may rename or split). */
  readPage(events: RecordedEvent[], types: readonly string[] | undefined): RecordedEvent[] | Promise<RecordedEvent[]>;
  /** The stored types a readAll type filter must query (the requested ones when no stage renames). */
  storedTypes(types: readonly string[]): readonly string[];
  /** An append's result with its `events` read through the stages (hooks and callers see what readers see). */
  readResult(result: AppendResult): AppendResult | Promise<AppendResult>;
  /**
   * readResult for an append already committed: a failing stage must not make it look unwritten
   * (its caller would append it again), so it fails with AppendedButUnreadableError, the result inside.
   */
  readCommitted(result: AppendResult): AppendResult | Promise<AppendResult>;
}

export function isPromiseLike<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/**
 * Runs `steps` one after the other without an `await` while they return plain values, so a
 * pipeline of synchronous stages costs no microtask per batch (let alone per event).
 */
function chain<T>(value: T, steps: ReadonlyArray<(value: T) => T | Promise<T>>, from = 0): T | Promise<T> {
  let current = value;
  for (let i = from; i < steps.length; i++) {
    const next = (steps[i] as (value: T) => T | Promise<T>)(current);
    if (isPromiseLike(next)) return next.then((resolved) => chain(resolved, steps, i + 1));
    current = next;
  }
  return current;
}

/**
 * What a write stage may rely on: a valid stream id and a non-empty list of objects with valid
 * type names. Everything else (ids, data, sizes) is still checked after the stages by prepareAppend.
 */
function assertAppendShape(events: readonly NewEvent[], streamId: string): void {
  assertValidStreamId(streamId);
  if (!Array.isArray(events) || events.length === 0) throw new ValidationError('An append needs at least one event', { streamId });
  events.forEach((event, index) => {
    if (event === null || typeof event !== 'object') throw new ValidationError(`Event ${index} is not an object`, { streamId, index });
    assertValidName(event.type, `event ${index} type`);
  });
}

function isTypeRenaming(stage: EventStage): stage is TypeRenamingStage {
  return typeof (stage as Partial<TypeRenamingStage>).storedTypesFor === 'function';
}

export function createEventPipeline(stages: readonly EventStage[] = []): EventPipeline {
  if (!Array.isArray(stages)) throw new ValidationError('stages must be an array of event stages', { field: 'stages' });
  const writers = stages.flatMap((stage) =>
    stage.write
      ? [(events: readonly NewEvent[], streamId: string) => (stage.write as NonNullable<EventStage['write']>).call(stage, events, streamId)]
      : [],
  );
  const readers = [...stages]
    .reverse()
    .flatMap((stage) =>
      stage.read
        ? [
            (events: RecordedEvent[]) =>
              (stage.read as NonNullable<EventStage['read']>).call(stage, events) as RecordedEvent[] | Promise<RecordedEvent[]>,
          ]
        : [],
    );
  const renaming = stages.filter(isTypeRenaming);
  const reads = readers.length > 0;

  const read = (events: RecordedEvent[]) => (reads && events.length > 0 ? chain(events, readers) : events);
  const readAndThen = <R>(events: RecordedEvent[], then: (events: RecordedEvent[]) => R): R | Promise<R> => {
    const staged = read(events);
    return isPromiseLike(staged) ? staged.then(then) : then(staged);
  };

  const readResult = (result: AppendResult): AppendResult | Promise<AppendResult> => {
    if (!reads || result.events.length === 0) return result;
    return readAndThen(result.events, (events) => (events === result.events ? result : { ...result, events }));
  };

  return {
    reads,
    write(events, streamId) {
      if (writers.length === 0) return events;
      assertAppendShape(events, streamId);
      const steps = writers.map((writer) => (batch: readonly NewEvent[]) => writer(batch, streamId));
      return chain(events, steps);
    },
    read,
    readBackwards(events) {
      if (!reads || events.length === 0) return events;
      return readAndThen(events.reverse(), (staged) => (staged === events ? events.reverse() : [...staged].reverse()));
    },
    readPage(events, types) {
      if (!reads || events.length === 0) return events;
      if (!types) return read(events);
      const wanted = new Set(types);
      return readAndThen(events, (staged) => staged.filter((event) => wanted.has(event.type)));
    },
    storedTypes(types) {
      if (renaming.length === 0) return types;
      return [...new Set(renaming.flatMap((stage) => stage.storedTypesFor(types)))];
    },
    readResult,
    readCommitted(result) {
      const unreadable = (error: unknown): never => {
        throw new AppendedButUnreadableError(result, error);
      };
      let read: AppendResult | Promise<AppendResult>;
      try {
        read = readResult(result);
      } catch (error) {
        return unreadable(error);
      }
      return isPromiseLike(read) ? read.then(undefined, unreadable) : read;
    },
  };
}
