import { toJson, ValidationError } from '@tidemark/core';
import { describe, expect, it } from 'vitest';

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

describe('toJson', () => {
  it('serialises plain JSON data exactly as JSON.stringify does', () => {
    const value = { a: 1, b: 'two', c: [true, null, { d: -1.5 }], e: {}, 'ü 🦄': '' };
    expect(toJson(value, 'data')).toBe(JSON.stringify(value));
    expect(toJson('text', 'data')).toBe('"text"');
    expect(toJson(null, 'data')).toBe('null');
    expect(toJson([], 'data')).toBe('[]');
  });

  it('accepts objects without a prototype', () => {
    const bare = Object.assign(Object.create(null) as object, { a: 1 });
    expect(toJson(bare, 'data')).toBe('{"a":1}');
  });

  it('stores Dates as ISO strings and drops undefined properties, as JSON does', () => {
    expect(toJson({ at: new Date('2024-01-02T03:04:05.006Z'), gone: undefined }, 'data')).toBe('{"at":"2024-01-02T03:04:05.006Z"}');
  });

  it.each<[string, unknown, RegExp]>([
    ['a bigint', { n: 1n }, /n is a bigint/],
    ['a function', { f: () => 1 }, /f is a function/],
    ['a symbol', { s: Symbol('s') }, /s is a symbol/],
    ['NaN', { n: Number.NaN }, /n is NaN/],
    ['Infinity', [Number.POSITIVE_INFINITY], /0 is Infinity/],
    ['a Map', { m: new Map() }, /m is a Map/],
    ['a Set', { s: new Set() }, /s is a Set/],
    ['a class instance', { p: new Point(1, 2) }, /p is a Point/],
    ['a RegExp', { r: /x/ }, /r is a RegExp/],
    ['undefined in an array', [1, undefined], /1 is undefined/],
    ['undefined itself', undefined, /data is undefined/],
    ['a top-level function', () => 1, /data is a function/],
  ])('rejects %s with a ValidationError naming where it is', (_, value, message) => {
    expect(() => toJson(value, 'data')).toThrow(ValidationError);
    expect(() => toJson(value, 'data')).toThrow(message);
  });

  it('rejects a cycle with a ValidationError, keeping the cause', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    let error: unknown;
    try {
      toJson(cyclic, 'data');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).cause).toBeInstanceOf(TypeError);
  });

  it('names the field in the error details', () => {
    try {
      toJson({ n: 1n }, 'event 3 data');
      expect.unreachable();
    } catch (e) {
      expect((e as ValidationError).details).toEqual({ field: 'event 3 data' });
      expect((e as ValidationError).message).toContain('event 3 data → n');
    }
  });
});
