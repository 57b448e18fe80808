import { createInMemoryEventStore, toJson, ValidationError } from '@tidemark/core';
import { describe, expect, it } from 'vitest';

describe('toJson refuses what JSON would silently lose', () => {
  it.each<[string, unknown, string]>([
    ['an invalid Date in an object', { when: new Date('not a date') }, 'data → when is an invalid Date'],
    ['an invalid Date in an array', [new Date(Number.NaN)], 'data → 0 is an invalid Date'],
    ['an invalid Date at the top', new Date(Number.NaN), 'data is an invalid Date'],
  ])('refuses %s with a ValidationError naming where it is', (_, value, message) => {
    expect(() => toJson(value, 'data')).toThrow(ValidationError);
    expect(() => toJson(value, 'data')).toThrow(message);
  });

  it('keeps serialising valid Dates as ISO strings and null as null, and drops symbol keys as JSON does', () => {
    expect(toJson({ at: new Date('2024-01-02T03:04:05.006Z'), none: null }, 'data')).toBe('{"at":"2024-01-02T03:04:05.006Z","none":null}');
    // A library's brand on an object is not data.
    expect(toJson({ a: 1, [Symbol.for('brand')]: 'x' }, 'data')).toBe('{"a":1}');
  });

  it('refuses such an event in an append, writing nothing', async () => {
    const store = createInMemoryEventStore();
    for (const data of [{ when: new Date('not a date') }, [new Date(Number.NaN)]]) {
      await expect(store.appendToStream('s-1', [{ type: 't', data }])).rejects.toThrow(ValidationError);
    }
    await expect(store.appendToStream('s-1', [{ type: 't', data: {}, metadata: { at: new Date(Number.NaN) } }])).rejects.toThrow(
      'event 0 metadata → at is an invalid Date',
    );
    expect(await store.headPosition()).toBe(0n);
    await store.close();
  });
});
