import { createInMemoryEventStore, indexedMetadataFields, maxIndexedMetadataBytes, ValidationError } from '@tidemark/core';
import { describe, expect, it } from 'vitest';

describe('metadata every store can keep and index', () => {
  it('indexes correlationId and causationId', () => {
    expect(indexedMetadataFields).toEqual(['correlationId', 'causationId']);
    expect(maxIndexedMetadataBytes).toBe(1024);
  });

  it.each<[string, Record<string, unknown>]>([
    ['a value', { note: 'a\u0000b' }],
    ['a nested value', { nested: { deep: ['\u0000'] } }],
    ['a key', { 'a\u0000': 'b' }],
    ['a correlationId', { correlationId: 'c\u0000' }],
  ])('refuses U+0000 in %s of the metadata with a ValidationError, writing nothing', async (_, metadata) => {
    const store = createInMemoryEventStore();
    const error = await store.appendToStream('s-1', [{ type: 't', data: {}, metadata }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).message).toContain('event 0 metadata');
    expect((error as ValidationError).message).toContain('NUL');
    expect(await store.headPosition()).toBe(0n);
    await store.close();
  });

  it('refuses U+0000 coming from the default metadata too', async () => {
    const store = createInMemoryEventStore({ defaultMetadata: { service: 'shop\u0000' } });
    await expect(store.appendToStream('s-1', [{ type: 't', data: {} }])).rejects.toThrow(ValidationError);
    await store.close();
  });

  it('accepts an escaped backslash followed by the letters u0000', async () => {
    const store = createInMemoryEventStore();
    const [event] = (await store.appendToStream('s-1', [{ type: 't', data: {}, metadata: { note: '\\u0000' } }])).events;
    expect(event?.metadata.note).toBe('\\u0000');
    await store.close();
  });

  it.each(['correlationId', 'causationId'])('caps %s at 1,024 UTF-8 bytes, refusing more with a ValidationError', async (name) => {
    const store = createInMemoryEventStore();
    await expect(store.appendToStream('s-1', [{ type: 't', data: {}, metadata: { [name]: 'x'.repeat(1024) } }])).resolves.toMatchObject({
      written: true,
    });
    for (const value of ['x'.repeat(1025), '漢'.repeat(342), 'y'.repeat(5000)]) {
      const error = await store.appendToStream('s-2', [{ type: 't', data: {}, metadata: { [name]: value } }]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).message).toContain(`event 0 metadata → ${name}`);
      expect((error as ValidationError).message).toContain('the limit is 1024');
    }
    expect(await store.streamExists('s-2')).toBe(false);
    await store.close();
  });

  it('requires the indexed fields to be strings when present, and leaves other fields unbounded', async () => {
    const store = createInMemoryEventStore();
    // Typed loosely: the metadata type already says these are strings, callers from JavaScript do not.
    const objectId: Record<string, unknown> = { correlationId: { big: 'x'.repeat(5000) } };
    await expect(store.appendToStream('s-1', [{ type: 't', data: {}, metadata: objectId }])).rejects.toThrow(ValidationError);
    const nullId: Record<string, unknown> = { correlationId: null, other: 'x'.repeat(5000) };
    await expect(store.appendToStream('s-1', [{ type: 't', data: {}, metadata: nullId }])).resolves.toMatchObject({ written: true });
    await store.close();
  });
});
