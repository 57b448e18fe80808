import { randomUUID } from 'node:crypto';
import {
  assertRetryPayload,
  DuplicateEventIdError,
  detectRetry,
  IdempotencyConflictError,
  type PreparedAppend,
  prepareAppend,
  type StoredEventPayload,
  type StoredEventRef,
} from '@tidemark/core';
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

describe('assertRetryPayload', () => {
  const id = randomUUID();
  const limits = { maxEventBytes: 1 << 20, maxAppendBytes: 1 << 24 };
  // Written by version 1 of the service, with a correlation id of the caller's.
  const stored = new Map<string, StoredEventPayload>([
    [
      id,
      {
        type: 'paid',
        schemaVersion: 1,
        dataJson: '{"amount":5}',
        metadataJson: '{"service":"shop","serviceVersion":"1","correlationId":"c-1"}',
      },
    ],
  ]);
  const retry = (metadata: Record<string, unknown>, defaults: Record<string, unknown>) =>
    prepareAppend('pay-1', [{ id, type: 'paid', data: { amount: 5 }, metadata }], undefined, limits, defaults);

  it("ignores what the store's defaultMetadata put there: a deploy between the crash and the retry changes it", () => {
    const defaults = { service: 'shop', serviceVersion: '2' };
    expect(() => assertRetryPayload(retry({ correlationId: 'c-1' }, defaults), stored, defaults)).not.toThrow();
  });

  it('compares every key the caller sets itself, even one the defaults also set', () => {
    const defaults = { service: 'shop', serviceVersion: '2' };
    expect(() => assertRetryPayload(retry({ correlationId: 'c-2' }, defaults), stored, defaults)).toThrow(IdempotencyConflictError);
    // The caller overriding a default with a value other than the stored one is a different event.
    expect(() => assertRetryPayload(retry({ correlationId: 'c-1', service: 'billing' }, defaults), stored, defaults)).toThrow(
      IdempotencyConflictError,
    );
  });

  it('compares everything when the store has no defaults', () => {
    const metadata = { service: 'shop', serviceVersion: '2', correlationId: 'c-1' };
    const error = (() => {
      try {
        assertRetryPayload(retry(metadata, {}), stored, undefined);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(IdempotencyConflictError);
    expect((error as IdempotencyConflictError).details).toEqual({ streamId: 'pay-1', eventId: id, field: 'metadata' });
  });
});
