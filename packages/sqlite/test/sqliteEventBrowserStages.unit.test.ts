import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventStage, RecordedEvent } from '@tidemark/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteEventBrowser, createSqliteEventStore } from '../src/index.js';

/** Stores `amount` as text on write, reads it back as a number: what a browser shows depends on reading through it. */
const textAmounts: EventStage = {
  write: (events) => events.map((event) => ({ ...event, data: { amount: String((event.data as { amount: number }).amount) } })),
  read: (events: readonly RecordedEvent[]) =>
    events.map((event) => ({ ...event, data: { amount: Number((event.data as { amount: string }).amount) } })),
};

describe('the SQLite event browser with the store’s stages', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('shows pages and single events as the store reads them, and as stored without the stages', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tidemark-browser-stages-'));
    dirs.push(dir);
    const store = createSqliteEventStore({ file: join(dir, 'store.db'), stages: [textAmounts] });
    try {
      for (let amount = 1; amount <= 3; amount++) await store.appendToStream('account-1', [{ type: 'funds.deposited', data: { amount } }]);
      const staged = createSqliteEventBrowser(store, { stages: [textAmounts] });
      const raw = createSqliteEventBrowser(store);
      const first = await staged.listEvents({ limit: 2 });
      expect(first.events.map((e) => e.data)).toEqual([{ amount: 3 }, { amount: 2 }]);
      const second = await staged.listEvents({ limit: 2, ...(first.next && { cursor: first.next }) });
      expect(second.events.map((e) => e.data)).toEqual([{ amount: 1 }]);
      expect((await raw.listEvents({ limit: 1 })).events[0]?.data).toEqual({ amount: '3' });
      const id = first.events[0]!.id;
      expect((await staged.getEvent(id))?.data).toEqual({ amount: 3 });
      expect((await raw.getEvent(id))?.data).toEqual({ amount: '3' });
    } finally {
      await store.close();
    }
  });
});
