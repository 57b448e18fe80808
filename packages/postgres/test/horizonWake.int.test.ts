import { subscribe } from '@tidemark/core';
import { serviceAvailable, serviceUrls, waitFor } from '@tidemark/testing';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

/**
 * Follows `store` with a subscription polling once a minute (only a wake-up can deliver an event
 * within a test's time), collecting the stream ids it sees; resolves once it has caught up.
 */
async function tail(store: Parameters<typeof subscribe>[0]) {
  const controller = new AbortController();
  const seen: string[] = [];
  let caughtUp = false;
  const iteration = (async () => {
    for await (const batch of subscribe(store, { pollIntervalMs: 60_000, signal: controller.signal })) {
      for (const event of batch.events) seen.push(event.streamId);
      if (batch.caughtUp) caughtUp = true;
    }
  })();
  await waitFor(() => caughtUp, 'the reader to catch up');
  return {
    seen,
    stop: async () => {
      controller.abort();
      await iteration;
    },
  };
}

describe.skipIf(!available)('tailing readers behind a transaction open elsewhere on the server', () => {
  const stores = createStoreFactory();
  afterEach(() => stores.cleanup());

  it('are woken when the held-back events become readable, not at their next poll', async () => {
    const writer = await stores.create();
    const reader = await stores.create({ schema: writer.schema });
    const holder = new pg.Client({ connectionString: serviceUrls.postgres, application_name: 'tm-test-horizon' });
    await holder.connect();
    // Counts the reads the subscription has finished, to know it has looked and found nothing.
    let readsDone = 0;
    const counted: typeof reader = {
      ...reader,
      async readPage(options) {
        try {
          return await reader.readPage(options);
        } finally {
          readsDone++;
        }
      },
    };
    let wakes = 0;
    const unsubscribe = reader.onAppended(() => wakes++);
    const { seen, stop } = await tail(counted);
    try {
      // LISTEN in force wakes the readers once (a commit before it notified nobody): wait for
      // that, so that the wake-up and the read counted below are the append's.
      await waitFor(() => wakes >= 1, 'the LISTEN connection to be in force');
      const wakesBefore = wakes;
      const readsBefore = readsDone;
      // Some other session (another database's, say) holds a transaction id across the append.
      await holder.query('BEGIN');
      await holder.query('SELECT txid_current()');
      await writer.appendToStream('late-1', [{ type: 'test.thing.happened', data: {} }]);
      // The append's notification arrives while the event is unreadable: the reader finds nothing.
      await waitFor(async () => (await reader.visibilityLag()).invisibleEvents >= 1, 'the event to be committed but unreadable');
      await waitFor(() => wakes > wakesBefore, 'the append notification');
      await waitFor(() => readsDone > readsBefore, 'the woken reader to look');
      expect(seen).toEqual([]);
      await holder.query('ROLLBACK');
      // Before, the reader slept out its 60 s poll interval here. The horizon is the whole
      // server's: other suites running beside this one may hold it a while longer, so allow for
      // that while staying well inside the poll interval.
      await waitFor(() => seen.includes('late-1'), 'the reader to see the event once readable', 45_000);
      expect(seen).toEqual(['late-1']);
    } finally {
      await holder.query('ROLLBACK').catch(() => {});
      await holder.end();
      unsubscribe();
      await stop();
    }
  }, 90_000);

  it("do not wait for their own process's appends to become readable, and see them once they are", async () => {
    // One store both appends and follows, with read-your-writes bounded at 20 s: a reader that
    // waited for its own appends would sit out that bound on every read below.
    const store = await stores.create({ readYourWritesTimeoutMs: 20_000 });
    const holder = new pg.Client({ connectionString: serviceUrls.postgres, application_name: 'tm-test-horizon-own' });
    await holder.connect();
    const readTimes: number[] = [];
    const counted: typeof store = {
      ...store,
      async readPage(options) {
        const started = performance.now();
        try {
          return await store.readPage(options);
        } finally {
          readTimes.push(performance.now() - started);
        }
      },
    };
    let wakes = 0;
    const unsubscribe = store.onAppended(() => wakes++);
    const { seen, stop } = await tail(counted);
    try {
      // LISTEN in force wakes the reader once: wait for it, so that it cannot be what delivers
      // the event below. The store's own NOTIFY is no wake-up either: its listener ignores it.
      await waitFor(() => wakes >= 1, 'the LISTEN connection to be in force');
      await holder.query('BEGIN');
      await holder.query('SELECT txid_current()');
      const readsBefore = readTimes.length;
      await store.appendToStream('own-1', [{ type: 'test.thing.happened', data: {} }]);
      await waitFor(() => readTimes.length > readsBefore, 'the woken reader to look');
      expect(seen).toEqual([]);
      // It looked and came back at once, the event still unreadable behind the open transaction.
      expect(Math.max(...readTimes.slice(readsBefore))).toBeLessThan(5_000);
      await holder.query('ROLLBACK');
      await waitFor(() => seen.includes('own-1'), 'the reader to see its own append once readable', 45_000);
    } finally {
      await holder.query('ROLLBACK').catch(() => {});
      await holder.end();
      unsubscribe();
      await stop();
    }
  }, 90_000);
});
