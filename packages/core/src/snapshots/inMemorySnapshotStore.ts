import { assertValidStreamId } from '../eventStore/prepareAppend.js';
import { checkSnapshot, checkSnapshotQuery } from './checkSnapshot.js';
import type { Snapshot, SnapshotStore } from './snapshotStore.js';

/** Snapshots in a map, per stream in version order: the reference adapter of the contract. */
export function createInMemorySnapshotStore(): SnapshotStore {
  const streams = new Map<string, Snapshot[]>();
  const copy = (snapshot: Snapshot): Snapshot => ({
    ...snapshot,
    recordedAt: new Date(snapshot.recordedAt),
    payload: Uint8Array.from(snapshot.payload),
  });
  return {
    async save(snapshot) {
      checkSnapshot(snapshot);
      const list = (streams.get(snapshot.streamId) ?? []).filter(
        (s) => !(s.name === snapshot.name && s.streamVersion === snapshot.streamVersion),
      );
      list.push(copy(snapshot));
      list.sort((a, b) => a.streamVersion - b.streamVersion);
      streams.set(snapshot.streamId, list);
    },
    async load(streamId, name, query) {
      assertValidStreamId(streamId);
      checkSnapshotQuery(query);
      const maxVersion = query?.maxVersion ?? Number.MAX_SAFE_INTEGER;
      const asOf = query?.asOf?.getTime() ?? Number.POSITIVE_INFINITY;
      const list = streams.get(streamId) ?? [];
      for (let i = list.length - 1; i >= 0; i--) {
        const s = list[i] as Snapshot;
        if (s.name === name && s.streamVersion <= maxVersion && s.recordedAt.getTime() <= asOf) return copy(s);
      }
      return undefined;
    },
    async deleteStream(streamId) {
      assertValidStreamId(streamId);
      streams.delete(streamId);
    },
  };
}
