import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createEventRegistry,
  createInMemoryEventStore,
  EventSchemaError,
  type EventStore,
  IncompatibleSchemaError,
  type RecordedEvent,
  subscribe,
  UnknownEventTypeError,
  UpcasterChainError,
} from '../src/index.js';

async function readAll(store: EventStore, types?: readonly string[]): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const event of store.readAll(types ? { types } : {})) events.push(event);
  return events;
}

/** The founding documents' examples. */
function shopRegistry() {
  return createEventRegistry({ strict: true })
    .event('order.created', {
      versions: { 1: z.strictObject({ orderId: z.string() }), 2: z.object({ orderId: z.string(), currency: z.string().length(3) }) },
      upcasters: { 1: (data: { orderId: string }) => ({ ...data, currency: 'USD' }) },
    })
    .event('item.added', {
      versions: {
        1: z.object({ sku: z.string(), price: z.number() }),
        2: z.object({ sku: z.string(), price: z.number(), discount: z.number() }),
      },
      upcasters: { 1: (data: { sku: string; price: number }) => ({ ...data, discount: 0 }) },
    });
}

describe('upcasting', () => {
  it('reads order.created v1 as v2 with currency USD and item.added v1 as v2 with discount 0', async () => {
    // Written the old way: a store without the registry, v1 data.
    const store = createInMemoryEventStore({ stages: [shopRegistry().stage] });
    await store.appendToStream('order-1', [
      { type: 'order.created', schemaVersion: 1, data: { orderId: 'o1' } },
      { type: 'item.added', schemaVersion: 1, data: { sku: 'a', price: 5 } },
      { type: 'item.added', schemaVersion: 2, data: { sku: 'b', price: 7, discount: 2 } },
    ]);
    const events = await store.readStream('order-1');
    expect(events.map((e) => [e.type, e.schemaVersion, e.data])).toEqual([
      ['order.created', 2, { orderId: 'o1', currency: 'USD' }],
      ['item.added', 2, { sku: 'a', price: 5, discount: 0 }],
      ['item.added', 2, { sku: 'b', price: 7, discount: 2 }],
    ]);
  });

  it('refuses a chain with a hole, a type declared twice and an upcaster leading nowhere, at registration', () => {
    const registry = createEventRegistry();
    expect(() => registry.event('a.b', { versions: { 1: null, 3: null } })).toThrow(UpcasterChainError);
    expect(() => registry.event('a.b', { versions: { 1: null, 3: null } })).toThrow(/v1 → v3 without v2/);
    expect(() => registry.event('a.c', { versions: { 1: null, 2: null }, upcasters: { 2: (d) => d } })).toThrow(UpcasterChainError);
    registry.event('a.d', { versions: { 1: null, 2: null }, upcasters: { 1: (d) => d } });
    expect(() => registry.event('a.d', { versions: { 1: null, 2: null }, upcasters: { 1: (d) => d } })).toThrow(/already declared/);
    expect(() => registry.event('a.e', { versions: { 1: { not: 'a schema' } as never } })).toThrow(UpcasterChainError);
  });

  it('refuses to read an event stored at a version newer than the registry knows', () => {
    const registry = shopRegistry();
    const event: RecordedEvent = {
      id: '0190a0a0-0000-7000-8000-000000000000',
      type: 'order.created',
      schemaVersion: 3,
      streamId: 'order-1',
      version: 1,
      position: 1n,
      recordedAt: new Date(),
      data: {},
      metadata: {},
    };
    expect(() => registry.upcast([event])).toThrow(UnknownEventTypeError);
  });

  it('splits and renames: split events keep the stream version and position, the first keeps the id, and type filters find renamed events', async () => {
    const registry = createEventRegistry()
      .event('cart.changed', {
        versions: { 1: null },
        becomes: {
          types: ['cart.item_added', 'cart.item_removed'],
          events: (data: { added: string; removed: string }) => [
            { type: 'cart.item_added', data: { sku: data.added } },
            { type: 'cart.item_removed', data: { sku: data.removed } },
          ],
        },
      })
      .event('customer.registered', {
        versions: { 1: null },
        becomes: { types: ['account.opened'], events: (data) => ({ type: 'account.opened', data }) },
      })
      .event('account.opened', { versions: { 1: null, 2: null }, upcasters: { 1: (data) => ({ ...data, currency: 'USD' }) } });
    const store = createInMemoryEventStore({ stages: [registry.stage] });
    const appended = await store.appendToStream('cart-1', [{ type: 'cart.changed', data: { added: 'x', removed: 'y' } }]);
    await store.appendToStream('account-1', [{ type: 'customer.registered', data: { owner: 'ann' } }]);
    const cart = await store.readStream('cart-1');
    expect(cart.map((e) => [e.type, e.version, e.position, e.data])).toEqual([
      ['cart.item_added', 1, 1n, { sku: 'x' }],
      ['cart.item_removed', 1, 1n, { sku: 'y' }],
    ]);
    expect(cart[0]?.id).toBe(appended.events[0]?.id);
    expect(cart[1]?.id).not.toBe(cart[0]?.id);
    expect((await store.readStream('cart-1'))[1]?.id).toBe(cart[1]?.id);
    const opened = await readAll(store, ['account.opened']);
    expect(opened.map((e) => [e.type, e.schemaVersion, e.data])).toEqual([['account.opened', 2, { owner: 'ann', currency: 'USD' }]]);
    expect((await readAll(store, ['cart.item_removed'])).map((e) => e.type)).toEqual(['cart.item_removed']);
  });
});

describe('split events downstream', () => {
  it('a subscription whose batches grow past batchSize through splits still delivers every event once', async () => {
    const registry = createEventRegistry().event('pair.recorded', {
      versions: { 1: null },
      becomes: {
        types: ['half.recorded'],
        events: (data: { n: number }) => [
          { type: 'half.recorded', data: { n: data.n, half: 1 } },
          { type: 'half.recorded', data: { n: data.n, half: 2 } },
        ],
      },
    });
    const store = createInMemoryEventStore({ stages: [registry.stage] });
    for (let n = 1; n <= 5; n++) await store.appendToStream(`pair-${n}`, [{ type: 'pair.recorded', data: { n } }]);
    const controller = new AbortController();
    const seen: string[] = [];
    for await (const batch of subscribe(store, { batchSize: 3, signal: controller.signal })) {
      seen.push(...batch.events.map((event) => `${(event.data as { n: number }).n}.${(event.data as { half: number }).half}`));
      if (batch.caughtUp) controller.abort();
    }
    expect(seen).toEqual(['1.1', '1.2', '2.1', '2.2', '3.1', '3.2', '4.1', '4.2', '5.1', '5.2']);
  });
});

describe('schemas on append', () => {
  it('refuses an event failing its schema with the failing path, writing nothing, also when only the 2nd event of an append is bad', async () => {
    const store = createInMemoryEventStore({ stages: [shopRegistry().stage] });
    const error = await store
      .appendToStream('order-1', [
        { type: 'order.created', schemaVersion: 2, data: { orderId: 'o1', currency: 'EUR' } },
        { type: 'item.added', schemaVersion: 2, data: { sku: 'a', price: 'five', discount: 0 } },
      ])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventSchemaError);
    expect((error as EventSchemaError).details).toMatchObject({ type: 'item.added', index: 1, issues: [{ path: 'price' }] });
    expect((error as Error).message).toMatch(/Event 1 \(item.added v2\).*price/);
    expect(await store.headPosition()).toBe(0n);
  });

  it('takes an event naming no version as v1, and refuses unknown types (strict) and unknown versions', async () => {
    const store = createInMemoryEventStore({ stages: [shopRegistry().stage] });
    // v1 data, validated against v1, read as v2.
    const result = await store.appendToStream('order-1', [{ type: 'order.created', data: { orderId: 'o1' } }]);
    expect(result.events[0]).toMatchObject({ schemaVersion: 2, data: { orderId: 'o1', currency: 'USD' } });
    await expect(store.appendToStream('order-1', [{ type: 'order.created', data: { orderId: 'o1', currency: 'EUR' } }])).rejects.toThrow(
      EventSchemaError,
    );
    await expect(store.appendToStream('order-1', [{ type: 'order.shipped', data: {} }])).rejects.toThrow(UnknownEventTypeError);
    await expect(store.appendToStream('order-1', [{ type: 'order.created', schemaVersion: 3, data: {} }])).rejects.toThrow(
      UnknownEventTypeError,
    );
    expect(await store.headPosition()).toBe(1n);
    // Not strict: unknown types pass untouched.
    const lax = createInMemoryEventStore({ stages: [createEventRegistry().stage] });
    await expect(lax.appendToStream('x-1', [{ type: 'any.thing', data: {} }])).resolves.toMatchObject({ written: true });
  });

  it('validates on read when asked', async () => {
    const writer = createEventRegistry().event('n.added', { versions: { 1: null } });
    const store = createInMemoryEventStore({ stages: [writer.stage] });
    await store.appendToStream('n-1', [{ type: 'n.added', data: { n: 'not a number' } }]);
    const reader = createEventRegistry({ validateOnRead: true }).event('n.added', { versions: { 1: z.object({ n: z.number() }) } });
    const stored = await store.readStream('n-1');
    expect(() => reader.upcast(stored)).toThrow(EventSchemaError);
  });
});

describe('the schema registry stored with the events', () => {
  const v1 = z.object({ owner: z.string() });

  it('records each (type, version) with a fingerprint and its JSON Schema, and refuses a changed schema for a registered version', async () => {
    const store = createInMemoryEventStore();
    const first = await createEventRegistry()
      .event('account.opened', { versions: { 1: v1 } })
      .registerWith(store);
    expect(first.added).toEqual([{ type: 'account.opened', version: 1 }]);
    const [entry] = await (store.eventSchemas?.list() ?? []);
    expect(entry?.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(entry?.jsonSchema).toMatchObject({ type: 'object', properties: { owner: { type: 'string' } } });
    expect(
      await createEventRegistry()
        .event('account.opened', { versions: { 1: v1 } })
        .registerWith(store),
    ).toEqual({ added: [], unchanged: 1 });
    const changed = createEventRegistry().event('account.opened', { versions: { 1: z.object({ owner: z.number() }) } });
    await expect(changed.registerWith(store)).rejects.toThrow(IncompatibleSchemaError);
  });

  it('accepts a new version reached by an upcaster; without one, only when the stored events of the older version match it', async () => {
    const store = createInMemoryEventStore();
    await createEventRegistry()
      .event('account.opened', { versions: { 1: v1 } })
      .registerWith(store);
    await store.appendToStream('account-1', [{ type: 'account.opened', data: { owner: 'ann' } }]);
    const v2 = z.object({ owner: z.string(), currency: z.string() });
    const withoutUpcaster = createEventRegistry().event('account.opened', { versions: { 1: v1, 2: v2 } });
    const refused = await withoutUpcaster.registerWith(store).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(IncompatibleSchemaError);
    expect((refused as IncompatibleSchemaError).failures).toEqual([
      expect.objectContaining({
        type: 'account.opened',
        version: 2,
        fromVersion: 1,
        issues: [expect.objectContaining({ path: 'currency' })],
      }),
    ]);
    expect((await store.eventSchemas?.list())?.length).toBe(1);
    // Backward compatible (an optional field): the stored v1 events read as v2 as they are.
    const compatible = createEventRegistry().event('account.opened', {
      versions: { 1: v1, 2: z.object({ owner: z.string(), currency: z.string().optional() }) },
    });
    await expect(compatible.registerWith(store)).resolves.toMatchObject({ added: [{ type: 'account.opened', version: 2 }] });
    // The same store before v2, with an upcaster instead: nothing to check against the stored events.
    const other = createInMemoryEventStore();
    await createEventRegistry()
      .event('account.opened', { versions: { 1: v1 } })
      .registerWith(other);
    await other.appendToStream('account-1', [{ type: 'account.opened', data: { owner: 'ann' } }]);
    const upcast = createEventRegistry().event('account.opened', {
      versions: { 1: v1, 2: v2 },
      upcasters: { 1: (data: { owner: string }) => ({ ...data, currency: 'USD' }) },
    });
    await expect(upcast.registerWith(other)).resolves.toMatchObject({ added: [{ type: 'account.opened', version: 2 }] });
  });
});
