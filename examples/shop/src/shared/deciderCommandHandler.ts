import {
  type CommandMetadata,
  createStateCache,
  type Decider,
  type DomainEvent,
  type ExpectedVersion,
  handleCommand,
  type SnapshotOptions,
  type StateCache,
  type StreamOperations,
} from '@tidemark/core';

/** What travels on the command bus: the command's data, and the version the caller saw (HTTP If-Match). */
export interface CommandEnvelope<Data> {
  data: Data;
  expectedVersion?: ExpectedVersion;
}

/** Every write answers with the new view, the stream version to send back as If-Match, and the global position. */
export type WriteResult<View> = View & { version: number; position: bigint };

type CommandShape = { type: string; data: unknown };

/**
 * Builds command-bus handlers for one decider: each bus message of type `K` becomes the decider
 * command `{ type: K, data }`, run through handleCommand (load → decide → append, retried on a
 * conflict unless the caller pinned a version). One place, so every context writes the same way.
 * The streams' states stay in memory between commands (a state cache): a command on a busy
 * account reads the few events written since, not the whole history. With `snapshots`, a stream
 * the cache does not hold (a new process, an evicted account) loads from its latest snapshot.
 * Pass `cache` to share it (the shop evicts a forgotten customer's states from it).
 */
export function deciderCommandHandler<Command extends CommandShape, Event extends DomainEvent, State, View>(
  store: StreamOperations,
  decider: Decider<Command, Event, State>,
  streamIdOf: (data: Command['data']) => string,
  view: (state: State) => View,
  options: { snapshots?: SnapshotOptions<State>; cache?: StateCache } = {},
) {
  const cache = options.cache ?? createStateCache();
  return <K extends Command['type']>(type: K) =>
    async (envelope: CommandEnvelope<Extract<Command, { type: K }>['data']>, metadata: CommandMetadata): Promise<WriteResult<View>> => {
      const command = { type, data: envelope.data } as unknown as Command;
      const result = await handleCommand(store, decider, streamIdOf(envelope.data), command, {
        metadata,
        cache,
        ...(options.snapshots && { snapshots: options.snapshots }),
        ...(envelope.expectedVersion !== undefined && { expectedVersion: envelope.expectedVersion }),
      });
      return { ...view(result.state), version: result.nextExpectedVersion, position: result.position };
    };
}
