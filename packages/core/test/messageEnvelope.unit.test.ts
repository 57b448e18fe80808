import { describe, expect, it } from 'vitest';
import { ValidationError } from '../src/domain/errors.js';
import { decodeDeadLetter, decodeEnvelope, encodeDeadLetter, encodeEnvelope } from '../src/transport/messageEnvelope.js';
import { prepareMessages } from '../src/transport/transportInput.js';

const envelope = {
  id: 'm-1',
  type: 'shop.order.placed',
  schemaVersion: 1,
  key: 'k',
  occurredAt: '2026-01-02T03:04:05.000Z',
  headers: {},
  data: {},
};

describe('the wire envelope as a foreign producer may write it', () => {
  it('reads what encodeEnvelope wrote', () => {
    const [prepared] = prepareMessages([{ id: 'm-1', type: 'a.b', schemaVersion: 2, key: 'k', data: { n: 1 }, headers: { h: 'v' } }]);
    const at = new Date('2026-01-02T03:04:05.000Z');
    expect(decodeEnvelope(encodeEnvelope(prepared!, at), 1)).toMatchObject({ id: 'm-1', schemaVersion: 2, data: { n: 1 }, occurredAt: at });
  });

  // Each would reach handlers as a DeliveredMessage that breaks its own type (an Invalid Date, a
  // header that is not a string) or that no inbox can record, and be retried for nothing.
  it.each([
    ['an empty id', { id: '' }],
    ['an id with NUL', { id: 'a\u0000b' }],
    ['an id with a lone surrogate', { id: 'a\uD800b' }],
    ['an id past 256 characters', { id: 'x'.repeat(257) }],
    ['an empty key', { key: '' }],
    ['a fractional schema version', { schemaVersion: 1.5 }],
    ['a zero schema version', { schemaVersion: 0 }],
    ['an unparseable occurredAt', { occurredAt: 'yesterday-ish' }],
    ['a header that is not a string', { headers: { traceparent: 5 } }],
    ['headers as an array', { headers: ['x'] }],
  ])('refuses %s with a ValidationError that names what is wrong', (_, override) => {
    const text = JSON.stringify({ ...envelope, ...override });
    expect(() => decodeEnvelope(text, 1)).toThrow(ValidationError);
  });

  it('refuses a type other than the one the broker routed it by, naming both', () => {
    const text = JSON.stringify(envelope);
    const routed = (type: string) => ({ routed: { type, by: `routing key '${type}'` } });
    expect(decodeEnvelope(text, 1, routed('shop.order.placed'))).toMatchObject({ type: 'shop.order.placed' });
    expect(() => decodeEnvelope(text, 1, routed('shop.order.cancelled'))).toThrow(ValidationError);
    expect(() => decodeEnvelope(text, 1, routed('shop.order.cancelled'))).toThrow(
      "message type 'shop.order.placed' does not match its routing key 'shop.order.cancelled'",
    );
  });

  it('reads back a dead letter whose message was not an envelope, instead of failing the whole listing', () => {
    const deadLetteredAt = new Date('2026-02-03T04:05:06.000Z');
    for (const stored of [JSON.stringify({ unreadable: 'not json' }), '42', JSON.stringify({ ...envelope, id: '' })]) {
      const text = encodeDeadLetter(stored, { group: 'g', error: 'message body is not JSON', attempt: 1, sequence: 7n, deadLetteredAt });
      const dead = decodeDeadLetter(text);
      expect(dead).toMatchObject({ group: 'g', error: 'message body is not JSON', deadLetteredAt });
      expect(dead.message).toMatchObject({ attempt: 1, sequence: 7n, data: JSON.parse(stored) });
    }
  });
});

describe('publishing', () => {
  it.each([
    ['NUL', 'a\u0000b'],
    ['CR LF', 'a\r\nb'],
    ['a lone surrogate', 'a\uDC00'],
  ])('refuses a message id with %s, which no consumer’s inbox could record', (_, id) => {
    expect(() => prepareMessages([{ id, type: 'a.b', schemaVersion: 1, key: 'k', data: {} }])).toThrow(ValidationError);
  });
});
