import { describe, expect, it } from 'vitest';
import { natsMessageId } from '../src/transport/natsMessageId.js';

describe('natsMessageId', () => {
  it('sends an ordinary id as it is', () => {
    expect(natsMessageId('0193a1f0-0000-7000-8000-000000000001')).toBe('0193a1f0-0000-7000-8000-000000000001');
    expect(natsMessageId('order 7 placed')).toBe('order 7 placed');
  });

  it('gives ids that differ only by what the client trims, or by quoting, Nats-Msg-Ids of their own that it does not trim', () => {
    const ids = ['x', ' x', 'x ', '  x  ', 'x\u00a0', '\ufeffx', '\u2028x', '"x"', '"x', JSON.stringify(' x')];
    const sent = ids.map(natsMessageId);
    expect(new Set(sent).size).toBe(ids.length);
    for (const id of sent) expect(id.trim()).toBe(id);
  });
});
