import { randomUUID } from 'node:crypto';
import { ConcurrencyError, type EventStore, type ExpectedVersion, type NewEvent, type RecordedEvent } from '@tidemark/core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EventStoreHarness } from './eventStoreHarness.js';
import { useHarness } from './harnessLifetime.js';
import { readAllEvents, waitForHead } from './storeSnapshot.js';
import { useStores } from './useStores.js';

/** What the store should hold, kept the obvious way. */
interface Model {
  streams: Map<string, RecordedEvent[]>;
  log: RecordedEvent[];
  /** The last written batch per stream, with its outcome: material for idempotent retries. */
  lastBatch: Map<string, { events: NewEvent[]; nextExpectedVersion: number; position: bigint }>;
}

interface Real {
  store: EventStore;
  /** This run's own category, so that one store serves every run. */
  category: string;
}

type VersionKind = 'correct' | 'stale' | 'ahead' | 'any' | 'no_stream' | 'stream_exists';

const streamCount = 3;
const streamId = (real: Real, stream: number) => `${real.category}-s${stream}`;
/** The observable identity of an event; positions are checked separately, as they may be sparse. */
const shape = (e: RecordedEvent) => ({ id: e.id, streamId: e.streamId, version: e.version, type: e.type, data: e.data });

class AppendCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly stream: number,
    readonly kind: VersionKind,
    readonly count: number,
    readonly supplyIds: boolean,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const id = streamId(real, this.stream);
    const current = model.streams.get(id)?.length ?? 0;
    const expectedVersion: ExpectedVersion =
      this.kind === 'correct'
        ? current
        : this.kind === 'stale'
          ? Math.max(0, current - 1) + (current === 0 ? 1 : 0)
          : this.kind === 'ahead'
            ? current + 1
            : this.kind;
    const accepted =
      expectedVersion === 'any' ||
      (expectedVersion === 'no_stream' && current === 0) ||
      (expectedVersion === 'stream_exists' && current > 0) ||
      expectedVersion === current;
    const events: NewEvent[] = Array.from({ length: this.count }, (_, i) => ({
      type: `model.e${(current + i) % 3}`,
      data: { stream: this.stream, n: current + i + 1 },
      ...(this.supplyIds && { id: randomUUID() }),
    }));
    if (!accepted) {
      const error = await real.store.appendToStream(id, events, { expectedVersion }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConcurrencyError);
      expect((error as ConcurrencyError).actual).toBe(current);
      return;
    }
    const result = await real.store.appendToStream(id, events, { expectedVersion });
    expect(result.written).toBe(true);
    expect(result.nextExpectedVersion).toBe(current + this.count);
    expect(result.events.map((e) => e.version)).toEqual(events.map((_, i) => current + i + 1));
    expect(result.events.map((e) => e.data)).toEqual(events.map((e) => e.data));
    const lastPosition = model.log[model.log.length - 1]?.position ?? 0n;
    let previous = lastPosition;
    for (const event of result.events) {
      expect(event.position).toBeGreaterThan(previous);
      previous = event.position;
    }
    expect(result.position).toBe(previous);
    model.streams.set(id, [...(model.streams.get(id) ?? []), ...result.events]);
    model.log.push(...result.events);
    if (this.supplyIds) model.lastBatch.set(id, { events, nextExpectedVersion: result.nextExpectedVersion, position: result.position });
  }
  toString = () => `append(s${this.stream}, ${this.kind}, ${this.count}${this.supplyIds ? ', ids' : ''})`;
}

class RetryCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly stream: number) {}
  check = (model: Readonly<Model>) => [...model.lastBatch.keys()].some((id) => id.endsWith(`-s${this.stream}`));
  async run(model: Model, real: Real): Promise<void> {
    const id = streamId(real, this.stream);
    const batch = model.lastBatch.get(id);
    if (!batch) return;
    // Re-sent with the version it was first written at, which is stale once the stream moved on.
    const firstVersion = batch.nextExpectedVersion - batch.events.length;
    const result = await real.store.appendToStream(id, batch.events, { expectedVersion: firstVersion });
    expect(result).toMatchObject({ written: false, nextExpectedVersion: batch.nextExpectedVersion, position: batch.position });
  }
  toString = () => `retry(s${this.stream})`;
}

/** Two appends in one transaction (possibly to one stream), committed or abandoned. */
class TransactionCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly first: number,
    readonly second: number,
    readonly rollback: boolean,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const [a, b] = [streamId(real, this.first), streamId(real, this.second)];
    const versionOf = (id: string) => model.streams.get(id)?.length ?? 0;
    const abandon = new Error('abandoned');
    const outcome = await real.store
      .transaction(async (tx) => {
        const ra = await tx.appendToStream(a, [{ type: 'model.tx', data: { stream: this.first } }], { expectedVersion: versionOf(a) });
        // The second append's expected version counts the first one when both go to one stream.
        const rb = await tx.appendToStream(b, [{ type: 'model.tx', data: { stream: this.second } }], {
          expectedVersion: versionOf(b) + (a === b ? 1 : 0),
        });
        if (this.rollback) throw abandon;
        return [...ra.events, ...rb.events];
      })
      .catch((error: unknown) => error);
    if (this.rollback) {
      expect(outcome).toBe(abandon);
      return;
    }
    const events = outcome as RecordedEvent[];
    let previous = model.log[model.log.length - 1]?.position ?? 0n;
    for (const event of events) {
      expect(event.position).toBeGreaterThan(previous);
      previous = event.position;
      const stream = model.streams.get(event.streamId) ?? [];
      expect(event.version).toBe(stream.length + 1);
      model.streams.set(event.streamId, [...stream, event]);
      model.log.push(event);
    }
  }
  toString = () => `transaction(s${this.first}, s${this.second}${this.rollback ? ', rollback' : ''})`;
}

class ReadStreamCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly stream: number,
    readonly direction: 'forwards' | 'backwards',
    readonly from: number | undefined,
    readonly to: number | undefined,
    readonly limit: number | undefined,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const id = streamId(real, this.stream);
    const all = model.streams.get(id) ?? [];
    const forwards = this.direction === 'forwards';
    const low = (forwards ? this.from : this.to) ?? 1;
    const high = (forwards ? this.to : this.from) ?? Number.MAX_SAFE_INTEGER;
    const expected = all.filter((e) => e.version >= low && e.version <= high);
    if (!forwards) expected.reverse();
    const options = {
      direction: this.direction,
      ...(this.from !== undefined && { from: this.from }),
      ...(this.to !== undefined && { to: this.to }),
      ...(this.limit !== undefined && { limit: this.limit }),
    };
    const actual = await real.store.readStream(id, options);
    expect(actual).toEqual(expected.slice(0, this.limit ?? expected.length));
  }
  toString = () => `readStream(s${this.stream}, ${this.direction}, from ${this.from}, to ${this.to}, limit ${this.limit})`;
}

class ReadAllCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly afterIndex: number,
    readonly limit: number | undefined,
    readonly batchSize: number,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    // after = the position of one of this run's events (or 0): a checkpoint a reader could hold.
    const last = model.log[model.log.length - 1];
    if (last) await waitForHead(real.store, last.position);
    const index = Math.min(this.afterIndex, model.log.length);
    const after = index === 0 ? 0n : (model.log[index - 1]?.position ?? 0n);
    const expected = model.log.slice(index, this.limit === undefined ? undefined : index + this.limit);
    const actual = await readAllEvents(real.store, {
      after,
      categories: [real.category],
      batchSize: this.batchSize,
      ...(this.limit !== undefined && { limit: this.limit }),
    });
    expect(actual.map(shape)).toEqual(expected.map(shape));
    expect(actual.map((e) => e.position)).toEqual(expected.map((e) => e.position));
    // Runs are sequential, so this run's last event is the store's last event.
    if (last) expect(await real.store.headPosition()).toBe(last.position);
  }
  toString = () => `readAll(after #${this.afterIndex}, limit ${this.limit}, batch ${this.batchSize})`;
}

const stream = fc.integer({ min: 0, max: streamCount - 1 });
const append = fc
  .tuple(
    stream,
    fc.constantFrom<VersionKind>('correct', 'correct', 'stale', 'ahead', 'any', 'no_stream', 'stream_exists'),
    fc.integer({ min: 1, max: 3 }),
    fc.boolean(),
  )
  .map(([s, kind, count, ids]) => new AppendCommand(s, kind, count, ids));
// Appends appear twice so that streams grow long enough for ranges and limits to bite.
const commands = [
  append,
  append,
  stream.map((s) => new RetryCommand(s)),
  fc.tuple(stream, stream, fc.boolean()).map(([a, b, rollback]) => new TransactionCommand(a, b, rollback)),
  fc
    .tuple(
      stream,
      fc.constantFrom<'forwards' | 'backwards'>('forwards', 'backwards'),
      fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
      fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
      fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
    )
    .map(([s, direction, from, to, limit]) => new ReadStreamCommand(s, direction, from, to, limit)),
  fc
    .tuple(fc.integer({ min: 0, max: 20 }), fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }), fc.integer({ min: 1, max: 4 }))
    .map(([afterIndex, limit, batchSize]) => new ReadAllCommand(afterIndex, limit, batchSize)),
];

export interface EventStoreModelContractOptions {
  /** Random command sequences to run. Default 60. */
  numRuns?: number;
  /** Longest sequence. Default 30. */
  maxCommands?: number;
}

/**
 * Random sequences of appends (every expected-version form, correct or not, with and without
 * ids), idempotent retries, committed and abandoned two-stream transactions, stream reads and
 * global reads, checked against a Map-of-arrays
 * model. One store serves all runs; each run writes to its own category.
 */
export function eventStoreModelContract(name: string, harness: EventStoreHarness, options: EventStoreModelContractOptions = {}): void {
  describe(`EventStore model: ${name}`, () => {
    useHarness(harness);
    describe('random command sequences', () => {
      const open = useStores(harness, 'all');
      let store: EventStore;
      beforeAll(async () => {
        store = await open();
      });

      it('agrees with a trivially correct model', { timeout: 180_000 }, async () => {
        let run = 0;
        await fc.assert(
          fc.asyncProperty(fc.commands(commands, { maxCommands: options.maxCommands ?? 30, size: 'max' }), (cmds) =>
            fc.asyncModelRun(() => {
              run++;
              return {
                model: { streams: new Map(), log: [], lastBatch: new Map() },
                real: { store, category: `m${run}x` },
              };
            }, cmds),
          ),
          { numRuns: options.numRuns ?? 60 },
        );
      });
    });
  });
}
