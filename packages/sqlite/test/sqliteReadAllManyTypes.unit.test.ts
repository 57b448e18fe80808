import { ValidationError } from '@tidemark/core';
import { createSqliteEventStore } from '@tidemark/sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempSqliteFiles } from './tempSqliteFiles.js';

const files = tempSqliteFiles();
afterAll(() => files.remove());

const names = (count: number, prefix: string) => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

describe('SQLite store: readAll and readPage filtered by many types or categories', () => {
  let store: ReturnType<typeof createSqliteEventStore>;
  /** Every event as [position, type, category], in position order. */
  const log: [bigint, string, string][] = [];

  beforeAll(async () => {
    store = createSqliteEventStore({ file: files.next() });
    // 600 types over 40 categories, interleaved so that every page mixes them.
    for (let i = 0; i < 1200; i += 60) {
      for (let c = 0; c < 40; c += 8) {
        await store.appendToStream(
          `cat${c + ((i / 60) % 8)}-${i}`,
          Array.from({ length: 12 }, (_, j) => ({ type: `t${(i + c * 3 + j * 7) % 600}`, data: {} })),
        );
      }
    }
    for await (const event of store.readAll()) log.push([event.position, event.type, event.streamId.split('-')[0]!]);
  });
  afterAll(() => store.close());

  async function positions(options: { after?: bigint; types?: string[]; categories?: string[]; batchSize?: number }): Promise<bigint[]> {
    const out: bigint[] = [];
    for await (const event of store.readAll(options)) out.push(event.position);
    return out;
  }
  const expected = (types?: readonly string[], categories?: readonly string[]) =>
    log.filter(([, type, category]) => (!types || types.includes(type)) && (!categories || categories.includes(category))).map(([p]) => p);

  it('reads any number of types, exactly the matching events in position order', async () => {
    // Shuffled, with repeats and types that never occur; either side of the switch to a single scan.
    for (const count of [1, 32, 33, 501, 1000, 40_000]) {
      const types = names(count, 't').reverse();
      types.push(types[0]!, 'absent');
      const want = expected(types);
      expect(want.length).toBeGreaterThan(0);
      expect(await positions({ types, batchSize: 97 }), `${count} types`).toEqual(want);
    }
  });

  it('reads any number of categories, with or without a types filter', async () => {
    const manyCategories = [...names(40, 'cat'), ...names(800, 'none')];
    const fewCategories = ['cat3', 'cat17'];
    const manyTypes = names(40_000, 't');
    for (const [categories, types] of [
      [manyCategories, undefined],
      [manyCategories, names(300, 't')],
      [manyCategories, manyTypes],
      [fewCategories, manyTypes],
      [fewCategories, names(40, 't')],
    ] as const) {
      const want = expected(types, categories);
      expect(want.length).toBeGreaterThan(0);
      expect(await positions({ categories: [...categories], ...(types && { types: [...types] }), batchSize: 50 })).toEqual(want);
    }
  });

  it('pages with readPage over more types than a compound SELECT has terms', async () => {
    const types = names(1500, 't').filter((_, i) => i % 2 === 0);
    const want = expected(types);
    const seen: bigint[] = [];
    let after = 0n;
    for (;;) {
      const page = await store.readPage({ types, after, limit: 64 });
      seen.push(...page.events.map((e) => e.position));
      if (page.events.length === 0) break;
      after = page.events[page.events.length - 1]!.position;
    }
    expect(seen).toEqual(want);
  });

  it('refuses a position past the 64-bit range with a ValidationError', async () => {
    await expect(positions({ after: 2n ** 63n })).rejects.toThrow(ValidationError);
    await expect(store.readPage({ after: 2n ** 63n, limit: 10 })).rejects.toThrow(ValidationError);
    expect(await positions({ after: 2n ** 63n - 1n })).toEqual([]);
  });
});
