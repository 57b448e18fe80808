import { describe, expect, it } from 'vitest';
import {
  type Alert,
  type Clock,
  createConsistencyMonitor,
  createInMemoryCheckpointStore,
  createInMemoryEventStore,
  createInMemoryMetrics,
  createInMemorySnapshotStore,
  createLagProbe,
  createProjectionLagMonitor,
  createProjector,
  type Decider,
  type DomainEvent,
  expectedFromEvents,
  handleCommand,
  loadAggregate,
  monitoredProjector,
  type Projection,
  pollUntil,
  projectorBatchMetrics,
  type SnapshotOptions,
  type StoreTransaction,
  type StreamOperations,
  takeSnapshot,
} from '../src/index.js';

type AccountEvent = DomainEvent<'account.deposited', { amount: number }>;
const accounts: Decider<{ amount: number }, AccountEvent, { balance: number }> = {
  initialState: () => ({ balance: 0 }),
  decide: (command) => [{ type: 'account.deposited', data: { amount: command.amount } }],
  evolve: (state, event) => ({ balance: state.balance + event.data.amount }),
};

interface BalanceRow {
  balance: number;
  version: number;
}

/** A read model of balances, published on commit like every in-memory participant. */
function balancesProjection(rows: Map<string, BalanceRow>): Projection<StoreTransaction> {
  return {
    name: 'balances',
    categories: ['account'],
    async apply(events, tx) {
      const staged = new Map<string, BalanceRow>();
      for (const event of events) {
        const id = event.streamId.slice('account-'.length);
        const before = staged.get(id) ?? rows.get(id) ?? { balance: 0, version: 0 };
        staged.set(id, { balance: before.balance + (event.data as { amount: number }).amount, version: event.version });
      }
      tx.afterCommit(() => {
        for (const [id, row] of staged) rows.set(id, row);
      });
    },
  };
}

class TestClock implements Clock {
  constructor(public time = Date.parse('2025-01-01T00:00:00Z')) {}
  now = () => new Date(this.time);
}

async function setup(clock: Clock = new TestClock()) {
  const store = createInMemoryEventStore({ clock });
  const rows = new Map<string, BalanceRow>();
  const projector = createProjector({ store, projection: balancesProjection(rows), checkpoints: createInMemoryCheckpointStore() });
  const ids = Array.from({ length: 20 }, (_, i) => String(i + 1));
  for (const id of ids) {
    await handleCommand(store, accounts, `account-${id}`, { amount: Number(id) });
    await handleCommand(store, accounts, `account-${id}`, { amount: 100 });
  }
  return { store, rows, projector, ids };
}

describe('consistency monitor', () => {
  it('finds a corrupted read-model row, reports its id, drops the rate and alerts', async () => {
    const { store, rows, projector, ids } = await setup();
    await projector.start();
    expect(await projector.waitForPosition(await store.headPosition(), { timeoutMs: 5000 })).toBe(true);
    const alerts: Alert[] = [];
    const metrics = createInMemoryMetrics();
    const monitor = createConsistencyMonitor<BalanceRow>({
      name: 'balances',
      sample: async (n) => ids.slice(0, n),
      actual: async (id) => rows.get(id),
      expected: expectedFromEvents({
        store,
        streamId: (id) => `account-${id}`,
        evolver: accounts,
        toRow: (state, _id, version) => ({ balance: state.balance, version }),
      }),
      settle: async () => void (await projector.waitForPosition(await store.headPosition(), { timeoutMs: 5000 })),
      metrics,
      onAlert: (alert) => alerts.push(alert),
    });

    const healthy = await monitor.check();
    expect(healthy).toMatchObject({ checked: 20, consistent: 20, rate: 1, mismatches: [] });
    expect(alerts).toEqual([]);

    rows.set('7', { balance: 1_000_000, version: 2 });
    const corrupted = await monitor.check();
    expect(corrupted.rate).toBe(19 / 20);
    expect(corrupted.mismatches).toEqual([{ id: '7', actual: { balance: 1_000_000, version: 2 }, expected: { balance: 107, version: 2 } }]);
    expect(metrics.value('tidemark_consistency_rate', { read_model: 'balances' })).toBe(0.95);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ kind: 'consistency', subject: 'balances', value: 0.95, threshold: 0.99 });
    expect(alerts[0]?.details).toEqual({ mismatchedIds: ['7'] });
    await projector.stop();
  });

  it('does not count a row that is only behind when settle lets the projector catch up', async () => {
    const { store, rows, projector, ids } = await setup();
    // The projector has not run yet: every row is missing until settle starts it and waits.
    const monitor = createConsistencyMonitor<BalanceRow>({
      name: 'balances',
      sample: async () => ids,
      actual: async (id) => rows.get(id),
      expected: expectedFromEvents({
        store,
        streamId: (id) => `account-${id}`,
        evolver: accounts,
        toRow: (s, _i, v) => ({ balance: s.balance, version: v }),
      }),
      settle: async () => {
        await projector.start();
        await projector.waitForPosition(await store.headPosition(), { timeoutMs: 5000 });
      },
    });
    expect((await monitor.check()).rate).toBe(1);
    await projector.stop();
  });

  it("keeps the latest check's report, stamped by its clock, for readers that do not check", async () => {
    const clock = new TestClock();
    const { store, rows, projector, ids } = await setup(clock);
    await projector.start();
    await projector.waitForPosition(await store.headPosition(), { timeoutMs: 5000 });
    let samples = 0;
    const monitor = createConsistencyMonitor<BalanceRow>({
      name: 'balances',
      sample: async (n) => {
        samples++;
        return ids.slice(0, n);
      },
      actual: async (id) => rows.get(id),
      expected: expectedFromEvents({
        store,
        streamId: (id) => `account-${id}`,
        evolver: accounts,
        toRow: (s, _i, v) => ({ balance: s.balance, version: v }),
      }),
      clock,
    });
    expect(monitor.lastReport()).toBeUndefined();
    const first = await monitor.check();
    expect(first.checkedAt).toEqual(clock.now());
    expect(monitor.lastReport()).toBe(first);

    clock.time += 60_000;
    rows.set('3', { balance: -1, version: 2 });
    const second = await monitor.check();
    expect(monitor.lastReport()).toBe(second);
    expect(second.checkedAt).toEqual(new Date('2025-01-01T00:01:00Z'));
    expect(monitor.lastReport()?.rate).toBe(19 / 20);
    // Reading the report runs nothing: only the two checks sampled.
    expect(samples).toBe(2);
    await projector.stop();
  });
});

describe('expectedFromEvents with snapshots', () => {
  /** The real store, with a record of how each stream was read. */
  function recording(store: StreamOperations) {
    const reads: string[] = [];
    const wrapped: StreamOperations = {
      ...store,
      readStream: (streamId, options) => {
        reads.push(`readStream ${streamId} from ${options?.from ?? 1}`);
        return store.readStream(streamId, options);
      },
      aggregateStream: (streamId, evolver, options) => {
        reads.push(`aggregateStream ${streamId}`);
        return store.aggregateStream(streamId, evolver, options);
      },
    };
    return { wrapped, reads };
  }

  it('folds from the latest snapshot and expects what a full fold expects', async () => {
    const store = createInMemoryEventStore();
    for (let i = 1; i <= 7; i++) await handleCommand(store, accounts, 'account-a', { amount: i });
    await handleCommand(store, accounts, 'account-b', { amount: 5 });
    const snapshots: SnapshotOptions<{ balance: number }> = { store: createInMemorySnapshotStore(), version: 1 };
    const at5 = await loadAggregate(store, 'account-a', accounts, { upToVersion: 5 });
    const [fifth] = await store.readStream('account-a', { from: 5, to: 5 });
    await takeSnapshot(snapshots, 'account-a', at5.state, fifth as NonNullable<typeof fifth>);

    const { wrapped, reads } = recording(store);
    const options = {
      streamId: (id: string) => `account-${id}`,
      evolver: accounts,
      toRow: (state: { balance: number }, _id: string, version: number) => ({ balance: state.balance, version }),
    };
    const full = expectedFromEvents({ ...options, store });
    const fromSnapshot = expectedFromEvents({ ...options, store: wrapped, snapshots });
    for (const id of ['a', 'b', 'missing']) expect(await fromSnapshot(id)).toEqual(await full(id));
    expect(await fromSnapshot('a')).toEqual({ balance: 28, version: 7 });
    // Stream a: only the two events after the snapshot; b and missing have none, so they fold in full.
    expect(reads).toEqual([
      'readStream account-a from 6',
      'aggregateStream account-b',
      'aggregateStream account-missing',
      'readStream account-a from 6',
    ]);
  });

  it('folds the whole stream when the snapshot is of another schema version', async () => {
    const store = createInMemoryEventStore();
    for (let i = 1; i <= 4; i++) await handleCommand(store, accounts, 'account-a', { amount: i });
    const snapshotStore = createInMemorySnapshotStore();
    const [third] = await store.readStream('account-a', { from: 3, to: 3 });
    // A wrong state under the old schema version: it must not be used.
    await takeSnapshot({ store: snapshotStore, version: 1 }, 'account-a', { balance: 999 }, third as NonNullable<typeof third>);
    const problems: string[] = [];
    const expected = expectedFromEvents({
      store,
      streamId: (id) => `account-${id}`,
      evolver: accounts,
      toRow: (state, _id, version) => ({ balance: state.balance, version }),
      snapshots: { store: snapshotStore, version: 2, onError: (_error, problem) => problems.push(problem.reason) },
    });
    expect(await expected('a')).toEqual({ balance: 10, version: 4 });
    expect(problems).toEqual(['stale']);
  });
});

describe('lag probe', () => {
  it('measures append → read-model lag through waitForPosition and alerts when the projector stalls', async () => {
    const { store, projector } = await setup();
    await projector.start();
    const alerts: Alert[] = [];
    const metrics = createInMemoryMetrics();
    const probe = createLagProbe({
      store,
      readModels: [{ name: 'balances', shows: (marker, timeoutMs) => projector.waitForPosition(marker.position, { timeoutMs }) }],
      timeoutMs: 300,
      maxLagSeconds: 0.25,
      metrics,
      onAlert: (alert) => alerts.push(alert),
    });
    const [live] = await probe.probe();
    expect(live?.reached).toBe(true);
    expect(live?.seconds).toBeLessThan(0.25);
    expect(alerts).toEqual([]);

    await projector.stop();
    const [stalled] = await probe.probe();
    expect(stalled).toEqual({ name: 'balances', seconds: 0.3, reached: false });
    expect(metrics.value('tidemark_replication_lag_seconds', { read_model: 'balances' })).toBe(0.3);
    expect(alerts).toMatchObject([{ kind: 'lag', subject: 'balances', threshold: 0.25 }]);
  });
});

describe('projection lag monitor', () => {
  it('reports events and seconds behind from the checkpoint, and zero once caught up', async () => {
    const clock = new TestClock();
    const { store, projector } = await setup(clock);
    const alerts: Alert[] = [];
    const metrics = createInMemoryMetrics();
    const monitor = createProjectionLagMonitor({
      store,
      projections: [{ name: 'balances', checkpoint: async () => projector.status().checkpoint, categories: ['account'] }],
      clock,
      metrics,
      onAlert: (alert) => alerts.push(alert),
    });
    // Events of another category are not lag of this projection.
    await store.appendToStream('other-1', [{ type: 'other.happened', data: {} }]);
    clock.time += 7_000;
    const [behind] = await monitor.measure();
    expect(behind).toMatchObject({ name: 'balances', checkpoint: 0n, eventsBehind: 40, exact: true, secondsBehind: 7 });
    expect(metrics.value('tidemark_projection_events_behind', { projection: 'balances' })).toBe(40);
    expect(alerts).toMatchObject([{ kind: 'lag', subject: 'balances', value: 7, threshold: 5 }]);

    await projector.start();
    expect(await projector.waitForPosition(await store.headPosition(), { timeoutMs: 5000 })).toBe(true);
    const [caughtUp] = await monitor.measure();
    expect(caughtUp).toMatchObject({ eventsBehind: 0, secondsBehind: 0 });
    expect(metrics.value('tidemark_projection_lag_seconds', { projection: 'balances' })).toBe(0);
    await projector.stop();
  });

  it('caps the count on a long backlog and says it is a lower bound', async () => {
    const { store } = await setup();
    const monitor = createProjectionLagMonitor({ store, projections: [{ name: 'balances', checkpoint: async () => 0n }], countLimit: 10 });
    const [lag] = await monitor.measure();
    expect(lag).toMatchObject({ eventsBehind: 10, exact: false, head: 40n });
  });
});

describe('projector batch metrics', () => {
  it('counts applied events, times batches and follows the checkpoint through onBatch', async () => {
    const store = createInMemoryEventStore();
    const metrics = createInMemoryMetrics();
    const rows = new Map<string, BalanceRow>();
    const projector = createProjector({
      store,
      projection: balancesProjection(rows),
      checkpoints: createInMemoryCheckpointStore(),
      batchSize: 4,
      onBatch: projectorBatchMetrics(metrics),
    });
    for (let i = 0; i < 10; i++) await handleCommand(store, accounts, `account-${i % 3}`, { amount: 1 });
    await projector.start();
    expect(await projector.waitForPosition(10n, { timeoutMs: 5000 })).toBe(true);
    const labels = { projection: 'balances' };
    expect(metrics.value('tidemark_projection_events_applied_total', labels)).toBe(10);
    expect(metrics.value('tidemark_projection_checkpoint_position', labels)).toBe(10);
    expect(metrics.observations('tidemark_projection_batch_duration_seconds', labels).length).toBeGreaterThanOrEqual(3);
    const lag = createProjectionLagMonitor({ store, projections: [monitoredProjector(projector, { categories: ['account'] })] });
    expect(await lag.measure()).toMatchObject([{ name: 'balances', checkpoint: 10n, eventsBehind: 0 }]);
    await projector.stop();
  });
});

describe('pollUntil', () => {
  it('is true as soon as the condition holds, false when the timeout passes first', async () => {
    let calls = 0;
    expect(await pollUntil(async () => ++calls >= 3, 1000)).toBe(true);
    expect(calls).toBe(3);
    const started = performance.now();
    expect(await pollUntil(async () => false, 50)).toBe(false);
    expect(performance.now() - started).toBeGreaterThanOrEqual(49);
  });

  it('serves a lag probe for a read model that has no position to wait on', async () => {
    const { store, projector } = await setup();
    await projector.start();
    const probe = createLagProbe({
      store,
      readModels: [
        {
          name: 'balances',
          shows: (marker, timeoutMs) => pollUntil(async () => projector.status().checkpoint >= marker.position, timeoutMs),
        },
      ],
    });
    const [measured] = await probe.probe();
    expect(measured?.reached).toBe(true);
    expect(projector.status().checkpoint).toBe(await store.headPosition());
    await projector.stop();
  });
});

describe('lag probe deadline', () => {
  it('reports a read model whose check never answers as not reached, instead of hanging', async () => {
    const store = createInMemoryEventStore();
    const probe = createLagProbe({ store, timeoutMs: 30, readModels: [{ name: 'stuck', shows: () => new Promise(() => {}) }] });
    expect(await probe.probe()).toEqual([{ name: 'stuck', seconds: 0.03, reached: false }]);
  });
});
