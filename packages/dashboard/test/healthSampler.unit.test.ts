import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConsistencyMonitor, createConsistencyMonitor, ValidationError } from '@tidemark/core';
import { createSqliteEventBrowser, createSqliteEventStore, type SqliteEventStore } from '@tidemark/sqlite';
import { createManualClock, waitFor } from '@tidemark/testing';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type HealthSample, type HealthSampler, startHealthSampler } from '../src/healthSampler.js';

const dir = mkdtempSync(join(tmpdir(), 'tidemark-health-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** The real object, with a record of every member the sampler touched. */
function recorded<T extends object>(target: T): { proxy: T; used: Set<string> } {
  const used = new Set<string>();
  const proxy = new Proxy(target, {
    get(object, key, receiver) {
      if (typeof key === 'string') used.add(key);
      return Reflect.get(object, key, receiver);
    },
  });
  return { proxy, used };
}

/**
 * A consistency monitor over two rows, one of which is wrong while `wrong` holds (rate 0.5, else
 * 1). `checks` counts its checks; `gate`, when set, holds a check until it resolves.
 */
function twoRowMonitor(clock?: { now(): Date }) {
  const state = { checks: 0, wrong: true, gate: undefined as Promise<void> | undefined };
  const monitor = createConsistencyMonitor<number>({
    name: 'rows',
    sample: async () => {
      state.checks++;
      await state.gate;
      return ['a', 'b'];
    },
    actual: async (id) => (id === 'b' && state.wrong ? 2 : 1),
    expected: async () => 1,
    ...(clock && { clock }),
  });
  return { monitor: monitor as ConsistencyMonitor<unknown>, state };
}

describe('the health sampler', () => {
  let store: SqliteEventStore;
  let sampler: HealthSampler | undefined;

  beforeEach(() => {
    store = createSqliteEventStore({ file: join(dir, `health${n++}.db`) });
  });
  afterEach(async () => {
    await sampler?.stop();
    sampler = undefined;
    await store.close();
  });

  const start = (options: { consistency?: ConsistencyMonitor<unknown>[]; consistencyIntervalMs?: number }) => {
    const storeUse = recorded(store);
    const browserUse = recorded(createSqliteEventBrowser(store));
    const samples: HealthSample[] = [];
    const errors: unknown[] = [];
    sampler = startHealthSampler({
      store: storeUse.proxy,
      browser: browserUse.proxy,
      overview: async () => [],
      consistency: options.consistency ?? [],
      consistencyIntervalMs: options.consistencyIntervalMs ?? 60_000,
      intervalMs: 10,
      keep: 1000,
      onError: (error) => errors.push(error),
    });
    sampler.onSample((sample) => samples.push(sample));
    return { samples, errors, storeUsed: storeUse.used, browserUsed: browserUse.used };
  };

  it('counts appended events with the browser, never reading one', async () => {
    await store.appendToStream('order-1', [{ type: 'order.placed', data: {} }]);
    const counted: number[] = [];
    const browser = createSqliteEventBrowser(store);
    const countUse = recorded({
      countEvents: async (range: Parameters<typeof browser.countEvents>[0]) => {
        const count = await browser.countEvents(range);
        counted.push(count);
        return count;
      },
    });
    const storeUse = recorded(store);
    const samples: HealthSample[] = [];
    const errors: unknown[] = [];
    sampler = startHealthSampler({
      store: storeUse.proxy,
      browser: countUse.proxy,
      overview: async () => [],
      consistency: [],
      consistencyIntervalMs: 60_000,
      intervalMs: 10,
      keep: 1000,
      onError: (error) => errors.push(error),
    });
    sampler.onSample((sample) => samples.push(sample));
    await waitFor(() => counted.length >= 1, 'a first count');
    for (let i = 0; i < 5; i++)
      await store.appendToStream(
        `order-${i + 2}`,
        Array.from({ length: 10 }, () => ({ type: 'x', data: {} })),
      );
    // The event before the sampler started is behind its first head: only the 50 are counted.
    await waitFor(() => counted.reduce((a, b) => a + b, 0) === 50, 'the 50 appended events counted');
    await waitFor(() => samples.some((sample) => sample.appendRate > 0), 'a sample with an append rate');
    expect(counted.reduce((a, b) => a + b, 0)).toBe(50);
    expect([...storeUse.used]).toEqual(['headPosition']);
    expect([...countUse.used]).toEqual(['countEvents']);
    expect(errors).toEqual([]);
  });

  it('touches nothing of the store but its head, nor of the browser but its count', async () => {
    const { samples, errors, storeUsed, browserUsed } = start({});
    await store.appendToStream('order-1', [{ type: 'order.placed', data: {} }]);
    await waitFor(() => samples.length >= 3, 'three samples');
    expect([...storeUsed]).toEqual(['headPosition']);
    expect([...browserUsed]).toEqual(['countEvents']);
    expect(errors).toEqual([]);
  });

  it("shows a fresh report's rate without checking", async () => {
    const { monitor, state } = twoRowMonitor();
    await monitor.check();
    const { samples } = start({ consistency: [monitor], consistencyIntervalMs: 60_000 });
    await waitFor(() => samples.length >= 5, 'five samples');
    expect(state.checks).toBe(1);
    expect(samples.map((sample) => sample.consistencyRate)).toEqual(samples.map(() => 0.5));
  });

  it('checks a monitor that has no report, once, and shows its rate', async () => {
    const { monitor, state } = twoRowMonitor();
    const { samples } = start({ consistency: [monitor] });
    await waitFor(() => samples.some((sample) => sample.consistencyRate === 0.5), 'the rate of its own check');
    const shown = samples.length;
    await waitFor(() => samples.length >= shown + 5, 'five more samples');
    // The report it made is fresh: no second check.
    expect(state.checks).toBe(1);
    expect(samples[0]?.consistencyRate).toBeNull();
  });

  it('checks a monitor whose report is older than consistencyIntervalMs', async () => {
    // The monitor's clock stands ten minutes back: every report it makes is stale.
    const clock = createManualClock(new Date(Date.now() - 10 * 60_000));
    const { monitor, state } = twoRowMonitor(clock);
    await monitor.check();
    state.wrong = false;
    const { samples } = start({ consistency: [monitor], consistencyIntervalMs: 5 * 60_000 });
    await waitFor(() => samples.some((sample) => sample.consistencyRate === 1), 'the rate of a new check');
    expect(state.checks).toBeGreaterThanOrEqual(2);
  });

  it('checks in the background, one check per monitor at a time, while samples go on', async () => {
    const { monitor, state } = twoRowMonitor();
    let release = () => {};
    state.gate = new Promise((resolve) => {
      release = resolve;
    });
    const { samples } = start({ consistency: [monitor], consistencyIntervalMs: 0 });
    await waitFor(() => state.checks === 1, 'the check to start');
    const before = samples.length;
    await waitFor(() => samples.length >= before + 5, 'five samples during the check');
    expect(state.checks).toBe(1);
    expect(samples.every((sample) => sample.consistencyRate === null)).toBe(true);
    state.gate = undefined;
    release();
    await waitFor(() => samples.some((sample) => sample.consistencyRate === 0.5), 'the rate once the check ended');
  });

  it('refuses a consistencyIntervalMs that is not a number ≥ 0', () => {
    for (const consistencyIntervalMs of [-1, Number.NaN, '5' as unknown as number]) {
      expect(() =>
        startHealthSampler({
          store,
          browser: createSqliteEventBrowser(store),
          overview: async () => [],
          consistency: [],
          consistencyIntervalMs,
          intervalMs: 10,
          keep: 10,
          onError: () => {},
        }),
      ).toThrow(ValidationError);
    }
  });
});
