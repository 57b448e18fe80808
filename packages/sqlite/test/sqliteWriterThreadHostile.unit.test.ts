import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CommitOutcomeUnknownError, type EventStage, newId, StoreBusyError, ValidationError } from '@tidemark/core';
import { createSqliteEventStore, type SqliteEventStore } from '@tidemark/sqlite';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { tempSqliteFiles } from './tempSqliteFiles.js';

const files = tempSqliteFiles('tidemark-sqlite-thread-hostile-');
afterAll(() => files.remove());

const deposited = (n: number) => ({ type: 'account.deposited', data: { n } });

async function running(store: SqliteEventStore): Promise<SqliteEventStore> {
  await vi.waitFor(() => expect(store.writerThread()).toBe('running'), { timeout: 20_000, interval: 10 });
  return store;
}

async function settledWithin<T>(promises: readonly Promise<T>[], ms = 10_000): Promise<PromiseSettledResult<T>[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still unsettled after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([Promise.allSettled(promises), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function rawRows(file: string): Record<string, unknown>[] {
  const db = new Database(file, { readonly: true });
  try {
    return db
      .prepare(
        'SELECT position, id, hex(stream_id) AS stream, version, hex(type) AS type, schema_version, hex(data) AS data, hex(metadata) AS metadata, recorded_at FROM events ORDER BY position',
      )
      .all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

const reasonOf = (o: PromiseSettledResult<unknown>) => (o.status === 'rejected' ? o.reason : undefined);

describe('SQLite writer thread, hostile', () => {
  it('settles every append in flight on the thread when the store closes (twice), then refuses appends', async () => {
    const file = files.next();
    const store = await running(createSqliteEventStore({ file, writerThread: 'always' }));
    const appends = Array.from({ length: 300 }, (_, i) => store.appendToStream(`s-${i % 7}`, [deposited(i)]));
    const closes = [store.close(), store.close()];
    const outcomes = await settledWithin<unknown>([...appends, ...closes]);
    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    await expect(store.appendToStream('x', [deposited(1)])).rejects.toBeInstanceOf(ValidationError);
    expect(rawRows(file)).toHaveLength(300);
  });

  it('closes while the thread is still starting', async () => {
    const file = files.next();
    const store = createSqliteEventStore({ file, writerThread: 'always' });
    const outcomes = await settledWithin<unknown>([store.appendToStream('a', [deposited(1)]), store.close()]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(rawRows(file)).toHaveLength(1);
  });

  it('fails appends with the same StoreBusyError as without the thread while another connection holds the write lock', async () => {
    const busyTimeoutMs = 50;
    for (const writerThread of [false, 'always'] as const) {
      const file = files.next();
      const store = createSqliteEventStore({ file, writerThread, busyTimeoutMs });
      if (writerThread) await running(store);
      await store.appendToStream('warm', [deposited(0)]);
      // A connection of its own, as another process's would be: it does not share this process's writer lock.
      const other = new Database(file);
      other.exec('BEGIN IMMEDIATE');
      let outcomes: PromiseSettledResult<unknown>[];
      try {
        const lone = await settledWithin([store.appendToStream('lone', [deposited(1)])]);
        await new Promise((resolve) => setImmediate(resolve));
        const together = await settledWithin([1, 2, 3].map((n) => store.appendToStream(`m-${n}`, [deposited(n)])));
        outcomes = [...lone, ...together];
      } finally {
        other.exec('ROLLBACK');
        other.close();
      }
      for (const outcome of outcomes) {
        expect(reasonOf(outcome)).toBeInstanceOf(StoreBusyError);
        expect(reasonOf(outcome)).toMatchObject({ code: 'store_busy', details: { file, busyTimeoutMs, sqliteCode: 'SQLITE_BUSY' } });
      }
      await expect(store.appendToStream('after', [deposited(9)])).resolves.toMatchObject({ written: true });
      await store.close();
    }
  });

  it('stores byte for byte what the store’s own thread stores: awkward strings, caller ids, retries and conflicts in one batch, clock, defaultMetadata', async () => {
    const weird = ['nul\u0000inside', 'emoji 🧪🏳️‍🌈', 'lone \ud800 surrogate', 'rtl \u202e abc', 'e\u0301 vs é', '\uffff\ufeff'];
    const ids = Array.from({ length: 40 }, () => newId());
    const script = async (store: SqliteEventStore) => {
      const out: unknown[] = [];
      const calls = [] as Promise<unknown>[];
      weird.forEach((w, i) => {
        calls.push(
          store.appendToStream(`stream-${w}`, [
            { id: ids[i * 2]!, type: 'odd.type', data: { w, nested: [w, { [w]: w }] }, metadata: { note: w } },
            { id: ids[i * 2 + 1]!, type: 'odd.type', data: w, schemaVersion: 3 },
          ]),
        );
      });
      // exact retry of the first in the same batch, a conflicting retry, a duplicate
      calls.push(
        store.appendToStream(`stream-${weird[0]}`, [
          {
            id: ids[0]!,
            type: 'odd.type',
            data: { w: weird[0], nested: [weird[0], { [weird[0]!]: weird[0] }] },
            metadata: { note: weird[0] },
          },
          { id: ids[1]!, type: 'odd.type', data: weird[0], schemaVersion: 3 },
        ]),
      );
      calls.push(store.appendToStream(`stream-${weird[0]}`, [{ id: ids[0]!, type: 'odd.type', data: 'changed' }]));
      calls.push(store.appendToStream('other', [{ id: ids[2]!, type: 'odd.type', data: 1 }]));
      calls.push(store.appendToStream('exp', [deposited(1)], { expectedVersion: 5 }));
      calls.push(store.appendToStream('big', [{ id: ids[30]!, type: 'big', data: 'x'.repeat(1000) }]));
      const settled = await settledWithin(calls);
      for (const o of settled) {
        if (o.status === 'fulfilled') {
          const r = o.value as { written: boolean; position: bigint; nextExpectedVersion: number; events: unknown[] };
          out.push({ written: r.written, position: r.position, v: r.nextExpectedVersion, events: r.events });
        } else {
          const e = o.reason as Error & { code?: string; details?: unknown };
          out.push({
            name: e.name,
            code: e.code,
            message: e.message,
            details: e.details,
            proto: Object.getPrototypeOf(e).constructor.name,
          });
        }
      }
      return out;
    };
    const results: unknown[][] = [];
    const rows: unknown[][] = [];
    for (const writerThread of [false, 'always'] as const) {
      const file = files.next();
      const store = createSqliteEventStore({
        file,
        writerThread,
        clock: { now: () => new Date(1_700_000_000_000) },
        defaultMetadata: { service: 'svc\u0000🧪', version: 2 },
      });
      if (writerThread) await running(store);
      results.push(await script(store));
      await store.close();
      rows.push(rawRows(file));
    }
    expect(results[1]).toEqual(results[0]);
    expect(rows[1]).toEqual(rows[0]);
  });

  it('writes the appends queued behind a batch on the store’s own thread when the writer thread dies under that batch', async () => {
    const orig = Worker.prototype.postMessage;
    let killNext = false;
    Worker.prototype.postMessage = function (this: Worker, ...args: Parameters<Worker['postMessage']>) {
      // Terminated as the batch is handed over: the thread never answers for it.
      if (killNext && (args[0] as { kind?: string }).kind === 'batch') {
        killNext = false;
        void this.terminate();
      }
      return orig.apply(this, args);
    };
    const reported: unknown[] = [];
    const file = files.next();
    try {
      const store = await running(createSqliteEventStore({ file, writerThread: 'always', onError: (e) => reported.push(e) }));
      await store.appendToStream('warm', [deposited(0)]);
      // Past the window the batch opened: the next append goes to the thread alone, the rest queue behind it.
      await new Promise((resolve) => setTimeout(resolve, 20));
      killNext = true;
      const inFlight = store.appendToStream('in-flight', [deposited(1)]);
      const queued = Array.from({ length: 5 }, (_, i) => store.appendToStream(`queued-${i}`, [deposited(i)]));
      await expect(inFlight).rejects.toBeInstanceOf(CommitOutcomeUnknownError);
      const outcomes = await settledWithin(queued);
      expect(outcomes.map((o) => (o.status === 'fulfilled' ? 'ok' : String(o.reason)))).toEqual(queued.map(() => 'ok'));
      expect(store.writerThread()).toBe('failed');
      const later = await settledWithin(Array.from({ length: 5 }, (_, i) => store.appendToStream(`later-${i}`, [deposited(i)])));
      expect(later.map((o) => o.status)).toEqual(later.map(() => 'fulfilled'));
      expect(reported).toHaveLength(1);
      await store.close();
    } finally {
      Worker.prototype.postMessage = orig;
    }
  });

  it('settles every append when the store’s clock throws, as without the thread', async () => {
    for (const writerThread of [false, 'always'] as const) {
      let broken = false;
      const store = createSqliteEventStore({
        file: files.next(),
        writerThread,
        clock: {
          now: () => {
            if (broken) throw new Error('clock broke');
            return new Date();
          },
        },
      });
      if (writerThread) await running(store);
      broken = true;
      const outcomes = await settledWithin(Array.from({ length: 4 }, (_, i) => store.appendToStream(`a-${i}`, [deposited(i)])));
      expect(outcomes.map((o) => String(reasonOf(o)))).toEqual(outcomes.map(() => 'Error: clock broke'));
      broken = false;
      expect(await store.appendToStream('after', [deposited(9)])).toMatchObject({ written: true, position: 1n });
      await settledWithin([store.close()]);
    }
  });

  it('compares a retry’s metadata with the store’s defaults as JSON serialises them, as without the thread', async () => {
    class Version {
      constructor(readonly label: string) {}
      toJSON() {
        return this.label;
      }
    }
    for (const writerThread of [false, 'always'] as const) {
      const file = files.next();
      const id = newId();
      const before = createSqliteEventStore({ file, writerThread, defaultMetadata: { version: new Version('1.0') as never } });
      if (writerThread) await running(before);
      await before.appendToStream('order-1', [{ id, ...deposited(1) }]);
      await before.close();
      // A deploy: the retry of the same append runs with the new default.
      const after = createSqliteEventStore({ file, writerThread, defaultMetadata: { version: new Version('2.0') as never } });
      if (writerThread) await running(after);
      await expect(after.appendToStream('order-1', [{ id, ...deposited(1) }])).resolves.toMatchObject({ written: false });
      await after.close();
    }
  });

  it('a defaultMetadata structured clone cannot copy neither breaks creation nor the appends', async () => {
    const defaultMetadata = { service: 'x', sym: Symbol('s') } as never;
    const outcomes: string[][] = [];
    for (const writerThread of [false, 'always'] as const) {
      const store = createSqliteEventStore({ file: files.next(), writerThread, defaultMetadata, onError: () => {} });
      await vi.waitFor(() => expect(store.writerThread()).not.toBe('starting'), { timeout: 20_000, interval: 10 });
      const settled = await settledWithin(Array.from({ length: 3 }, (_, i) => store.appendToStream(`a-${i}`, [deposited(i)])));
      outcomes.push(settled.map((o) => String(reasonOf(o))));
      await store.close();
    }
    expect(outcomes[1]).toEqual(outcomes[0]);
  });

  it('does not keep a process that never closes its store alive', async () => {
    const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'writerThreadNoClose.ts');
    for (const variant of ['starting', 'idle', 'in-flight']) {
      const child = spawnSync(process.execPath, ['--import', 'tsx', fixture, files.next(), variant], { encoding: 'utf8', timeout: 20_000 });
      expect({ variant, status: child.status, signal: child.signal, stderr: child.stderr }).toEqual({
        variant,
        status: 0,
        signal: null,
        stderr: '',
      });
    }
  });

  it('runs stages, hooks added while appends are queued, readers, several threaded stores on one file with transactions, and auto', async () => {
    const stage: EventStage = {
      write: async (events) => events.map((e) => ({ ...e, data: { sealed: Buffer.from(JSON.stringify(e.data)).toString('base64') } })),
      read: (events) =>
        events.map((e) => ({ ...e, data: JSON.parse(Buffer.from((e.data as { sealed: string }).sealed, 'base64').toString()) })),
    };
    const file = files.next();
    const store = await running(createSqliteEventStore({ file, writerThread: 'always', stages: [stage] }));
    const seen: bigint[] = [];
    store.onAppended(() => {
      void store.headPosition().then((h) => seen.push(h));
    });
    // A reader sees the events as soon as their caller hears back.
    const visible: boolean[] = [];
    const first = Array.from({ length: 20 }, (_, i) =>
      store.appendToStream(`acct-${i % 3}`, [deposited(i)]).then(async (result) => {
        visible.push((await store.headPosition()) >= result.position);
        return result;
      }),
    );
    const hooked: string[] = [];
    store.addAppendHook(async (events) => {
      for (const e of events) hooked.push(e.streamId);
    });
    const second = Array.from({ length: 20 }, (_, i) => store.appendToStream(`acct-${i % 3}`, [deposited(100 + i)]));
    const res = await settledWithin([...first, ...second]);
    expect(res.map((r) => r.status)).toEqual(res.map(() => 'fulfilled'));
    for (const r of res) {
      const v = (r as PromiseFulfilledResult<{ events: { data: unknown; position: bigint }[] }>).value;
      expect(v.events[0]!.data).toHaveProperty('n');
    }
    expect(hooked).toHaveLength(40);
    expect(visible).toEqual(first.map(() => true));
    expect(seen.length).toBeGreaterThan(0);
    const all: { data: unknown }[] = [];
    for await (const e of store.readAll()) all.push(e);
    expect(all).toHaveLength(40);
    expect(all.every((e) => typeof (e.data as { n?: number }).n === 'number')).toBe(true);
    // several stores on the file, each with its thread, and transactions
    const others = await Promise.all([1, 2].map(() => running(createSqliteEventStore({ file, writerThread: 'always', stages: [stage] }))));
    const work: Promise<unknown>[] = [];
    for (let round = 0; round < 10; round++) {
      for (const s2 of others) {
        work.push(s2.appendToStream('shared', [deposited(round)]));
        work.push(
          s2.transaction(async (tx) => {
            const events = await tx.readStream('shared');
            return tx.appendToStream('shared', [deposited(1000 + round)], { expectedVersion: events.length });
          }),
        );
      }
    }
    const r2 = await settledWithin(work, 20_000);
    expect(r2.filter((r) => r.status === 'rejected')).toEqual([]);
    const shared = await store.readStream('shared');
    expect(shared.map((e) => e.version)).toEqual(shared.map((_, i) => i + 1));
    await Promise.all([store.close(), ...others.map((o) => o.close())]);
    // auto under concurrency
    const auto = createSqliteEventStore({ file: files.next(), writerThread: 'auto' });
    const positions: bigint[] = [];
    for (let round = 0; round < 30; round++) {
      const r = await Promise.all(Array.from({ length: 7 }, (_, i) => auto.appendToStream(`s-${i}`, [deposited(round)])));
      positions.push(...r.map((x) => x.position));
    }
    expect(positions).toEqual(positions.map((_, i) => BigInt(i + 1)));
    await auto.close();
  });
});
