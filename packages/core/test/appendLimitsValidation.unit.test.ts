import {
  createInMemoryEventStore,
  createInMemoryOutbox,
  defaultAppendLimits,
  PayloadTooLargeError,
  prepareAppend,
  prepareOutgoingMessages,
  resolveAppendLimits,
  ValidationError,
} from '@tidemark/core';
import { describe, expect, it } from 'vitest';

const bad: Array<[string, unknown]> = [
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['-1', -1],
  ['0', 0],
  ['1.5', 1.5],
  ['a string', '1024'],
];

describe('store limits', () => {
  it('resolves the defaults under the caller limits', () => {
    expect(resolveAppendLimits(undefined)).toEqual(defaultAppendLimits);
    expect(resolveAppendLimits({ maxEventBytes: 10 })).toEqual({ maxEventBytes: 10, maxAppendBytes: defaultAppendLimits.maxAppendBytes });
  });

  it.each(bad)('refuses %s for either limit at store creation with a ValidationError', (_, value) => {
    for (const name of ['maxEventBytes', 'maxAppendBytes']) {
      const limits = { [name]: value } as never;
      expect(() => createInMemoryEventStore({ limits })).toThrow(ValidationError);
      expect(() => createInMemoryEventStore({ limits })).toThrow(`limits.${name}`);
      expect(() => resolveAppendLimits(limits)).toThrow(ValidationError);
    }
    expect(() => createInMemoryOutbox({ limits: { maxEventBytes: value as number } })).toThrow(ValidationError);
  });

  it('refuses limits that are not an object', () => {
    expect(() => createInMemoryEventStore({ limits: null as never })).toThrow(ValidationError);
    expect(() => createInMemoryEventStore({ limits: 5 as never })).toThrow(ValidationError);
  });

  it('never lets a NaN cap through an adapter that hands prepareAppend its own limits', () => {
    const huge = [{ type: 't', data: { s: 'x'.repeat(2 * 1024 * 1024) } }];
    const limits = { maxEventBytes: Number.NaN, maxAppendBytes: Number.NaN };
    expect(() => prepareAppend('s-1', huge, undefined, limits)).toThrow(ValidationError);
    const message = { id: 'm', type: 'a.b', schemaVersion: 1, key: 'k', data: { s: 'x'.repeat(2 * 1024 * 1024) } };
    expect(() => prepareOutgoingMessages([message], new Date(), { maxEventBytes: Number.NaN })).toThrow(ValidationError);
    // The default cap still holds when an adapter's limits object lacks it.
    expect(() => prepareOutgoingMessages([message], new Date(), {} as never)).toThrow(PayloadTooLargeError);
  });

  it('still enforces valid caps', async () => {
    const store = createInMemoryEventStore({ limits: { maxEventBytes: 64 } });
    await expect(store.appendToStream('s-1', [{ type: 't', data: { s: 'x'.repeat(100) } }])).rejects.toThrow(PayloadTooLargeError);
    await expect(store.appendToStream('s-1', [{ type: 't', data: { s: 'x' } }])).resolves.toMatchObject({ written: true });
    await store.close();
  });
});
