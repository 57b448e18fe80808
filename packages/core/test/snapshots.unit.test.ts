import {
  createInMemoryEventStore,
  createInMemorySnapshotStore,
  type Decider,
  decodeSnapshotState,
  encodeSnapshotState,
  handleCommand,
  jsonSnapshotSerializer,
  loadAggregate,
  type SnapshotProblem,
  type SnapshotSerializer,
  type SnapshotStore,
  snapshotsSettled,
  streamHistory,
  ValidationError,
} from '@tidemark/core';
import { describe, expect, it } from 'vitest';

type Command = { type: 'visit'; page: string };
type Event = { type: 'page.visited'; data: { page: string; at: string } };
/** A state JSON cannot hold as it is: a Map of Dates. */
type Visits = Map<string, Date>;

const visits: Decider<Command, Event, Visits> = {
  initialState: () => new Map(),
  decide: (command) => [{ type: 'page.visited', data: { page: command.page, at: '2026-01-01T00:00:00.000Z' } }],
  evolve: (state, event) => new Map(state).set(event.data.page, new Date(event.data.at)),
};

const visitsSerializer: SnapshotSerializer<Visits> = {
  serialize: (state) => [...state].map(([page, at]) => [page, at.toISOString()]),
  deserialize: (data) => new Map((data as Array<[string, string]>).map(([page, at]) => [page, new Date(at)])),
};

/** A real in-memory snapshot store whose saves wait until released: what a slow database looks like. */
function gatedSnapshotStore() {
  const inner = createInMemorySnapshotStore();
  let release: (() => void) | undefined;
  let gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let saves = 0;
  const store: SnapshotStore = {
    ...inner,
    async save(snapshot) {
      saves++;
      await gate;
      await inner.save(snapshot);
    },
  };
  return {
    store,
    saves: () => saves,
    open() {
      release?.();
      gate = Promise.resolve();
    },
  };
}

describe('snapshots with handleCommand', () => {
  it('never makes a command wait for its snapshot, and keeps one in flight per stream', async () => {
    const events = createInMemoryEventStore();
    const gated = gatedSnapshotStore();
    const snapshots = { store: gated.store, version: 1, every: 2, serializer: visitsSerializer };
    // Each command passes a multiple of 2 every other time; the first save hangs until opened.
    for (let i = 1; i <= 6; i++) {
      const result = await handleCommand(events, visits, 'visits-1', { type: 'visit', page: `p${i}` }, { snapshots });
      expect(result.nextExpectedVersion).toBe(i);
    }
    // Started once, for version 2; versions 4 and 6 came while it was still being written.
    await expect.poll(gated.saves).toBe(1);
    expect(await gated.store.load('visits-1', 'state')).toBeUndefined();
    gated.open();
    await snapshotsSettled(gated.store);
    expect((await gated.store.load('visits-1', 'state'))?.streamVersion).toBe(2);
    const loaded = await loadAggregate(events, 'visits-1', visits, { snapshots });
    expect(loaded.snapshotVersion).toBe(2);
    expect(loaded.state).toEqual(new Map([1, 2, 3, 4, 5, 6].map((i) => [`p${i}`, new Date('2026-01-01T00:00:00.000Z')])));
  });

  it('reports a failing snapshot store and still answers every command and load', async () => {
    const events = createInMemoryEventStore();
    const problems: SnapshotProblem[] = [];
    const broken: SnapshotStore = {
      save: async () => {
        throw new Error('disk full');
      },
      load: async () => {
        throw new Error('connection refused');
      },
      deleteStream: async () => {},
    };
    const snapshots = {
      store: broken,
      version: 1,
      every: 1,
      serializer: visitsSerializer,
      onError: (_: unknown, p: SnapshotProblem) => void problems.push(p),
    };
    await handleCommand(events, visits, 'visits-1', { type: 'visit', page: 'home' }, { snapshots });
    await snapshotsSettled(broken);
    expect((await loadAggregate(events, 'visits-1', visits, { snapshots })).state.has('home')).toBe(true);
    expect(problems.map((p) => p.reason)).toEqual(['load_failed', 'save_failed', 'load_failed']);
  });

  it('refuses malformed snapshot options before anything is written', async () => {
    const events = createInMemoryEventStore();
    const store = createInMemorySnapshotStore();
    for (const snapshots of [
      { store, version: 0 },
      { store, version: 1, every: 0 },
      { store: {} as SnapshotStore, version: 1 },
    ]) {
      await expect(handleCommand(events, visits, 'visits-1', { type: 'visit', page: 'a' }, { snapshots })).rejects.toBeInstanceOf(
        ValidationError,
      );
    }
    expect(await events.streamExists('visits-1')).toBe(false);
  });
});

describe('snapshot payloads and long histories', () => {
  it('compresses the state and gives it back as it was', () => {
    const state = { ledger: Array.from({ length: 1000 }, (_, i) => ({ id: i, kind: 'deposit', amount: 10 })) };
    const payload = encodeSnapshotState(state, jsonSnapshotSerializer);
    expect(payload.byteLength).toBeLessThan(JSON.stringify(state).length / 5);
    expect(decodeSnapshotState(payload, jsonSnapshotSerializer)).toEqual(state);
  });

  it('folds a history longer than one read page, with the state after each event', async () => {
    let now = Date.parse('2026-01-01T00:00:00.000Z');
    const events = createInMemoryEventStore({ clock: { now: () => new Date(now) } });
    for (let i = 0; i < 2500; i++) {
      await events.appendToStream('counter-1', [{ type: 'counter.added', data: { by: 1 } }]);
      now += 1000;
    }
    const counter = { initialState: () => 0, evolve: (total: number) => total + 1 };
    const seen: Array<[number, number]> = [];
    const from = new Date(Date.parse('2026-01-01T00:00:00.000Z') + 99_500);
    for await (const { event, state } of streamHistory(events, 'counter-1', counter, { from, to: new Date(now) })) {
      seen.push([event.version, state]);
    }
    expect(seen).toHaveLength(2400);
    expect(seen[0]).toEqual([101, 101]);
    expect(seen.every(([version, state]) => version === state)).toBe(true);
    expect(seen.at(-1)).toEqual([2500, 2500]);
  });
});
