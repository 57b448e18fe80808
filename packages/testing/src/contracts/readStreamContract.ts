import { type EventStore, type ReadStreamOptions, ValidationError } from '@tidemark/core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EventStoreHarness } from './eventStoreHarness.js';
import { caught } from './storeSnapshot.js';
import { useStores } from './useStores.js';

export function readStreamContract(harness: EventStoreHarness): void {
  describe('readStream', () => {
    const open = useStores(harness, 'all');
    let store: EventStore;

    // One stream of 10 events (versions 1..10), interleaved with another stream so that
    // stream versions and global positions differ.
    beforeAll(async () => {
      store = await open();
      for (let v = 1; v <= 10; v++) {
        await store.appendToStream('log-1', [{ type: 'log.line', data: { v } }]);
        await store.appendToStream('log-2', [{ type: 'log.line', data: { v: -v } }]);
      }
    });

    const versions = async (options?: ReadStreamOptions) => (await store.readStream('log-1', options)).map((e) => e.version);
    const range = (from: number, to: number) =>
      from <= to ? Array.from({ length: to - from + 1 }, (_, i) => from + i) : Array.from({ length: from - to + 1 }, (_, i) => from - i);

    it.each<[string, ReadStreamOptions | undefined, number[]]>([
      ['everything forwards by default', undefined, range(1, 10)],
      ['from a version', { from: 4 }, range(4, 10)],
      ['up to a version', { to: 3 }, range(1, 3)],
      ['from..to inclusive', { from: 3, to: 6 }, range(3, 6)],
      ['a single version', { from: 5, to: 5 }, [5]],
      ['from beyond the end: nothing', { from: 11 }, []],
      ['to beyond the end: up to the end', { from: 8, to: 100 }, range(8, 10)],
      ['from after to (forwards): nothing', { from: 6, to: 3 }, []],
      ['with a limit', { limit: 3 }, [1, 2, 3]],
      ['from with a limit', { from: 4, limit: 2 }, [4, 5]],
      ['a limit larger than the stream', { limit: 100 }, range(1, 10)],
      ['backwards from the end by default', { direction: 'backwards' }, range(10, 1)],
      ['backwards from a version', { direction: 'backwards', from: 7 }, range(7, 1)],
      ['backwards down to a version', { direction: 'backwards', to: 8 }, range(10, 8)],
      ['backwards from..to', { direction: 'backwards', from: 6, to: 3 }, range(6, 3)],
      ['backwards with a limit: the last events', { direction: 'backwards', limit: 2 }, [10, 9]],
      ['backwards from beyond the end', { direction: 'backwards', from: 50, limit: 3 }, [10, 9, 8]],
      ['backwards from before to: nothing', { direction: 'backwards', from: 3, to: 6 }, []],
      ['forwards explicitly', { direction: 'forwards', from: 9 }, [9, 10]],
    ])('reads %s', async (_, options, expected) => {
      expect(await versions(options)).toEqual(expected);
    });

    it('returns each event with its own data, stream id and increasing positions', async () => {
      const events = await store.readStream('log-1');
      expect(events.map((e) => e.data)).toEqual(range(1, 10).map((v) => ({ v })));
      expect(events.every((e) => e.streamId === 'log-1')).toBe(true);
      for (let i = 1; i < events.length; i++) {
        expect((events[i]?.position ?? 0) > (events[i - 1]?.position ?? 0)).toBe(true);
      }
    });

    it('returns [] for a stream that does not exist, in either direction and with any range', async () => {
      expect(await store.readStream('log-404')).toEqual([]);
      expect(await store.readStream('log-404', { direction: 'backwards' })).toEqual([]);
      expect(await store.readStream('log-404', { from: 2, to: 5, limit: 1 })).toEqual([]);
      // A prefix of an existing stream id is another (missing) stream.
      expect(await store.readStream('log-')).toEqual([]);
      expect(await store.readStream('log')).toEqual([]);
    });

    it.each<[string, ReadStreamOptions]>([
      ['from 0', { from: 0 }],
      ['from -1', { from: -1 }],
      ['from 1.5', { from: 1.5 }],
      ['to 0', { to: 0 }],
      ['to -3', { to: -3 }],
      ['to 2.5', { to: 2.5 }],
      ['limit 0', { limit: 0 }],
      ['limit -1', { limit: -1 }],
      ['limit 1.5', { limit: 1.5 }],
      ['from NaN', { from: Number.NaN }],
      ["from '2'", { from: '2' as unknown as number }],
      ["direction 'sideways'", { direction: 'sideways' as 'forwards' }],
    ])('rejects %s with ValidationError', async (_, options) => {
      await caught(() => store.readStream('log-1', options), ValidationError);
    });
  });
}
