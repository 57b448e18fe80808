import { deflateRawSync } from 'node:zlib';
import {
  ArchiveNotCoveredError,
  archiveStream,
  type Clock,
  createStateCache,
  type Decider,
  type EventStore,
  encodeSnapshotState,
  handleCommand,
  jsonSnapshotSerializer,
  loadAggregate,
  type RecordedEvent,
  type Snapshot,
  type SnapshotOptions,
  type SnapshotProblem,
  type SnapshotStore,
  StreamDeletedError,
  StreamTruncatedError,
  snapshotsSettled,
  streamHistory,
  ValidationError,
} from '@tidemark/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../waitFor.js';
import { createManualClock } from './manualClock.js';
import { caught, readAllEvents } from './storeSnapshot.js';

/** The one-line bridge: a fresh event store and the snapshot store beside it. */
export interface SnapshotStoreHarness {
  create(options?: { clock?: Clock }): Promise<{ events: EventStore; snapshots: SnapshotStore }>;
  teardown?(): Promise<void>;
}

type AccountCommand = { type: 'deposit'; amount: number } | { type: 'withdraw'; amount: number };
type AccountEvent = { type: 'money.deposited'; data: { amount: number } } | { type: 'money.withdrawn'; data: { amount: number } };

const account: Decider<AccountCommand, AccountEvent, { balance: number; moves: number }> = {
  initialState: () => ({ balance: 0, moves: 0 }),
  decide: (command) => [
    command.type === 'deposit'
      ? { type: 'money.deposited', data: { amount: command.amount } }
      : { type: 'money.withdrawn', data: { amount: command.amount } },
  ],
  evolve: (state, event) => ({
    balance: state.balance + (event.type === 'money.deposited' ? event.data.amount : -event.data.amount),
    moves: state.moves + 1,
  }),
};

const deposit = (amount: number) => ({ type: 'money.deposited', data: { amount } });

function snapshotOf(overrides: Partial<Snapshot>): Snapshot {
  return {
    streamId: 'account-1',
    name: 'state',
    streamVersion: 1,
    position: 1n,
    recordedAt: new Date('2026-01-01T00:00:00.000Z'),
    schemaVersion: 1,
    payload: encodeSnapshotState({ balance: 1, moves: 1 }, jsonSnapshotSerializer),
    ...overrides,
  };
}

/**
 * What every snapshot store must do, and what loading with snapshots gives on top of it:
 * the latest snapshot at or before a target, erasure per stream, and a fallback to the events
 * (reported, never thrown) for snapshots that cannot be used.
 */
export function snapshotStoreContract(adapter: string, harness: SnapshotStoreHarness): void {
  describe(`SnapshotStore contract: ${adapter}`, () => {
    const open: EventStore[] = [];
    afterEach(async () => {
      await Promise.all(open.splice(0).map((store) => store.close()));
    });
    afterAll(async () => {
      await harness.teardown?.();
    });
    async function world(clock?: Clock) {
      const created = await harness.create(clock ? { clock } : {});
      open.push(created.events);
      const problems: Array<SnapshotProblem & { error: unknown }> = [];
      const policy = (overrides: Partial<SnapshotOptions<{ balance: number; moves: number }>> = {}) => ({
        store: created.snapshots,
        version: 1,
        every: 10,
        onError: (error: unknown, problem: SnapshotProblem) => problems.push({ ...problem, error }),
        ...overrides,
      });
      return { ...created, problems, policy };
    }
    /** n deposits of 1..n, one per append, one minute apart. */
    async function deposits(events: EventStore, n: number, clock?: ReturnType<typeof createManualClock>) {
      const appended: RecordedEvent[] = [];
      for (let i = 1; i <= n; i++) {
        appended.push(...(await events.appendToStream('account-1', [deposit(i)])).events);
        clock?.advance(60_000);
      }
      return appended;
    }

    it('keeps every snapshot and loads the latest at or before a version or an instant', async () => {
      const { snapshots } = await world();
      const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute));
      for (const version of [10, 20, 30]) {
        await snapshots.save(
          snapshotOf({
            streamVersion: version,
            position: BigInt(version * 7),
            recordedAt: at(version),
            payload: Uint8Array.of(version, 0, 255),
          }),
        );
      }
      await snapshots.save(snapshotOf({ name: 'other', streamVersion: 40, position: 280n, recordedAt: at(40) }));
      const latest = await snapshots.load('account-1', 'state');
      expect(latest).toEqual(
        snapshotOf({ streamVersion: 30, position: 210n, recordedAt: at(30), payload: expect.any(Uint8Array) as unknown as Uint8Array }),
      );
      expect([...(latest?.payload ?? [])]).toEqual([30, 0, 255]);
      expect((await snapshots.load('account-1', 'state', { maxVersion: 29 }))?.streamVersion).toBe(20);
      expect((await snapshots.load('account-1', 'state', { maxVersion: 20 }))?.streamVersion).toBe(20);
      expect((await snapshots.load('account-1', 'state', { asOf: at(25) }))?.streamVersion).toBe(20);
      expect((await snapshots.load('account-1', 'state', { asOf: at(25), maxVersion: 15 }))?.streamVersion).toBe(10);
      // The earliest and the latest time a Date holds, beyond what a database timestamp can.
      expect(await snapshots.load('account-1', 'state', { asOf: new Date(-8.64e15) })).toBeUndefined();
      expect((await snapshots.load('account-1', 'state', { asOf: new Date(8.64e15) }))?.streamVersion).toBe(30);
      expect(await snapshots.load('account-1', 'state', { maxVersion: 9 })).toBeUndefined();
      expect(await snapshots.load('account-2', 'state')).toBeUndefined();
      expect((await snapshots.load('account-1', 'other'))?.streamVersion).toBe(40);
      // The same stream, name and version again replaces the snapshot.
      await snapshots.save(snapshotOf({ streamVersion: 30, position: 210n, recordedAt: at(30), schemaVersion: 2 }));
      expect((await snapshots.load('account-1', 'state'))?.schemaVersion).toBe(2);
    });

    it('erases every snapshot of one stream, and only of that stream', async () => {
      const { snapshots } = await world();
      await snapshots.save(snapshotOf({ streamVersion: 1 }));
      await snapshots.save(snapshotOf({ name: 'other', streamVersion: 2 }));
      await snapshots.save(snapshotOf({ streamId: 'account-2' }));
      await snapshots.deleteStream('account-1');
      expect(await snapshots.load('account-1', 'state')).toBeUndefined();
      expect(await snapshots.load('account-1', 'other')).toBeUndefined();
      expect(await snapshots.load('account-2', 'state')).toBeDefined();
      await snapshots.deleteStream('account-9');
    });

    it('refuses malformed snapshots and queries with nothing stored', async () => {
      const { snapshots } = await world();
      const bad: Array<Partial<Snapshot>> = [
        { streamId: '' },
        { name: '' },
        { streamVersion: 0 },
        { streamVersion: 1.5 },
        { schemaVersion: 0 },
        { position: 0n },
        { position: 1 as unknown as bigint },
        { recordedAt: new Date(Number.NaN) },
        { payload: 'text' as unknown as Uint8Array },
      ];
      for (const overrides of bad) {
        await expect(snapshots.save(snapshotOf(overrides)), JSON.stringify(Object.keys(overrides))).rejects.toBeInstanceOf(ValidationError);
      }
      expect(await snapshots.load('account-1', 'state')).toBeUndefined();
      await expect(snapshots.load('account-1', 'state', { maxVersion: -1 })).rejects.toBeInstanceOf(ValidationError);
      await expect(snapshots.load('account-1', 'state', { asOf: new Date(Number.NaN) })).rejects.toBeInstanceOf(ValidationError);
    });

    it('loads from the latest snapshot plus the events after it, as of now, a version or an instant', async () => {
      const clock = createManualClock(new Date('2026-03-01T09:00:00.000Z'));
      const { events, snapshots, policy, problems } = await world(clock);
      const appended = await deposits(events, 25, clock);
      for (const version of [10, 20]) {
        const state = await events.aggregateStream('account-1', account, { upToVersion: version });
        const at = appended[version - 1] as RecordedEvent;
        await snapshots.save(
          snapshotOf({
            streamVersion: version,
            position: at.position,
            recordedAt: at.recordedAt,
            payload: encodeSnapshotState(state.state, jsonSnapshotSerializer),
          }),
        );
      }
      const full = await events.aggregateStream('account-1', account);
      const loaded = await loadAggregate(events, 'account-1', account, { snapshots: policy() });
      expect(loaded).toEqual({ ...full, snapshotVersion: 20 });
      for (const upToVersion of [5, 10, 15, 20, 25]) {
        const expected = await events.aggregateStream('account-1', account, { upToVersion });
        expect(await loadAggregate(events, 'account-1', account, { snapshots: policy(), upToVersion })).toEqual({
          ...expected,
          snapshotVersion: upToVersion >= 20 ? 20 : upToVersion >= 10 ? 10 : 0,
        });
      }
      const asOf = new Date((appended[14] as RecordedEvent).recordedAt.getTime() + 30_000);
      expect(await loadAggregate(events, 'account-1', account, { snapshots: policy(), asOf })).toEqual({
        ...(await events.aggregateStream('account-1', account, { asOf })),
        snapshotVersion: 10,
      });
      expect(problems).toEqual([]);
    });

    it('falls back to the events, reporting it, for an unreadable or stale snapshot', async () => {
      const { events, snapshots, policy, problems } = await world();
      const appended = await deposits(events, 12);
      const full = await events.aggregateStream('account-1', account);
      const at = appended[9] as RecordedEvent;
      const save = (payload: Uint8Array, schemaVersion = 1) =>
        snapshots.save(snapshotOf({ streamVersion: 10, position: at.position, recordedAt: at.recordedAt, payload, schemaVersion }));

      await save(Uint8Array.of(1, 2, 3, 4));
      expect(await loadAggregate(events, 'account-1', account, { snapshots: policy() })).toEqual({ ...full, snapshotVersion: 0 });
      await save(deflateRawSync('{"balance": 55, "mov'));
      expect(await loadAggregate(events, 'account-1', account, { snapshots: policy() })).toEqual({ ...full, snapshotVersion: 0 });
      await save(encodeSnapshotState({ balance: 55, moves: 10 }, jsonSnapshotSerializer));
      const refusing = {
        serialize: (state: unknown) => state,
        deserialize: (): never => {
          throw new Error('unknown shape');
        },
      };
      expect(await loadAggregate(events, 'account-1', account, { snapshots: policy({ serializer: refusing }) })).toEqual({
        ...full,
        snapshotVersion: 0,
      });
      expect(await loadAggregate(events, 'account-1', account, { snapshots: policy({ version: 2 }) })).toEqual({
        ...full,
        snapshotVersion: 0,
      });
      expect(problems.map((p) => [p.reason, p.streamVersion])).toEqual([
        ['unreadable', 10],
        ['unreadable', 10],
        ['unreadable', 10],
        ['stale', 10],
      ]);
      // And with the current version it is used.
      expect((await loadAggregate(events, 'account-1', account, { snapshots: policy() })).snapshotVersion).toBe(10);
    });

    it('snapshots every N events from handleCommand, off the command path, with and without a cache', async () => {
      const { events, snapshots, policy, problems } = await world();
      const cache = createStateCache();
      for (let i = 1; i <= 25; i++) {
        const options = i % 2 === 0 ? { snapshots: policy(), cache } : { snapshots: policy() };
        await handleCommand(events, account, 'account-1', { type: 'deposit', amount: i }, options);
        // Snapshots are written in the background; settling each keeps which ones exist deterministic.
        await snapshotsSettled(snapshots);
      }
      await waitFor(async () => (await snapshots.load('account-1', 'state'))?.streamVersion === 20, 'the snapshot at version 20');
      await snapshotsSettled(snapshots);
      expect((await snapshots.load('account-1', 'state', { maxVersion: 19 }))?.streamVersion).toBe(10);
      const loaded = await loadAggregate(events, 'account-1', account, { snapshots: policy() });
      expect(loaded).toEqual({ state: { balance: 325, moves: 25 }, version: 25, exists: true, snapshotVersion: 20 });
      // Inside a transaction the snapshot waits for the commit.
      for (let i = 26; i <= 30; i++) {
        await events.transaction((tx) => handleCommand(tx, account, 'account-1', { type: 'deposit', amount: i }, { snapshots: policy() }));
      }
      await waitFor(async () => (await snapshots.load('account-1', 'state'))?.streamVersion === 30, 'the snapshot at version 30');
      expect(problems).toEqual([]);
    });

    it('takes a first snapshot of a long stream that has none, and replaces a stale one', async () => {
      const { events, snapshots, policy } = await world();
      await deposits(events, 33);
      await handleCommand(events, account, 'account-1', { type: 'deposit', amount: 1 }, { snapshots: policy() });
      await waitFor(async () => (await snapshots.load('account-1', 'state'))?.streamVersion === 34, 'a snapshot of the long stream');
      await handleCommand(events, account, 'account-1', { type: 'deposit', amount: 1 }, { snapshots: policy({ version: 2 }) });
      await waitFor(async () => (await snapshots.load('account-1', 'state'))?.schemaVersion === 2, 'a snapshot of the new version');
      expect((await snapshots.load('account-1', 'state'))?.streamVersion).toBe(35);
    });

    it('answers "what was the balance at 10 AM yesterday?" and the history since', async () => {
      const clock = createManualClock(new Date('2026-03-01T08:00:00.000Z'));
      const { events, policy } = await world(clock);
      // One deposit of 1..24 each hour from 08:00, every command through handleCommand.
      for (let i = 1; i <= 24; i++) {
        await handleCommand(events, account, 'account-1', { type: 'deposit', amount: i }, { snapshots: policy({ every: 5 }) });
        await snapshotsSettled(policy().store);
        clock.advance(3_600_000);
      }
      const tenAm = new Date('2026-03-01T10:00:00.000Z');
      const atTen = await loadAggregate(events, 'account-1', account, { asOf: tenAm, snapshots: policy({ every: 5 }) });
      expect(atTen.state).toEqual({ balance: 1 + 2 + 3, moves: 3 });
      const history = [];
      for await (const entry of streamHistory(events, 'account-1', account, {
        from: tenAm,
        to: new Date('2026-03-01T13:00:00.000Z'),
        snapshots: policy(),
      })) {
        history.push([entry.event.version, entry.event.recordedAt.toISOString(), entry.state.balance]);
      }
      expect(history).toEqual([
        [4, '2026-03-01T11:00:00.000Z', 10],
        [5, '2026-03-01T12:00:00.000Z', 15],
        [6, '2026-03-01T13:00:00.000Z', 21],
      ]);
      const late = await loadAggregate(events, 'account-1', account, { asOf: new Date('2026-03-01T20:30:00.000Z'), snapshots: policy() });
      expect(late).toMatchObject({ version: 13, state: { balance: 91 }, snapshotVersion: 10 });
      await expect(streamHistory(events, 'account-1', account, { from: new Date(2), to: new Date(1) }).next()).rejects.toBeInstanceOf(
        ValidationError,
      );
    });

    it('archives only what a valid snapshot covers, and the state stays loadable', async () => {
      const { events, snapshots, policy } = await world();
      await deposits(events, 25);
      // The first command snapshots the long stream (version 26); the next three pass no multiple of 10.
      for (let i = 0; i < 4; i++) {
        await handleCommand(events, account, 'account-1', { type: 'deposit', amount: 0 }, { snapshots: policy() });
        await snapshotsSettled(snapshots);
      }
      const covered = 26;
      expect((await snapshots.load('account-1', 'state'))?.streamVersion).toBe(covered);
      const before = await loadAggregate(events, 'account-1', account, { snapshots: policy() });
      const log = await readAllEvents(events);

      const refused = await caught(
        () => archiveStream(events, 'account-1', { beforeVersion: covered + 2, snapshots: policy() }),
        ArchiveNotCoveredError,
      );
      expect(refused).toMatchObject({ code: 'validation', details: { streamId: 'account-1', snapshotVersion: covered } });
      // A stale snapshot covers nothing.
      await expect(archiveStream(events, 'account-1', { beforeVersion: 2, snapshots: policy({ version: 9 }) })).rejects.toBeInstanceOf(
        ArchiveNotCoveredError,
      );
      expect(await readAllEvents(events)).toEqual(log);

      const archived: number[] = [];
      const result = await archiveStream(events, 'account-1', {
        beforeVersion: covered + 1,
        snapshots: policy(),
        archive: (page) => void archived.push(...page.map((e) => e.version)),
      });
      expect(result).toEqual({ removed: covered, firstVersion: covered + 1 });
      expect(archived).toEqual(Array.from({ length: covered }, (_, i) => i + 1));
      expect(await loadAggregate(events, 'account-1', account, { snapshots: policy() })).toEqual(before);
      await expect(loadAggregate(events, 'account-1', account)).rejects.toBeInstanceOf(StreamTruncatedError);
      // Before the archived point only a snapshot can answer.
      await expect(loadAggregate(events, 'account-1', account, { snapshots: policy(), upToVersion: covered - 1 })).rejects.toBeInstanceOf(
        StreamTruncatedError,
      );
      const next = await handleCommand(events, account, 'account-1', { type: 'deposit', amount: 5 }, { snapshots: policy() });
      expect(next.state.balance).toBe(before.state.balance + 5);

      await events.tombstoneStream('account-1');
      await expect(loadAggregate(events, 'account-1', account, { snapshots: policy() })).rejects.toBeInstanceOf(StreamDeletedError);
      await expect(archiveStream(events, 'account-1', { beforeVersion: 2, snapshots: policy() })).rejects.toBeInstanceOf(
        StreamDeletedError,
      );
    });
  });
}
