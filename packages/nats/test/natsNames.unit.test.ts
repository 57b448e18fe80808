import { ValidationError } from '@tidemark/core';
import { describe, expect, it } from 'vitest';
import { natsNames } from '../src/index.js';

describe('natsNames', () => {
  it('keeps groups that differ only by . and _ on different durable consumers', () => {
    const names = natsNames('S', 'p');
    expect(names.durable('billing')).toBe('billing');
    expect(names.durable('a.b')).not.toBe(names.durable('a_b'));
    expect(names.durable('a.b')).not.toContain('.');
    expect(names.subject('shop.order.placed')).toBe('p.shop.order.placed');
    expect(names.deadLetterSubject('a.b')).toBe('p_dlq.a.b');
  });

  it('refuses stream names and prefixes NATS would not take', () => {
    for (const [stream, prefix] of [
      ['with.dot', 'p'],
      ['', 'p'],
      ['S', 'p.>'],
      ['S', 'p..q'],
      ['S', 'has space'],
    ] as const) {
      expect(() => natsNames(stream, prefix)).toThrow(ValidationError);
    }
  });
});
