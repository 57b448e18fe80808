import { createInMemoryEventStore, toJson, ValidationError } from '@tidemark/core';
import { describe, expect, it } from 'vitest';

describe('toJson refuses what JSON would silently lose', () => {
  it.each<[string, unknown, string]>([
    ['an invalid Date in an object', { when: new Date('not a date') }, 'data → when is an invalid Date'],
    ['an invalid Date in an array', [new Date(Number.NaN)], 'data → 0 is an invalid Date'],
    ['an invalid Date at the top', new Date(Number.NaN), 'data is an invalid Date'],
    ['a symbol-keyed property', { a: 1, [Symbol('k')]: 'secret' }, 'data → Symbol(k) is keyed by a symbol'],
    ['a nested symbol-keyed property', { nested: { [Symbol.for('s')]: 1 } }, 'data → nested → Symbol(s) is keyed by a symbol'],
    ['a symbol-keyed property on an array', Object.assign([1], { [Symbol('k')]: 2 }), 'data → Symbol(k) is keyed by a symbol'],
  ])('refuses %s with a ValidationError naming where it is', (_, value, message) => {
    expect(() => toJson(value, 'data')).toThrow(ValidationError);
    expect(() => toJson(value, 'data')).toThrow(message);
  });

  it('keeps serialising valid Dates as ISO strings, null as null, and ignores non-enumerable symbols', () => {
    expect(toJson({ at: new Date('2024-01-02T03:04:05.006Z'), none: null }, 'data')).toBe('{"at":"2024-01-02T03:04:05.006Z","none":null}');
    const hidden = Object.defineProperty({ a: 1 }, Symbol('hidden'), { value: 2, enumerable: false });
    expect(toJson(hidden, 'data')).toBe('{"a":1}');
  });

  it('refuses such an event in an append, writing nothing', async () => {
    const store = createInMemoryEventStore();
    for (const data of [{ when: new Date('not a date') }, { [Symbol('k')]: 'secret' }]) {
      await expect(store.appendToStream('s-1', [{ type: 't', data }])).rejects.toThrow(ValidationError);
    }
    await expect(store.appendToStream('s-1', [{ type: 't', data: {}, metadata: { at: new Date(Number.NaN) } }])).rejects.toThrow(
      'event 0 metadata → at is an invalid Date',
    );
    expect(await store.headPosition()).toBe(0n);
    await store.close();
  });
});
