import { randomUUID } from 'node:crypto';
import { DuplicateEventIdError, detectRetry, type PreparedAppend, type StoredEventRef } from '@tidemark/core';
import { describe, expect, it } from 'vitest';

function append(streamId: string, ids: string[]): PreparedAppend {
  return {
    streamId,
    expectedVersion: 'any',
    anyIdSupplied: true,
    events: ids.map((id) => ({ id, idSupplied: true, type: 't', schemaVersion: 1, dataJson: '{}', metadataJson: '{}' })),
  };
}

describe('detectRetry', () => {
  const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
  const stored = new Map<string, StoredEventRef>([
    [a, { streamId: 'pay-1', version: 4, position: 10n }],
    [b, { streamId: 'pay-1', version: 5, position: 11n }],
  ]);

  it('sees a new append when none of its ids is stored', () => {
    expect(detectRetry(append('pay-1', [c]), new Map())).toBeUndefined();
  });

  it('sees a retry when all ids are stored in this stream, consecutively, in batch order', () => {
    expect(detectRetry(append('pay-1', [a, b]), stored)).toEqual({ nextExpectedVersion: 5, position: 11n });
  });

  it.each([
    ['another order', () => append('pay-1', [b, a])],
    ['another stream', () => append('pay-2', [a, b])],
    ['a partial overlap', () => append('pay-1', [b, c])],
    ['a new id first', () => append('pay-1', [c, a, b])],
    ['a new id last', () => append('pay-1', [a, b, c])],
  ])('rejects %s with DuplicateEventIdError naming a stored id', (_, make) => {
    const found = new Map([...stored].filter(([id]) => make().events.some((e) => e.id === id)));
    let error: unknown;
    try {
      detectRetry(make(), found);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DuplicateEventIdError);
    expect([a, b]).toContain((error as DuplicateEventIdError).details.eventId);
  });

  it('rejects ids stored at versions with a gap between them', () => {
    const gapped = new Map<string, StoredEventRef>([
      [a, { streamId: 'pay-1', version: 1, position: 1n }],
      [b, { streamId: 'pay-1', version: 3, position: 3n }],
    ]);
    expect(() => detectRetry(append('pay-1', [a, b]), gapped)).toThrow(DuplicateEventIdError);
  });
});
