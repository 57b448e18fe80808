import { createProjector, type EventStore, type Projection, type RecordedEvent, registerInlineProjection } from '@tidemark/core';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteCheckpointStore, createSqliteEventStore, type SqliteTransaction } from '../src/index.js';
import { tempSqliteFiles } from './tempSqliteFiles.js';

const files = tempSqliteFiles('tidemark-projector-');
afterAll(() => files.remove());

/** Per-stream sums in SQL; `failWhen` simulates a handler bug. */
function sumsProjection(failWhen: (event: RecordedEvent) => boolean): Projection<SqliteTransaction> {
  return {
    name: 'sums',
    types: ['test.amount.added'],
    tables: ['sums'],
    async setup(tx, tables) {
      await tx.sql.execute(
        `CREATE TABLE IF NOT EXISTS ${tables.name('sums')} (stream_id TEXT PRIMARY KEY, total BIGINT NOT NULL, events BIGINT NOT NULL)`,
      );
    },
    async apply(events, tx, tables) {
      const sums = tables.name('sums');
      for (const event of events) {
        // Written before the check: a failing batch must roll this back, never half-commit.
        await tx.sql.execute(
          `INSERT INTO ${sums} (stream_id, total, events) VALUES ($1, $2, 1)
           ON CONFLICT (stream_id) DO UPDATE SET total = ${sums}.total + excluded.total, events = ${sums}.events + 1`,
          [event.streamId, (event.data as { amount: number }).amount],
        );
        if (failWhen(event)) throw new Error(`bad event at ${event.position}`);
      }
    },
  };
}

async function fill(store: EventStore<SqliteTransaction>, count: number): Promise<bigint> {
  let position = 0n;
  for (let i = 1; i <= count; i++)
    position = (await store.appendToStream(`acc-${i % 2}`, [{ type: 'test.amount.added', data: { amount: i } }])).position;
  return position;
}

const sums = (store: EventStore<SqliteTransaction>) =>
  store.transaction((tx) => tx.sql.query<{ stream_id: string; total: number; events: number }>('SELECT * FROM sums ORDER BY stream_id'));

describe('projector on SQLite', () => {
  it("with durability 'relaxed' commits its batches at synchronous=NORMAL, exact all the same", async () => {
    const store = createSqliteEventStore({ file: files.next() });
    const levels = new Set<number>();
    const inner = sumsProjection(() => false);
    const projection: Projection<SqliteTransaction> = {
      ...inner,
      async apply(events, tx, tables) {
        levels.add(tx.db.pragma('synchronous', { simple: true }) as number);
        await inner.apply(events, tx, tables);
      },
    };
    const projector = createProjector({
      store,
      projection,
      checkpoints: createSqliteCheckpointStore(),
      durability: 'relaxed',
      batchSize: 7,
    });
    await projector.start();
    const head = await fill(store, 40);
    expect(await projector.waitForPosition(head, { timeoutMs: 10_000 })).toBe(true);
    await projector.stop();
    expect([...levels]).toEqual([1]);
    const rows = await store.transaction(async (tx) => tx.sql.query('SELECT stream_id, total, events FROM sums ORDER BY stream_id'));
    expect(rows).toEqual([
      { stream_id: 'acc-0', total: 420, events: 20 },
      { stream_id: 'acc-1', total: 400, events: 20 },
    ]);
    // Appends outside the projector stay fully synchronous.
    await store.transaction(async (tx) => expect(tx.db.pragma('synchronous', { simple: true })).toBe(2));
    await store.close();
  });

  it('stops at a failing event with the error in the checkpoint table, after committing the events before it', async () => {
    const store = createSqliteEventStore({ file: files.next() });
    try {
      const head = await fill(store, 10);
      const projector = createProjector({
        store,
        projection: sumsProjection((e) => e.position === 7n),
        checkpoints: createSqliteCheckpointStore(),
        batchSize: 5,
        retry: { maxAttempts: 3, initialDelayMs: 1 },
      });
      await projector.start();
      expect(await projector.waitForPosition(head, { timeoutMs: 5000 })).toBe(false);
      expect(projector.status()).toMatchObject({ state: 'failed', checkpoint: 6n, error: { position: 7n, attempts: 3 } });
      const rows = await store.transaction((tx) =>
        tx.sql.query('SELECT position, failed_position, error, attempts FROM tidemark_checkpoints WHERE name = $1', ['sums']),
      );
      expect(rows).toEqual([{ position: 6, failed_position: 7, error: 'bad event at 7', attempts: 3 }]);
      // Events 1–6 exactly once: 2+4+6 and 1+3+5.
      expect(await sums(store)).toEqual([
        { stream_id: 'acc-0', total: 12, events: 3 },
        { stream_id: 'acc-1', total: 9, events: 3 },
      ]);
      await projector.stop();
    } finally {
      await store.close();
    }
  });

  it('parks a failing event in the dead-letter table in the same transaction as the checkpoint, and goes on', async () => {
    const store = createSqliteEventStore({ file: files.next() });
    try {
      const head = await fill(store, 10);
      const projector = createProjector({
        store,
        projection: sumsProjection((e) => e.position === 7n),
        checkpoints: createSqliteCheckpointStore(),
        onFailure: 'dead-letter',
        retry: { maxAttempts: 2, initialDelayMs: 1 },
      });
      await projector.start();
      expect(await projector.waitForPosition(head, { timeoutMs: 5000 })).toBe(true);
      await projector.stop();
      const letters = await store.transaction((tx) =>
        tx.sql.query('SELECT projection, position, error, attempts FROM tidemark_dead_letters'),
      );
      expect(letters).toEqual([{ projection: 'sums', position: 7, error: 'bad event at 7', attempts: 2 }]);
      expect(await sums(store)).toEqual([
        { stream_id: 'acc-0', total: 2 + 4 + 6 + 8 + 10, events: 5 },
        { stream_id: 'acc-1', total: 1 + 3 + 5 + 9, events: 4 },
      ]);
    } finally {
      await store.close();
    }
  });

  it('writes the checkpoint past skipped events once the interval is up, though no further event arrives', async () => {
    const file = files.next();
    const store = createSqliteEventStore({ file });
    // Another connection reading the file, as `tidemark projections status` does.
    const storedCheckpoint = () => {
      const reader = new Database(file, { readonly: true, fileMustExist: true });
      try {
        return BigInt(reader.prepare('SELECT position FROM tidemark_checkpoints WHERE name = ?').pluck().get('sums') as number);
      } finally {
        reader.close();
      }
    };
    try {
      const projector = createProjector({
        store,
        projection: sumsProjection(() => false),
        checkpoints: createSqliteCheckpointStore(),
        skipCheckpointIntervalMs: 200,
      });
      await projector.start();
      const wanted = await fill(store, 2);
      expect(await projector.waitForPosition(wanted, { timeoutMs: 5000 })).toBe(true);
      expect(storedCheckpoint()).toBe(wanted);
      // Three events the projection does not handle, at once: the moves past them are skipped…
      let last = 0n;
      for (let i = 0; i < 3; i++) last = (await store.appendToStream('account-1', [{ type: 'test.deposited', data: {} }])).position;
      expect(await projector.waitForPosition(last, { timeoutMs: 5000 })).toBe(true);
      // …and written within the interval all the same, with nothing else arriving.
      const deadline = performance.now() + 3000;
      while (storedCheckpoint() !== last && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(storedCheckpoint()).toBe(last);
      expect(projector.status()).toMatchObject({ state: 'running', checkpoint: last });
      await projector.stop();
    } finally {
      await store.close();
    }
  });

  it('runs inline: the read model is never behind the append, and a failing projection rolls the append back', async () => {
    const store = createSqliteEventStore({ file: files.next() });
    let failing = false;
    try {
      await registerInlineProjection(
        store,
        sumsProjection(() => failing),
      );
      for (let i = 1; i <= 5; i++) {
        await store.appendToStream('acc-1', [{ type: 'test.amount.added', data: { amount: i } }]);
        expect(await sums(store)).toEqual([{ stream_id: 'acc-1', total: (i * (i + 1)) / 2, events: i }]);
      }
      failing = true;
      await expect(store.appendToStream('acc-1', [{ type: 'test.amount.added', data: { amount: 100 } }])).rejects.toThrow('bad event');
      expect(await store.headPosition()).toBe(5n);
      expect(await sums(store)).toEqual([{ stream_id: 'acc-1', total: 15, events: 5 }]);
    } finally {
      await store.close();
    }
  });
});
