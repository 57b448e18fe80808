import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyedDispatcher } from '../src/index.js';

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('KeyedDispatcher', () => {
  it('runs at most `concurrency` at once, each key one at a time in arrival order, and everything once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.record({ key: fc.constantFrom('a', 'b', 'c', 'd'), work: fc.integer({ min: 0, max: 4 }), fails: fc.boolean() }), {
          maxLength: 40,
        }),
        async (concurrency, items) => {
          const running = new Set<string>();
          let peak = 0;
          const overlaps: string[] = [];
          const done: Array<{ key: string; index: number }> = [];
          const dispatcher = new KeyedDispatcher<{ key: string; index: number; work: number; fails: boolean }>(
            concurrency,
            (item) => item.key,
            async (item) => {
              if (running.has(item.key)) overlaps.push(item.key);
              running.add(item.key);
              peak = Math.max(peak, running.size);
              await turns(item.work);
              running.delete(item.key);
              done.push(item);
              // A failing run must not stall its key.
              if (item.fails) throw new Error('failed');
            },
          );
          // Hand over only as many as there is room for, as a broker's prefetch does.
          for (const [index, item] of items.entries()) {
            while (dispatcher.room === 0) await dispatcher.changed();
            dispatcher.push({ ...item, index });
          }
          await dispatcher.idle();
          expect(overlaps).toEqual([]);
          expect(peak).toBeLessThanOrEqual(concurrency);
          expect(done.map((d) => d.index).sort((x, y) => x - y)).toEqual(items.map((_, i) => i));
          for (const key of ['a', 'b', 'c', 'd']) {
            const order = done.filter((d) => d.key === key).map((d) => d.index);
            expect(order).toEqual([...order].sort((x, y) => x - y));
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
