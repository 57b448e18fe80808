import { type NewEvent, PayloadTooLargeError, ValidationError } from '@tidemark/core';
import { describe, expect, it } from 'vitest';
import type { EventStoreHarness } from './eventStoreHarness.js';
import { caught, expectUnchanged, storeSnapshot } from './storeSnapshot.js';
import { useStores } from './useStores.js';

const good: NewEvent = { type: 'order.created', data: { ok: true } };

class Money {
  constructor(readonly amount: number) {}
}

function circular(): unknown {
  const value: Record<string, unknown> = { a: 1 };
  value.self = value;
  return value;
}

const badStreamIds: Array<[string, unknown]> = [
  ['empty', ''],
  ['257 characters long', 'a'.repeat(257)],
  ['containing a newline', 'order-\n1'],
  ['containing NUL', 'order-\u00001'],
  ['containing a tab', 'order-\t1'],
  ['containing DEL', 'order-\u007f1'],
  ['containing a lone high surrogate', 'order-\ud8001'],
  ['containing a lone low surrogate', 'order-\udc001'],
  ['ending in a lone high surrogate', 'order-\ud83d'],
  ['containing a right-to-left override', 'order-\u202e1'],
  ['containing a first-strong isolate', 'order-\u20681'],
  ['containing a right-to-left mark', 'order-\u200f1'],
  ['a number', 42],
  ['undefined', undefined],
  ['null', null],
  ['an object', { id: 'order-1' }],
];

const badData: Array<[string, unknown]> = [
  ['a bigint', { amount: 10n }],
  ['a Map', { items: new Map([['a', 1]]) }],
  ['a Set', { tags: new Set(['a']) }],
  ['a class instance', { price: new Money(5) }],
  ['a function', { callback: () => 1 }],
  ['a symbol', { s: Symbol('x') }],
  ['a circular object', circular()],
  ['NaN', { amount: Number.NaN }],
  ['Infinity', { amount: Number.POSITIVE_INFINITY }],
  ['-Infinity nested in an array', { amounts: [1, Number.NEGATIVE_INFINITY] }],
  ['undefined in an array', { list: [1, undefined] }],
  ['undefined (no data at all)', undefined],
  ['a top-level bigint', 10n],
  ['a top-level function', () => 1],
];

export function badInputContract(harness: EventStoreHarness): void {
  describe('bad input: a typed error and nothing written', () => {
    const open = useStores(harness);

    /** A store holding one event, and a check that it still holds exactly that afterwards. */
    async function seeded() {
      const store = await open();
      const seed = await store.appendToStream('order-1', [good]);
      const before = await storeSnapshot(store, seed.position);
      return { store, unchanged: () => expectUnchanged(store, before) };
    }

    it.each(badStreamIds)('rejects a stream id %s', async (_, streamId) => {
      const { store, unchanged } = await seeded();
      const error = await caught(() => store.appendToStream(streamId as string, [good]), ValidationError);
      expect(error.code).toBe('validation');
      await unchanged();
    });

    it('accepts a stream id of exactly 256 characters', async () => {
      const { store } = await seeded();
      const streamId = `x-${'b'.repeat(254)}`;
      await store.appendToStream(streamId, [good]);
      expect((await store.readStream(streamId)).map((e) => e.streamId)).toEqual([streamId]);
    });

    it.each<[string, unknown]>([
      ['empty', ''],
      ['missing', undefined],
      ['not a string', 7],
      ['257 characters long', 't'.repeat(257)],
      ['containing a newline', 'order.\ncreated'],
      ['containing NUL', 'order.\u0000created'],
      ['containing a lone surrogate', 'order.\udfffcreated'],
    ])('rejects an event type %s', async (_, type) => {
      const { store, unchanged } = await seeded();
      await caught(() => store.appendToStream('order-1', [{ type: type as string, data: {} }]), ValidationError);
      await unchanged();
    });

    it.each(badData)('rejects data that is not JSON-serialisable: %s', async (_, data) => {
      const { store, unchanged } = await seeded();
      await caught(() => store.appendToStream('order-1', [{ type: 'order.noted', data }]), ValidationError);
      await unchanged();
    });

    it.each<[string, unknown]>([
      ['a string', 'meta'],
      ['a number', 5],
      ['an array', ['correlation']],
      ['containing a bigint', { n: 1n }],
      ['containing a class instance', { at: new Money(1) }],
    ])('rejects metadata that is %s', async (_, metadata) => {
      const { store, unchanged } = await seeded();
      await caught(() => store.appendToStream('order-1', [{ ...good, metadata: metadata as Record<string, unknown> }]), ValidationError);
      await unchanged();
    });

    it.each<[string, unknown]>([
      ['0', 0],
      ['-1', -1],
      ['1.5', 1.5],
      ["'2'", '2'],
    ])('rejects schemaVersion %s', async (_, schemaVersion) => {
      const { store, unchanged } = await seeded();
      await caught(() => store.appendToStream('order-1', [{ ...good, schemaVersion: schemaVersion as number }]), ValidationError);
      await unchanged();
    });

    it('rejects an empty events array, and events that are not an array', async () => {
      const { store, unchanged } = await seeded();
      await caught(() => store.appendToStream('order-1', []), ValidationError);
      await caught(() => store.appendToStream('order-1', good as unknown as NewEvent[]), ValidationError);
      await caught(() => store.appendToStream('order-1', [null as unknown as NewEvent]), ValidationError);
      await unchanged();
    });

    it('rejects an event just over the default 1 MiB cap with PayloadTooLargeError', async () => {
      const { store, unchanged } = await seeded();
      const error = await caught(
        () => store.appendToStream('order-1', [{ type: 'blob.stored', data: { blob: 'x'.repeat(1024 * 1024) } }]),
        PayloadTooLargeError,
      );
      expect(error.code).toBe('payload_too_large');
      await unchanged();
      // Just under the cap is fine (data + metadata JSON, measured in bytes).
      await store.appendToStream('order-1', [{ type: 'blob.stored', data: 'y'.repeat(1024 * 1024 - 100) }]);
      expect(await store.readStream('order-1')).toHaveLength(2);
    });

    it('measures the cap in bytes, not characters', async () => {
      const store = await open({ limits: { maxEventBytes: 1000 } });
      // 400 three-byte characters: 402 JSON characters but 1,202 bytes.
      await caught(() => store.appendToStream('order-1', [{ type: 'text.stored', data: '€'.repeat(400) }]), PayloadTooLargeError);
      await expectUnchanged(store, { head: 0n, ids: [] });
    });

    it('rejects an append over the per-append cap with PayloadTooLargeError and writes none of it', async () => {
      const store = await open({ limits: { maxAppendBytes: 10 * 1024 } });
      const seed = await store.appendToStream('order-1', [good]);
      const before = await storeSnapshot(store, seed.position);
      const chunk = { type: 'blob.stored', data: 'z'.repeat(3 * 1024) };
      // Every event is small; together they are over 10 KiB.
      const error = await caught(() => store.appendToStream('order-1', [chunk, chunk, chunk, chunk]), PayloadTooLargeError);
      expect(error.code).toBe('payload_too_large');
      await expectUnchanged(store, before);
      await store.appendToStream('order-1', [chunk, chunk, chunk]);
      expect(await store.readStream('order-1')).toHaveLength(4);
    });

    it.each<[string, NewEvent, new (...args: never[]) => Error]>([
      ['data', { type: 'order.noted', data: { n: 10n } }, ValidationError],
      ['type', { type: '', data: {} }, ValidationError],
      ['size', { type: 'blob.stored', data: 'x'.repeat(1024 * 1024 + 1) }, PayloadTooLargeError],
    ])('writes nothing of a batch with a bad event (%s) in the middle', async (_, bad, type) => {
      const { store, unchanged } = await seeded();
      await caught(() => store.appendToStream('order-2', [good, good, bad, good]), type);
      await caught(() => store.transaction((tx) => tx.appendToStream('order-2', [good, bad, good])), type);
      await unchanged();
      expect(await store.streamExists('order-2')).toBe(false);
    });

    it('keeps two stream ids that differ only in a lone surrogate from colliding: both are refused', async () => {
      const { store, unchanged } = await seeded();
      // Stored as UTF-8 both would become 'order-\ufffd' and share one stream.
      for (const streamId of ['order-\ud800', 'order-\udbff']) {
        const error = await caught(() => store.appendToStream(streamId, [good]), ValidationError);
        expect(error.details.field).toBe('stream id');
        await caught(() => store.readStream(streamId), ValidationError);
        await caught(() => store.streamExists(streamId), ValidationError);
      }
      await unchanged();
      expect(await store.streamExists('order-\ufffd')).toBe(false);
    });

    it.each<[string, Record<string, unknown>]>([
      ['a type', { types: ['order.\ud800'] }],
      ['a category', { categories: ['order\udc00'] }],
    ])('rejects a readAll filter with %s that is not well-formed Unicode', async (_, options) => {
      const { store } = await seeded();
      await caught(async () => {
        for await (const _event of store.readAll(options)) {
          // draining: a filter the store would silently change must never get this far
        }
      }, ValidationError);
    });

    it.each<[string, NewEvent, string]>([
      ['a data string', { type: 'order.noted', data: { note: 'half \ud83d of an emoji' } }, 'event 1 data → note'],
      ['a data key', { type: 'order.noted', data: { '\udc00key': 1 } }, 'event 1 data'],
      ['a string nested in data arrays', { type: 'order.noted', data: { list: [['ok', 'x\udbff']] } }, 'event 1 data → list → 0 → 1'],
      ['top-level string data', { type: 'order.noted', data: '\ud800' }, 'event 1 data'],
      ['a metadata string', { type: 'order.noted', data: {}, metadata: { userId: 'u\udfff' } }, 'event 1 metadata → userId'],
    ])('rejects %s holding a lone surrogate with ValidationError naming where, and writes nothing', async (_, event, field) => {
      const { store, unchanged } = await seeded();
      const error = await caught(() => store.appendToStream('order-1', [good, event]), ValidationError);
      expect(error.details.field).toBe(field);
      await unchanged();
    });

    // PostgreSQL keeps U+0000 in a json column, but then every SQL read of that event's data fails
    // (->>, ->, a jsonb cast: "unsupported Unicode escape sequence"), so every store refuses it.
    it.each<[string, NewEvent, string]>([
      ['a data string', { type: 'order.noted', data: { note: 'a\u0000b' } }, 'event 1 data → note'],
      ['a data key', { type: 'order.noted', data: { lines: [{ 'sku\u0000': 1 }] } }, 'event 1 data → lines → 0'],
      ['top-level string data', { type: 'order.noted', data: '\u0000' }, 'event 1 data'],
      ['a metadata string', { type: 'order.noted', data: {}, metadata: { userId: 'u\u0000' } }, 'event 1 metadata → userId'],
    ])('rejects %s holding U+0000 (NUL) with ValidationError naming where, and writes nothing', async (_, event, field) => {
      const { store, unchanged } = await seeded();
      const error = await caught(() => store.appendToStream('order-1', [good, event]), ValidationError);
      expect(error.details.field).toBe(field);
      expect(error.message).toContain('NUL');
      await caught(() => store.transaction((tx) => tx.appendToStream('order-2', [good, event])), ValidationError);
      await unchanged();
      expect(await store.streamExists('order-2')).toBe(false);
    });

    it('keeps well-formed text exactly, including surrogate pairs and text that only looks like an escape', async () => {
      const { store } = await seeded();
      const data = {
        emoji: '🌊 tide',
        pair: '\ud83c\udf0a',
        backslashed: '\\ud800 is six characters',
        nul: '\\u0000 is too',
        tab: '\t\u001f',
      };
      const metadata = { note: '\\udc00', flag: '🏳️' };
      await store.appendToStream('order-1', [{ type: 'order.noted', data, metadata }]);
      const [, stored] = await store.readStream('order-1');
      expect(stored?.data).toEqual(data);
      expect(stored?.metadata).toMatchObject(metadata);
    });

    it('rejects a bad stream id on reads too', async () => {
      const { store } = await seeded();
      await caught(() => store.readStream(''), ValidationError);
      await caught(() => store.streamExists('a'.repeat(257)), ValidationError);
    });
  });
}
