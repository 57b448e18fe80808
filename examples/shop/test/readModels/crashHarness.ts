import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { rebuildProjection } from '@tidemark/core';
import { reportChaos } from '@tidemark/testing';
import { expect } from 'vitest';
import { shopProjections } from '../../src/readModels/shopProjections.js';
import { appendShopEvents, openBackend, random } from './fixtures/shopEvents.js';
import { readModelDump } from './readModelDump.js';

const child = fileURLToPath(new URL('./fixtures/projectorCrashChild.ts', import.meta.url));

export interface CrashTestOptions {
  kind: 'sqlite' | 'postgres';
  target: string;
  kills: number;
  /** Appends made before the first child (each writes a few events). */
  prefill: number;
  /** Children run side by side (they contend for the same checkpoints, which is part of the test). */
  parallel: number;
  seed: number;
}

/**
 * Spawns the child, waits until it is projecting, then SIGKILLs it 5–250 ms later. (A 5–60 ms
 * window let a whole run on a loaded CI machine end before any projector had committed a batch.)
 */
async function runAndKill(options: CrashTestOptions, seed: number, pick: (n: number) => number): Promise<void> {
  const proc: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', child, options.kind, options.target, String(seed), String(seed % 2)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  proc.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const started = await Promise.race([
    new Promise<boolean>((resolve) => proc.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('started') && resolve(true))),
    exited.then(() => false),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 30_000)),
  ]);
  if (!started) {
    proc.kill('SIGKILL');
    throw new Error(`child did not start: ${stderr}`);
  }
  await new Promise((resolve) => setTimeout(resolve, 5 + pick(246)));
  proc.kill('SIGKILL');
  const { signal } = await exited;
  // Anything but our SIGKILL (an exception in the child) is a failure of its own.
  expect(signal, stderr).toBe('SIGKILL');
}

/**
 * Kills projector processes at random moments, then checks what the database holds: the
 * read models equal both an independent fold of the log and a rebuild from zero, and no
 * checkpoint ever moved backwards between kills.
 */
export async function crashTest(options: CrashTestOptions): Promise<{ kills: number; events: number; checkpointAfterKills: bigint }> {
  const pick = random(options.seed);
  const parent = await openBackend(options.kind, options.target);
  const { store } = parent;
  try {
    for (let i = 0; i < options.prefill; i++) await appendShopEvents(store, pick, 'pre');

    const seen = new Map<string, bigint>();
    const observeCheckpoints = async () => {
      const rows = await store
        .transaction((tx) => tx.sql.query<{ name: string; position: unknown }>('SELECT name, position FROM tidemark_checkpoints'))
        .catch(() => []);
      for (const row of rows) {
        const position = BigInt(row.position as string | number);
        expect(position, `checkpoint ${row.name} moved backwards`).toBeGreaterThanOrEqual(seen.get(row.name) ?? 0n);
        seen.set(row.name, position);
      }
    };

    let kills = 0;
    let nextSeed = options.seed * 1000;
    while (kills < options.kills) {
      const wave = Math.min(options.parallel, options.kills - kills);
      await Promise.all(Array.from({ length: wave }, () => runAndKill(options, nextSeed++, pick)));
      kills += wave;
      await observeCheckpoints();
    }
    const [checkpointAfterKills = 0n] = shopProjections.map((p) => seen.get(p.name) ?? 0n).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    expect(checkpointAfterKills, 'the killed projectors made progress').toBeGreaterThan(0n);

    // Finish the job in-process, then compare.
    const head = await store.headPosition();
    const projectors = parent.projectors(200);
    await Promise.all(projectors.map((p) => p.start()));
    for (const projector of projectors) expect(await projector.waitForPosition(head, { timeoutMs: 60_000 })).toBe(true);
    for (const projector of projectors) await projector.stop();

    const expected = await foldLog(store);
    const live = (await readModelDump(store)) as Dump;
    reportChaos({
      case: 'projector.sigkill',
      backend: options.kind,
      runs: kills,
      sent: expected.events,
      ...compareReadModels(live, expected),
    });
    expect(live.balances.map((r) => [r.account_id, r.balance, r.version])).toEqual(expected.balances);
    expect(live.orders.map((r) => [r.order_id, r.status, r.item_count, r.total])).toEqual(expected.orders);
    expect(live.stats.map((r) => [r.day, r.order_count, r.total_value, r.cancelled_count])).toEqual(expected.stats);

    for (const projection of shopProjections)
      await rebuildProjection({ store, projection, checkpoints: parent.checkpoints, swap: parent.swap });
    expect(await readModelDump(store)).toEqual(live);
    return { kills, events: expected.events, checkpointAfterKills };
  } finally {
    await parent.close();
  }
}

type Row = Record<string, unknown>;

/**
 * Rows of the read models against the fold, as chaos counts: a row missing or behind the fold
 * (fewer versions, items or orders) is an effect lost; a row ahead of it or not in it at all, an
 * effect applied twice. `delivered` is the events minus the lost rows' share — 0 lost, 0 doubled
 * is the only passing outcome, so the split matters less than its being zero.
 */
function compareReadModels(live: Dump, expected: Awaited<ReturnType<typeof foldLog>>) {
  let lost = 0;
  let duplicateEffects = 0;
  const tally = (actual: Array<readonly unknown[]>, wanted: Array<readonly unknown[]>, progress: number) => {
    const byKey = new Map(actual.map((row) => [String(row[0]), row]));
    for (const row of wanted) {
      const found = byKey.get(String(row[0]));
      byKey.delete(String(row[0]));
      if (!found) lost++;
      else if (JSON.stringify(found) !== JSON.stringify(row)) {
        if (Number(found[progress]) < Number(row[progress])) lost++;
        else duplicateEffects++;
      }
    }
    duplicateEffects += byKey.size;
  };
  tally(
    live.balances.map((r) => [r.account_id, r.balance, r.version]),
    expected.balances,
    2,
  );
  tally(
    live.orders.map((r) => [r.order_id, r.status, r.item_count, r.total]),
    expected.orders,
    2,
  );
  tally(
    live.stats.map((r) => [r.day, r.order_count, r.total_value, r.cancelled_count]),
    expected.stats,
    1,
  );
  return { delivered: lost === 0 ? expected.events : expected.events - lost, lost, duplicateEffects };
}
interface Dump {
  orders: Row[];
  lines: Row[];
  stats: Row[];
  balances: Row[];
}

/** The read models' content computed straight from the log, with none of the projection code. */
async function foldLog(store: Awaited<ReturnType<typeof openBackend>>['store']) {
  const balances = new Map<string, [string, number, number]>();
  const orders = new Map<string, { status: string; lines: Map<string, [number, number]>; total: number | undefined }>();
  const stats = new Map<string, [string, number, number, number]>();
  let events = 0;
  for await (const event of store.readAll({ batchSize: 1000 })) {
    events++;
    const data = event.data as { initialDeposit: number; amount: number; sku: string; quantity: number; unitPrice: number; total: number };
    const day = event.recordedAt.toISOString().slice(0, 10);
    const dayStats = () => stats.get(day) ?? (stats.set(day, [day, 0, 0, 0]).get(day) as [string, number, number, number]);
    if (event.streamId.startsWith('account-')) {
      const id = event.streamId.slice(8);
      const row = balances.get(id) ?? [id, 0, 0];
      if (event.type === 'bank.account.opened') row[1] = data.initialDeposit;
      if (event.type === 'bank.account.funds_deposited') row[1] += data.amount;
      if (event.type === 'bank.account.funds_withdrawn') row[1] -= data.amount;
      row[2] = event.version;
      balances.set(id, row);
    } else {
      const id = event.streamId.slice(6);
      const order = orders.get(id) ?? { status: 'draft', lines: new Map(), total: undefined };
      orders.set(id, order);
      if (event.type === 'sales.order.item_added') {
        const line = order.lines.get(data.sku) ?? [0, data.unitPrice];
        order.lines.set(data.sku, [line[0] + data.quantity, line[1]]);
      }
      if (event.type === 'sales.order.placed') {
        order.status = 'placed';
        order.total = data.total;
        const s = dayStats();
        s[1]++;
        s[2] += data.total;
      }
      if (event.type === 'sales.order.cancelled') {
        order.status = 'cancelled';
        dayStats()[3]++;
      }
    }
  }
  const byKey = <T>(map: Map<string, T>) => [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
  return {
    events,
    balances: byKey(balances),
    orders: byKey(
      new Map(
        [...orders].map(([id, o]) => {
          const lines = [...o.lines.values()];
          const count = lines.reduce((n, [q]) => n + q, 0);
          const total = o.total ?? lines.reduce((n, [q, p]) => n + q * p, 0);
          return [id, [id, o.status, count, total]];
        }),
      ),
    ),
    stats: byKey(stats),
  };
}
