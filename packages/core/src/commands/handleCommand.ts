import type { Decider } from '../domain/decider.js';
import { ConcurrencyError } from '../domain/errors.js';
import type { DomainEvent, EventMetadata, RecordedEvent } from '../domain/event.js';
import type { StreamOperations } from '../eventStore/eventStore.js';
import type { ExpectedVersion } from '../eventStore/expectedVersion.js';

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
  /** Extra attempts after a concurrency conflict when no expectedVersion is given. Default 3. */
  retries?: number;
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

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Load → decide → append with the version that was loaded. Works on the store or on a
 * transaction (pass `tx` as `store` to make the command part of a larger unit of work).
 * A conflict means someone wrote in between: reload and decide again, a bounded number of times.
 */
export async function handleCommand<Command, Event extends DomainEvent, State>(
  store: StreamOperations,
  decider: Decider<Command, Event, State>,
  streamId: string,
  command: Command,
  options: HandleCommandOptions = {},
): Promise<CommandResult<State>> {
  const retries = options.expectedVersion === undefined ? (options.retries ?? 3) : 0;
  const metadata = eventMetadata(options.metadata);
  for (let attempt = 0; ; attempt++) {
    const { state, version } = await store.aggregateStream(streamId, decider);
    const decided = decider.decide(command, state);
    if (decided.length === 0) return { state, events: [], nextExpectedVersion: version, position: 0n };
    const expectedVersion = options.expectedVersion ?? version;
    try {
      const result = await store.appendToStream(
        streamId,
        decided.map((event) => ({
          type: event.type,
          data: event.data,
          ...(event.schemaVersion !== undefined && { schemaVersion: event.schemaVersion }),
          ...(metadata && { metadata }),
        })),
        { expectedVersion },
      );
      return {
        state: decided.reduce(decider.evolve, state),
        events: result.events,
        nextExpectedVersion: result.nextExpectedVersion,
        position: result.position,
      };
    } catch (error) {
      if (!(error instanceof ConcurrencyError) || attempt >= retries) throw error;
      // Jittered backoff so that colliding writers do not collide again in lockstep.
      await pause(Math.random() * 5 * (attempt + 1));
    }
  }
}
