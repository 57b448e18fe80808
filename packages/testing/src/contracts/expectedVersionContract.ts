import { ConcurrencyError, type ExpectedVersion, ValidationError } from '@tidemark/core';
import { describe, expect, it } from 'vitest';
import type { EventStoreHarness } from './eventStoreHarness.js';
import { caught, expectUnchanged, storeSnapshot, waitForHead } from './storeSnapshot.js';
import { useStores } from './useStores.js';

const event = { type: 'account.credited', data: { amount: 1 } };

export function expectedVersionContract(harness: EventStoreHarness): void {
  describe('expected version', () => {
    const open = useStores(harness);

    /** A store holding 'account-1' at version 2. */
    async function storeAtVersion2() {
      const store = await open();
      const seed = await store.appendToStream('account-1', [event, event]);
      await waitForHead(store, seed.position);
      return store;
    }

    it.each<[string, ExpectedVersion, number]>([
      ['the exact current version', 2, 3],
      ["'stream_exists' on an existing stream", 'stream_exists', 3],
      ["'any' on an existing stream", 'any', 3],
    ])('accepts %s', async (_, expectedVersion, next) => {
      const store = await storeAtVersion2();
      const result = await store.appendToStream('account-1', [event], { expectedVersion });
      expect(result.nextExpectedVersion).toBe(next);
      expect((await store.readStream('account-1')).map((e) => e.version)).toEqual([1, 2, 3]);
    });

    it.each<[string, ExpectedVersion]>([
      ['0', 0],
      ["'no_stream'", 'no_stream'],
      ["'any'", 'any'],
      ['nothing (defaults to any)', undefined as unknown as ExpectedVersion],
    ])('creates a new stream with expected version %s', async (_, expectedVersion) => {
      const store = await open();
      const options = expectedVersion === undefined ? undefined : { expectedVersion };
      const result = await store.appendToStream('account-9', [event], options);
      expect(result.nextExpectedVersion).toBe(1);
      expect((await store.readStream('account-9')).map((e) => e.version)).toEqual([1]);
    });

    it.each<[string, ExpectedVersion, number | string]>([
      ['an older version', 1, 1],
      ['a newer version', 3, 3],
      ['0 (stream absent)', 0, 0],
      ["'no_stream'", 'no_stream', 'no_stream'],
    ])('rejects %s on a stream at version 2 with ConcurrencyError and writes nothing', async (_, expectedVersion, expected) => {
      const store = await storeAtVersion2();
      const before = await storeSnapshot(store);
      const error = await caught(() => store.appendToStream('account-1', [event], { expectedVersion }), ConcurrencyError);
      expect(error.code).toBe('concurrency');
      expect(error.expected).toBe(expected);
      expect(error.actual).toBe(2);
      expect(error.streamId).toBe('account-1');
      await expectUnchanged(store, before);
      expect(await store.readStream('account-1')).toHaveLength(2);
    });

    it.each<[string, ExpectedVersion]>([
      ['a positive version', 1],
      ["'stream_exists'", 'stream_exists'],
    ])('rejects %s on a missing stream with ConcurrencyError (actual 0) and writes nothing', async (_, expectedVersion) => {
      const store = await storeAtVersion2();
      const before = await storeSnapshot(store);
      const error = await caught(() => store.appendToStream('account-2', [event], { expectedVersion }), ConcurrencyError);
      expect(error.expected).toBe(expectedVersion);
      expect(error.actual).toBe(0);
      await expectUnchanged(store, before);
      expect(await store.streamExists('account-2')).toBe(false);
    });

    it.each<[string, unknown]>([
      ['-1', -1],
      ['1.5', 1.5],
      ["'latest'", 'latest'],
      ['null', null],
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
      ["'2' (a numeric string)", '2'],
      ['an object', { version: 2 }],
    ])('rejects the unknown form %s with ValidationError and writes nothing', async (_, expectedVersion) => {
      const store = await storeAtVersion2();
      const before = await storeSnapshot(store);
      const error = await caught(
        () => store.appendToStream('account-1', [event], { expectedVersion: expectedVersion as ExpectedVersion }),
        ValidationError,
      );
      expect(error.code).toBe('validation');
      await expectUnchanged(store, before);
    });
  });
}
