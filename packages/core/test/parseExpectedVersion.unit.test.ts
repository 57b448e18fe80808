import { assertExpectedVersion, ConcurrencyError, parseExpectedVersion, ValidationError } from '@tidemark/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('parseExpectedVersion', () => {
  it.each([0, 1, 42, Number.MAX_SAFE_INTEGER, 'no_stream', 'stream_exists', 'any'])('accepts %s as it is', (value) => {
    expect(parseExpectedVersion(value)).toBe(value);
  });

  it('reads a missing expected version as any', () => {
    expect(parseExpectedVersion(undefined)).toBe('any');
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1, 'latest', 'ANY', '', '3', null, {}, [], true, 3n])(
    'rejects %s with a ValidationError',
    (value) => {
      expect(() => parseExpectedVersion(value)).toThrow(ValidationError);
    },
  );
});

describe('assertExpectedVersion', () => {
  it('agrees with the definition of every form, for any actual version', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.nat(5), fc.constantFrom('no_stream' as const, 'stream_exists' as const, 'any' as const)),
        fc.nat(5),
        (expected, actual) => {
          const ok =
            expected === 'any'
              ? true
              : expected === 'no_stream'
                ? actual === 0
                : expected === 'stream_exists'
                  ? actual > 0
                  : expected === actual;
          if (ok) {
            expect(() => assertExpectedVersion('s-1', expected, actual)).not.toThrow();
          } else {
            let error: unknown;
            try {
              assertExpectedVersion('s-1', expected, actual);
            } catch (e) {
              error = e;
            }
            expect(error).toBeInstanceOf(ConcurrencyError);
            expect(error).toMatchObject({ streamId: 's-1', expected, actual, code: 'concurrency' });
          }
        },
      ),
    );
  });
});

describe('parseExpectedVersion error message', () => {
  it('describes values JSON cannot, instead of failing with a TypeError', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => parseExpectedVersion(3n)).toThrow(/Unknown expected version 3n/);
    expect(() => parseExpectedVersion(cyclic)).toThrow(ValidationError);
    expect(() => parseExpectedVersion(Symbol('v'))).toThrow(ValidationError);
  });
});
