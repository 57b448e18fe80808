import type { RecordedEvent } from '@tidemark/core';
import { serviceAvailable } from '@tidemark/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

describe.skipIf(!available)('PostgreSQL readAll filters', () => {
  const stores = createStoreFactory();
  afterEach(() => stores.cleanup());

  // The filtered statements are index range scans per value, merged by position (readAllStatement.ts);
  // they must return exactly what filtering the unfiltered log would, page by page, from any checkpoint.
  it('returns exactly the matching events of the whole log, in position order, for any filter, checkpoint and page size', async () => {
    const store = await stores.create();
    const categories = ['cart', 'order', 'payment', 'ship'];
    const types = ['a', 'b', 'c'];
    for (let i = 0; i < 60; i++) {
      const category = categories[(i * 7) % 4] as string;
      // Batches of 1–3 events, so positions of one transaction sit side by side.
      const batch = Array.from({ length: 1 + (i % 3) }, (_, j) => ({
        type: types[(i * 5 + j + Math.floor(i / 4)) % 3] as string,
        data: { i, j },
      }));
      await store.appendToStream(`${category}-${i % 5}`, batch);
    }
    const log: RecordedEvent[] = [];
    for await (const event of store.readAll()) log.push(event);
    const filter = (values: string[]) =>
      fc.option(fc.array(fc.constantFrom(...values, 'none'), { minLength: 1, maxLength: 5 }), { nil: undefined });
    await fc.assert(
      fc.asyncProperty(
        filter(types),
        filter(categories),
        fc.integer({ min: 1, max: 25 }),
        fc.integer({ min: -1, max: log.length }),
        fc.integer({ min: 1, max: 200 }),
        async (typeFilter, categoryFilter, batchSize, from, limit) => {
          const after = from < 0 ? 0n : (log[from]?.position ?? (log.at(-1) as RecordedEvent).position);
          const expected = log
            .filter(
              (e) =>
                e.position > after &&
                (!typeFilter || typeFilter.includes(e.type)) &&
                (!categoryFilter || categoryFilter.includes(e.streamId.split('-')[0] as string)),
            )
            .slice(0, limit);
          const actual: RecordedEvent[] = [];
          for await (const event of store.readAll({ types: typeFilter, categories: categoryFilter, batchSize, after, limit }))
            actual.push(event);
          expect(actual).toEqual(expected);
        },
      ),
      { numRuns: 80 },
    );
  });
});
