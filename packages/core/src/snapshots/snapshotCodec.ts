import { deflateRawSync, inflateRawSync } from 'node:zlib';

/**
 * How a state becomes JSON and back. The default is the identity: fine for plain JSON states.
 * States holding Maps, Sets, Dates or class instances need their own.
 */
export interface SnapshotSerializer<State> {
  serialize(state: State): unknown;
  deserialize(data: unknown): State;
}

export const jsonSnapshotSerializer: SnapshotSerializer<never> = {
  serialize: (state) => state,
  deserialize: (data) => data as never,
};

/** State → JSON → deflate. Raw deflate: no header to pay for, the store tags the bytes already. */
export function encodeSnapshotState<State>(state: State, serializer: SnapshotSerializer<State>): Uint8Array {
  const json = JSON.stringify(serializer.serialize(state));
  if (json === undefined) throw new TypeError('The snapshot serializer returned nothing JSON can hold');
  return deflateRawSync(json);
}

/** Throws on bytes that do not inflate, JSON that does not parse, or a serializer that refuses. */
export function decodeSnapshotState<State>(payload: Uint8Array, serializer: SnapshotSerializer<State>): State {
  return serializer.deserialize(JSON.parse(inflateRawSync(payload).toString('utf8')));
}
