import { createInMemoryEventStore, resolveAllRange, ValidationError } from '@tidemark/core';
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
