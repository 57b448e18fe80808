import { assertStorablePosition, createInMemoryEventStore, resolveAllRange, resolveEventCountRange, ValidationError } from '@tidemark/core';
import { describe, expect, it } from 'vitest';

const top = 2n ** 63n - 1n;

describe('readAll positions are 64-bit signed, as in every store', () => {
  it('resolveAllRange accepts 0n to 2n ** 63n - 1n and refuses beyond with a ValidationError', () => {
    expect(resolveAllRange({ after: 0n }).after).toBe(0n);
    expect(resolveAllRange({ after: top }).after).toBe(top);
    for (const after of [top + 1n, 2n ** 64n, -1n]) {
      expect(() => resolveAllRange({ after }), String(after)).toThrow(ValidationError);
    }
  });

  it('refuses a position as assertStorablePosition does, whichever read is given it', () => {
    const refusal = (check: () => unknown) => {
      try {
        check();
      } catch (error) {
        return { type: (error as Error).constructor, message: (error as Error).message, details: (error as ValidationError).details };
      }
      throw new Error('not refused');
    };
    for (const bad of [-1n, top + 1n, 1, '1', null]) {
      const expected = (field: string) => refusal(() => assertStorablePosition(bad, field));
      expect(
        refusal(() => resolveAllRange({ after: bad as bigint })),
        String(bad),
      ).toEqual(expected('after'));
      expect(
        refusal(() => resolveEventCountRange({ after: bad as bigint, upTo: top, limit: 1 })),
        String(bad),
      ).toEqual(expected('after'));
      expect(
        refusal(() => resolveEventCountRange({ after: 0n, upTo: bad as bigint, limit: 1 })),
        String(bad),
      ).toEqual(expected('upTo'));
    }
  });

  it('the in-memory store refuses readAll and readPage after 2n ** 63n like the SQL stores', async () => {
    const store = createInMemoryEventStore();
    await store.appendToStream('order-1', [{ type: 'order.placed', data: {} }]);
    const readAll = async (after: bigint) => {
      for await (const _ of store.readAll({ after })) return 'read';
      return 'none';
    };
    await expect(readAll(2n ** 63n)).rejects.toThrow(ValidationError);
    await expect(store.readPage!({ after: 2n ** 63n, limit: 10 })).rejects.toThrow(ValidationError);
    expect(await readAll(top)).toBe('none');
  });

  it('refuses a type or category filter holding U+0000, which no stored name has and PostgreSQL cannot bind', () => {
    for (const options of [{ types: ['order.placed', 'a\u0000'] }, { categories: ['\u0000'] }]) {
      expect(() => resolveAllRange(options), JSON.stringify(options)).toThrow(ValidationError);
    }
    expect(resolveAllRange({ types: ['order.placed'] }).types).toEqual(['order.placed']);
  });
});
