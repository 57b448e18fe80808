import { randomUUID } from 'node:crypto';
import { defaultAppendLimits, type NewEvent, PayloadTooLargeError, prepareAppend, ValidationError } from '@tidemark/core';
import { describe, expect, it } from 'vitest';

const limits = defaultAppendLimits;
const event: NewEvent = { type: 'order.created', data: { total: 5 } };

describe('prepareAppend', () => {
  it('serialises each event once and generates time-ordered ids when none are supplied', () => {
    const prepared = prepareAppend('order-1', [event, { ...event, schemaVersion: 2, metadata: { userId: 'u' } }], undefined, limits);
    expect(prepared.streamId).toBe('order-1');
    expect(prepared.expectedVersion).toBe('any');
    expect(prepared.anyIdSupplied).toBe(false);
    const [first, second] = prepared.events;
    expect(first).toMatchObject({
      idSupplied: false,
      type: 'order.created',
      schemaVersion: 1,
      dataJson: '{"total":5}',
      metadataJson: '{}',
    });
    expect(second).toMatchObject({ schemaVersion: 2, metadataJson: '{"userId":"u"}' });
    // UUIDv7: version nibble 7, and later ids sort after earlier ones.
    expect(first?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
    expect((first?.id ?? '') < (second?.id ?? '')).toBe(true);
  });

  it('keeps caller-supplied ids, lower-cased, and flags them', () => {
    const id = randomUUID().toUpperCase();
    const prepared = prepareAppend('order-1', [{ ...event, id }, event], { expectedVersion: 3 }, limits);
    expect(prepared.expectedVersion).toBe(3);
    expect(prepared.anyIdSupplied).toBe(true);
    expect(prepared.events.map((e) => [e.id === id.toLowerCase(), e.idSupplied])).toEqual([
      [true, true],
      [false, false],
    ]);
  });

  it('merges default metadata under each event own metadata', () => {
    const prepared = prepareAppend('order-1', [{ ...event, metadata: { service: 'mine', userId: 'u' } }, event], undefined, limits, {
      service: 'shop',
      serviceVersion: '1.0',
    });
    expect(prepared.events.map((e) => JSON.parse(e.metadataJson))).toEqual([
      { service: 'mine', serviceVersion: '1.0', userId: 'u' },
      { service: 'shop', serviceVersion: '1.0' },
    ]);
  });

  it.each<[string, unknown]>([
    ['an array', ['a']],
    ['a string', 'meta'],
    ['a number', 3],
  ])('rejects metadata that is %s, with or without default metadata', (_, metadata) => {
    const bad = { ...event, metadata: metadata as Record<string, unknown> };
    expect(() => prepareAppend('order-1', [bad], undefined, limits)).toThrow(ValidationError);
    expect(() => prepareAppend('order-1', [bad], undefined, limits, { service: 'shop' })).toThrow(ValidationError);
  });

  it('validates the whole batch before returning: a bad event anywhere fails it', () => {
    expect(() => prepareAppend('order-1', [event, event, { type: 'x', data: 1n }], undefined, limits)).toThrow(ValidationError);
    expect(() => prepareAppend('order-1', [event, { type: '', data: {} }, event], undefined, limits)).toThrow(ValidationError);
  });

  it('checks the stream id, the expected version and the batch', () => {
    expect(() => prepareAppend('', [event], undefined, limits)).toThrow(ValidationError);
    expect(() => prepareAppend('a'.repeat(257), [event], undefined, limits)).toThrow(/257 characters/);
    expect(() => prepareAppend('a\u0085b', [event], undefined, limits)).toThrow(/control character/);
    expect(() => prepareAppend('order-1', [event], { expectedVersion: -1 }, limits)).toThrow(ValidationError);
    expect(() => prepareAppend('order-1', [], undefined, limits)).toThrow(/at least one event/);
    const id = randomUUID();
    expect(() =>
      prepareAppend(
        'order-1',
        [
          { ...event, id },
          { ...event, id: id.toUpperCase() },
        ],
        undefined,
        limits,
      ),
    ).toThrow(/twice/);
  });

  it('measures events in UTF-8 bytes of data plus metadata, against both caps', () => {
    const small = { maxEventBytes: 100, maxAppendBytes: 250 };
    // '"' + 40 × '€' + '"' = 122 bytes of data, though only 42 characters.
    expect(() => prepareAppend('s-1', [{ type: 't', data: '€'.repeat(40) }], undefined, small)).toThrow(PayloadTooLargeError);
    // 98 bytes of data + 2 of metadata ('{}') = exactly 100: allowed.
    expect(() => prepareAppend('s-1', [{ type: 't', data: 'x'.repeat(96) }], undefined, small)).not.toThrow();
    expect(() => prepareAppend('s-1', [{ type: 't', data: 'x'.repeat(97) }], undefined, small)).toThrow(PayloadTooLargeError);
    const ninety = { type: 't', data: 'x'.repeat(86) };
    expect(() => prepareAppend('s-1', [ninety, ninety], undefined, small)).not.toThrow();
    try {
      prepareAppend('s-1', [ninety, ninety, ninety], undefined, small);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(PayloadTooLargeError);
      expect((error as PayloadTooLargeError).details).toEqual({ limit: 250, actual: 270 });
    }
  });

  /** The ValidationError prepareAppend throws for `bad`, appended after a good event. */
  function refusal(bad: NewEvent): ValidationError {
    try {
      prepareAppend('order-1', [event, bad], undefined, limits);
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      return error as ValidationError;
    }
    return expect.unreachable('the append was accepted');
  }

  it.each<[string, NewEvent, string]>([
    ['a data string', { type: 't', data: { note: 'a\u0000b' } }, 'event 1 data → note'],
    [
      'a string deep in data arrays',
      { type: 't', data: { lines: [{ sku: 'x' }, { sku: ['ok', '\u0000'] }] } },
      'event 1 data → lines → 1 → sku → 1',
    ],
    ['top-level string data', { type: 't', data: '\u0000' }, 'event 1 data'],
    ['a string where it follows a backslash', { type: 't', data: { note: '\\\u0000' } }, 'event 1 data → note'],
    ['a metadata string', { type: 't', data: {}, metadata: { trace: { note: 'x\u0000' } } }, 'event 1 metadata → trace → note'],
  ])('refuses U+0000 (NUL) in %s, naming where it is', (_, bad, field) => {
    const error = refusal(bad);
    expect(error.details).toEqual({ field });
    expect(error.message).toBe(`${field} holds U+0000 (NUL), which no store accepts: SQL on PostgreSQL cannot read it`);
  });

  it('refuses U+0000 (NUL) in a key, naming the object that has it', () => {
    const error = refusal({ type: 't', data: { lines: [{ 'sku\u0000': 1 }] } });
    expect(error.details).toEqual({ field: 'event 1 data → lines → 0' });
    expect(error.message).toBe(
      'event 1 data → lines → 0 has a key ("sku\\u0000") holding U+0000 (NUL), which no store accepts: SQL on PostgreSQL cannot read it',
    );
  });

  it.each<[string, NewEvent, string]>([
    ['a data string', { type: 't', data: { list: [['ok', 'x\udbff']] } }, 'event 1 data → list → 0 → 1'],
    ['a data key', { type: 't', data: { '\udc00key': 1 } }, 'event 1 data'],
    ['a metadata string', { type: 't', data: {}, metadata: { userId: 'u\udfff' } }, 'event 1 metadata → userId'],
  ])('refuses a lone surrogate in %s, naming where it is', (_, bad, field) => {
    const error = refusal(bad);
    expect(error.details).toEqual({ field });
    expect(error.message).toContain('lone surrogate');
  });

  it('keeps text that only looks like an escape: a backslash followed by the letters u0000 or ud800', () => {
    const data = { nul: '\\u0000', surrogate: '\\ud800', both: '\\\\u0000 \\\\udfff', pair: '\ud83c\udf0a', tab: '\t\u001f' };
    const [, prepared] = prepareAppend('order-1', [event, { type: 't', data, metadata: { note: '\\u0000' } }], undefined, limits).events;
    expect(JSON.parse(prepared?.dataJson ?? '')).toEqual(data);
    expect(JSON.parse(prepared?.metadataJson ?? '')).toEqual({ note: '\\u0000' });
  });

  it('measures a large multi-byte payload correctly too (the encoder path)', () => {
    const data = '€'.repeat(2000); // 6,002 bytes of JSON (2,002 characters) + 2 of metadata
    expect(() => prepareAppend('s-1', [{ type: 't', data }], undefined, { maxEventBytes: 6004, maxAppendBytes: 1e9 })).not.toThrow();
    expect(() => prepareAppend('s-1', [{ type: 't', data }], undefined, { maxEventBytes: 6003, maxAppendBytes: 1e9 })).toThrow(
      PayloadTooLargeError,
    );
  });
});
