import {
  assertInboxKey,
  assertValidName,
  assertValidStreamId,
  checkSnapshot,
  createInMemoryCheckpointStore,
  createInMemoryEventBrowser,
  createInMemoryEventStore,
  createInMemoryIdempotencyKeyStore,
  createInMemoryOutbox,
  createInMemorySnapshotStore,
  createInMemoryTransport,
  createOutboxRelay,
  createProjector,
  decodeEnvelope,
  defaultAppendLimits,
  encodeEnvelope,
  findBidiControl,
  type NewEvent,
  prepareAppend,
  prepareMessages,
  type RecordedEvent,
  resolveEventQuery,
  resolveStreamQuery,
  runIdempotent,
  type Snapshot,
  ValidationError,
} from '@tidemark/core';
import { describe, expect, it } from 'vitest';

/** Every bidirectional control (CVE-2021-42574's list), with the name a ValidationError gives it. */
const bidiControls: Array<[string, string]> = [
  ['\u061c', 'U+061C'],
  ['\u200e', 'U+200E'],
  ['\u200f', 'U+200F'],
  ['\u202a', 'U+202A'],
  ['\u202b', 'U+202B'],
  ['\u202c', 'U+202C'],
  ['\u202d', 'U+202D'],
  ['\u202e', 'U+202E'],
  ['\u2066', 'U+2066'],
  ['\u2067', 'U+2067'],
  ['\u2068', 'U+2068'],
  ['\u2069', 'U+2069'],
];

const event: NewEvent = { type: 'order.created', data: { total: 5 } };

const snapshot = (streamId: string, name: string): Snapshot => ({
  streamId,
  name,
  streamVersion: 1,
  position: 1n,
  recordedAt: new Date(),
  schemaVersion: 1,
  payload: new Uint8Array(),
});

/** The ValidationError `run` throws, checked to name the field and the code point. */
function refusal(run: () => unknown, field: string, codePoint: string): ValidationError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ValidationError);
  const error = caught as ValidationError;
  expect(error.code).toBe('validation');
  expect(error.details).toEqual({ field, codePoint });
  expect(error.message).toContain(field);
  expect(error.message).toContain(codePoint);
  return error;
}

async function rejection(promise: Promise<unknown>): Promise<ValidationError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ValidationError);
  return error as ValidationError;
}

describe('findBidiControl', () => {
  it.each(bidiControls)('names %j as %s wherever it stands', (char, name) => {
    expect(findBidiControl(char)).toBe(name);
    expect(findBidiControl(`order-${char}1`)).toBe(name);
    expect(findBidiControl(`order-1${char}`)).toBe(name);
  });

  it('names the first one when there are several', () => {
    expect(findBidiControl('a\u2066b\u202ec')).toBe('U+2066');
  });

  it('finds none in text that only looks unusual: RTL letters, emoji, joiners, neighbours of the ranges', () => {
    for (const text of [
      'order-1',
      'طلب-١',
      'הזמנה-1',
      '🧪🏳️‍🌈',
      'a\u200db',
      'a\u200bb',
      '\u2029',
      '\u2065',
      '\u206a',
      '\u2029\u202f',
      '\u061b\u061d',
    ]) {
      expect(findBidiControl(text), JSON.stringify(text)).toBeUndefined();
    }
  });
});

describe('names refuse bidirectional controls (Trojan Source)', () => {
  it.each(bidiControls)('refuses %j in a stream id, naming the field and %s', (char, codePoint) => {
    refusal(() => prepareAppend(`order-${char}1`, [event], undefined, defaultAppendLimits), 'stream id', codePoint);
    refusal(() => assertValidStreamId(`${char}order-1`), 'stream id', codePoint);
  });

  it.each(bidiControls)('refuses %j in an event type', (char, codePoint) => {
    refusal(
      () => prepareAppend('order-1', [event, { type: `order.${char}created`, data: {} }], undefined, defaultAppendLimits),
      'event 1 type',
      codePoint,
    );
  });

  it('refuses them in the other names an operator reads: snapshot names, consumers, message ids, idempotency keys', () => {
    refusal(() => assertValidName('projection\u202e', 'projection name'), 'projection name', 'U+202E');
    refusal(() => checkSnapshot(snapshot('order-1', 'order\u2067state')), 'snapshot name', 'U+2067');
    refusal(() => assertInboxKey('billing\u200f', 'm-1'), 'consumer', 'U+200F');
    refusal(() => assertInboxKey('billing', 'm-\u202a1'), 'message id', 'U+202A');
    refusal(
      () => prepareMessages([{ id: 'm-\u202e1', type: 'order.created', key: 'order-1', schemaVersion: 1, data: {} }]),
      'message 0: id',
      'U+202E',
    );
  });

  it('dead-letters a foreign envelope whose message id holds one (a ValidationError, as for a NUL)', () => {
    const [prepared] = prepareMessages([{ id: 'm-1', type: 'order.created', key: 'order-1', schemaVersion: 1, data: {} }]);
    const text = encodeEnvelope(prepared!, new Date()).replace('"m-1"', '"m-\\u202e1"');
    expect(text).toContain('\\u202e');
    refusal(() => decodeEnvelope(text, 1), 'message id', 'U+202E');
  });

  it('refuses them, NULs and over-long names in the names of projectors and relays, which key their rows', () => {
    const store = createInMemoryEventStore();
    const projector = (name: string) => () =>
      createProjector({ store, projection: { name, apply: async () => {} }, checkpoints: createInMemoryCheckpointStore() });
    const relay = (name: string) => () =>
      createOutboxRelay({ name, store, transport: createInMemoryTransport(), source: { kind: 'table', outbox: createInMemoryOutbox() } });
    refusal(projector('balances\u202e'), 'projection.name', 'U+202E');
    refusal(relay('orders\u2066'), 'name', 'U+2066');
    for (const [make, field] of [
      [projector, 'projection.name'],
      [relay, 'name'],
    ] as const) {
      for (const name of ['a\u0000b', 'x'.repeat(257), '']) {
        const error = (() => {
          try {
            make(name)();
          } catch (caught) {
            return caught;
          }
          return undefined;
        })();
        expect(error, JSON.stringify(name)).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).details).toMatchObject({ field });
      }
    }
  });

  it('refuses an idempotency key holding one before anything runs', async () => {
    const store = createInMemoryEventStore();
    let ran = false;
    const error = await rejection(
      runIdempotent(store, createInMemoryIdempotencyKeyStore(), { scope: 'POST /orders', key: 'key-\u2066-1', request: {} }, async () => {
        ran = true;
      }),
    );
    expect(error.details).toEqual({ field: 'idempotency key', codePoint: 'U+2066' });
    expect(ran).toBe(false);
  });

  it('keeps them in free text: event data and metadata are stored exactly', async () => {
    const store = createInMemoryEventStore();
    const text = 'שלום \u202eworld\u200f';
    await store.appendToStream('order-1', [{ type: 'order.noted', data: { note: text, [text]: 1 }, metadata: { userId: text } }]);
    const [stored] = await store.readStream('order-1');
    expect(stored?.data).toEqual({ note: text, [text]: 1 });
    expect(stored?.metadata.userId).toBe(text);
  });
});

describe('the in-memory store: refused on writes, a ValidationError on reads (as for NUL)', () => {
  const spoofed = 'order-\u202e1-dlo';

  it('writes nothing for an append by such an id, nor inside a transaction', async () => {
    const store = createInMemoryEventStore();
    await store.appendToStream('order-1', [event]);
    const head = await store.headPosition();
    const error = await rejection(store.appendToStream(spoofed, [event]));
    expect(error.details).toEqual({ field: 'stream id', codePoint: 'U+202E' });
    await rejection(store.transaction((tx) => tx.appendToStream(spoofed, [event])));
    expect(await store.headPosition()).toBe(head);
  });

  it('answers reads, tombstones and truncations by such an id with a ValidationError, like a NUL id', async () => {
    const store = createInMemoryEventStore();
    for (const id of [spoofed, 'order-\u00001']) {
      await rejection(store.readStream(id));
      await rejection(store.streamExists(id));
      await rejection(store.aggregateStream(id, { initialState: () => 0, evolve: (n: number) => n + 1 }));
      await rejection(store.transaction((tx) => tx.readStream(id)));
      await rejection(store.tombstoneStream(id));
      await rejection(store.truncateStream(id, { beforeVersion: 2 }));
    }
  });

  it('refuses a snapshot saved or loaded by such an id', async () => {
    const snapshots = createInMemorySnapshotStore();
    await rejection(snapshots.save(snapshot(spoofed, 'order')));
    await rejection(snapshots.load(spoofed, 'order'));
  });

  it('still filters readAll by a type or category holding one: nothing matches (as for other control characters)', async () => {
    const store = createInMemoryEventStore();
    await store.appendToStream('order-1', [event]);
    const read = async (options: { types?: string[]; categories?: string[] }) => {
      const events: RecordedEvent[] = [];
      for await (const e of store.readAll(options)) events.push(e);
      return events;
    };
    expect(await read({ types: ['order.\u202ecreated'] })).toEqual([]);
    expect(await read({ categories: ['order\u2066'] })).toEqual([]);
  });
});

describe('the event browser looks up what is stored, so its filters take them', () => {
  it('accepts them in filters and cursors, which may name metadata or streams stored before the rule', () => {
    expect(resolveEventQuery({ correlationId: 'corr-\u202e1' }).correlationId).toBe('corr-\u202e1');
    expect(resolveEventQuery({ streamId: 'order-\u200f1' }).path).toBe('stream');
    expect(resolveStreamQuery({ cursor: 'order-\u2068' }).after).toBe('order-\u2068');
    // Still no NUL or control character: no name can hold one.
    expect(() => resolveEventQuery({ correlationId: 'corr-\u00001' })).toThrow(ValidationError);
  });

  it('finds events by a correlation id holding one, which metadata may carry', async () => {
    const store = createInMemoryEventStore();
    const correlationId = 'corr-\u202e1';
    await store.appendToStream('order-1', [{ ...event, metadata: { correlationId } }, event]);
    const browser = createInMemoryEventBrowser(store);
    const page = await browser.listEvents({ correlationId });
    expect(page.events.map((e) => e.metadata.correlationId)).toEqual([correlationId]);
    const [first] = await store.readStream('order-1');
    const chain = await browser.getChain(first!.id);
    expect(chain?.correlated.map((e) => e.id)).toEqual([first!.id]);
  });
});
