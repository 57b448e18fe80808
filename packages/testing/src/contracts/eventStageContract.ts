import type { StandardJSONSchemaV1, StandardSchemaV1 } from '@standard-schema/spec';
import {
  createEventRegistry,
  type EventStage,
  type EventStore,
  IncompatibleSchemaError,
  type NewEvent,
  type RecordedEvent,
  UnknownEventTypeError,
  ValidationError,
} from '@tidemark/core';
import { describe, expect, it } from 'vitest';
import type { EventStoreHarness } from './eventStoreHarness.js';
import { readAllEvents, storeSnapshot, waitForHead } from './storeSnapshot.js';
import { useStores } from './useStores.js';

/** `note.added` v1 → v2 adds `author`, v2 → v3 renames `body` to `text`: a two-step chain. */
function noteRegistry() {
  return createEventRegistry().event('note.added', {
    versions: { 1: null, 2: null, 3: null },
    upcasters: {
      1: (data: { body: string }) => ({ ...data, author: 'unknown' }),
      2: ({ body, ...rest }: { body: string; author: string }) => ({ ...rest, text: body }),
    },
  });
}

/**
 * A stage that transforms on write and undoes it on read, as an encryption stage does: data is
 * stored wrapped under `key`. Written twice, read never, or read twice, the data comes back wrong.
 */
function wrapping(key: string, mode: 'sync' | 'async', calls: { write: number; read: number }): EventStage {
  const maybeAsync = <T>(value: T): T | Promise<T> => (mode === 'async' ? Promise.resolve(value) : value);
  return {
    write(events) {
      calls.write++;
      return maybeAsync(events.map((event): NewEvent => ({ ...event, data: { [key]: event.data } })));
    },
    read(events) {
      calls.read++;
      return maybeAsync(
        events.map((event): RecordedEvent => {
          const data = event.data as Record<string, unknown>;
          if (!(key in data)) throw new Error(`${key}: not wrapped by this stage: ${JSON.stringify(data)}`);
          return { ...event, data: data[key] };
        }),
      );
    },
  };
}

/** A Standard Schema (with its JSON Schema) of an object whose listed keys are required strings: no library needed. */
function stringKeys(...keys: string[]): StandardSchemaV1 & StandardJSONSchemaV1 {
  return {
    '~standard': {
      version: 1,
      vendor: 'tidemark-contract',
      validate(value) {
        const data = value as Record<string, unknown>;
        const missing = keys.filter((key) => typeof data?.[key] !== 'string');
        return missing.length === 0 ? { value } : { issues: missing.map((key) => ({ message: 'expected a string', path: [key] })) };
      },
      jsonSchema: {
        input: () => ({ type: 'object', required: keys, properties: Object.fromEntries(keys.map((key) => [key, { type: 'string' }])) }),
        output: () => ({ type: 'object', required: keys }),
      },
    },
  };
}

const noteV1 = (body: string): NewEvent => ({ type: 'note.added', schemaVersion: 1, data: { body } });

/** The event pipeline (EventStage): every adapter runs its stages on every append and read path. */
export function eventStageContract(harness: EventStoreHarness): void {
  describe('event pipeline stages', () => {
    const open = useStores(harness);

    it('upcasts v1 events to the latest version on every read path, and the append results and hooks see them upcast too', async () => {
      const store = await open({ stages: [noteRegistry().stage] });
      // Without hooks first (the stores' fastest append paths), then with one.
      const first = await store.appendToStream('note-1', [noteV1('a'), noteV1('b')]);
      const hooked: RecordedEvent[] = [];
      store.addAppendHook((events) => void hooked.push(...events));
      const inTx = await store.transaction((tx) => tx.appendToStream('note-1', [noteV1('c')]));
      const latest = { author: 'unknown', text: 'a' };
      expect(first.events.map((e) => [e.schemaVersion, e.data])).toEqual([
        [3, latest],
        [3, { author: 'unknown', text: 'b' }],
      ]);
      expect(inTx.events[0]?.data).toEqual({ author: 'unknown', text: 'c' });
      expect(hooked.map((e) => [e.schemaVersion, e.data])).toEqual([[3, { author: 'unknown', text: 'c' }]]);
      const texts = (events: RecordedEvent[]) => events.map((e) => (e.data as { text: string }).text);
      expect(texts(await store.readStream('note-1'))).toEqual(['a', 'b', 'c']);
      expect(texts(await store.readStream('note-1', { direction: 'backwards' }))).toEqual(['c', 'b', 'a']);
      await waitForHead(store, inTx.position);
      expect(texts(await readAllEvents(store))).toEqual(['a', 'b', 'c']);
      expect(texts(await readAllEvents(store, { types: ['note.added'], batchSize: 2 }))).toEqual(['a', 'b', 'c']);
      expect(await store.transaction(async (tx) => texts(await tx.readStream('note-1')))).toEqual(['a', 'b', 'c']);
      const folded = await store.aggregateStream('note-1', {
        initialState: () => [] as string[],
        evolve: (state: string[], event: RecordedEvent) => [...state, `${event.schemaVersion}:${(event.data as { text: string }).text}`],
      });
      expect(folded.state).toEqual(['3:a', '3:b', '3:c']);
      const upTo = await store.aggregateStream('note-1', { initialState: () => 0, evolve: (n: number) => n + 1 }, { upToVersion: 2 });
      expect(upTo).toMatchObject({ state: 2, version: 2 });
    });

    it('refuses on read an event newer than the registry knows, with a typed error', async () => {
      const newer = createEventRegistry().event('note.added', { versions: { 1: null, 2: null, 3: null, 4: null } });
      const writer = await open({ stages: [newer.stage] });
      await writer.appendToStream('note-1', [{ type: 'note.added', data: { text: 'x' } }]);
      // The same events read by a store whose stages know up to v3: reading is refused, not silently wrong.
      const strict = noteRegistry().stage;
      const stored = await writer.readStream('note-1');
      expect(stored[0]?.schemaVersion).toBe(4);
      expect(() => strict.read?.(stored)).toThrow(UnknownEventTypeError);
    });

    for (const mode of ['sync', 'async'] as const) {
      it(`runs ${mode} write stages once per append, in order, and read stages in reverse order, on every path`, async () => {
        const outer = { write: 0, read: 0 };
        const inner = { write: 0, read: 0 };
        const store = await open({ stages: [wrapping('outer', mode, outer), wrapping('inner', mode, inner)] });
        // Concurrent appends without hooks: the stores' group commit paths.
        const results = await Promise.all([
          store.appendToStream('wrap-1', [{ type: 'w.one', data: { n: 1 } }]),
          store.appendToStream('wrap-2', [{ type: 'w.one', data: { n: 2 } }]),
        ]);
        const hooked: unknown[] = [];
        store.addAppendHook((events) => void hooked.push(...events.map((e) => e.data)));
        results.push(
          ...(await Promise.all([
            store.appendToStream('wrap-3', [{ type: 'w.one', data: { n: 4 } }]),
            store.appendToStream('wrap-4', [{ type: 'w.one', data: { n: 5 } }]),
          ])),
        );
        const inTx = await store.transaction((tx) => tx.appendToStream('wrap-1', [{ type: 'w.two', data: { n: 3 } }]));
        expect(outer.write).toBe(5);
        expect(inner.write).toBe(5);
        expect(results.map((r) => r.events[0]?.data)).toEqual([{ n: 1 }, { n: 2 }, { n: 4 }, { n: 5 }]);
        expect(inTx.events[0]?.data).toEqual({ n: 3 });
        expect(hooked).toEqual(expect.arrayContaining([{ n: 4 }, { n: 5 }, { n: 3 }]));
        expect(hooked).toHaveLength(3);
        expect((await store.readStream('wrap-1')).map((e) => e.data)).toEqual([{ n: 1 }, { n: 3 }]);
        await waitForHead(store, inTx.position);
        expect((await readAllEvents(store)).map((e) => e.data)).toEqual(
          expect.arrayContaining([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }, { n: 5 }]),
        );
        const sum = await store.aggregateStream('wrap-1', {
          initialState: () => 0,
          evolve: (total: number, event: RecordedEvent) => total + (event.data as { n: number }).n,
        });
        expect(sum.state).toBe(4);
      });
    }

    it('writes nothing when a write stage refuses an append, alone, in a transaction or among concurrent appends', async () => {
      const refusing: EventStage = {
        write(events, streamId) {
          if (events.some((e) => e.type === 'bad.event')) throw new ValidationError('refused by the stage', { streamId });
          return events;
        },
      };
      const store: EventStore = await open({ stages: [refusing] });
      const good = await store.appendToStream('ok-1', [{ type: 'good.event', data: {} }]);
      const before = await storeSnapshot(store, good.position);
      await expect(
        store.appendToStream('bad-1', [
          { type: 'good.event', data: {} },
          { type: 'bad.event', data: {} },
        ]),
      ).rejects.toThrow(ValidationError);
      await expect(
        store.transaction(async (tx) => {
          await tx.appendToStream('bad-2', [{ type: 'bad.event', data: {} }]);
        }),
      ).rejects.toThrow(ValidationError);
      const settled = await Promise.allSettled([
        store.appendToStream('ok-1', [{ type: 'good.event', data: {} }]),
        store.appendToStream('bad-3', [{ type: 'bad.event', data: {} }]),
      ]);
      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected']);
      expect(await store.streamExists('bad-1')).toBe(false);
      expect(await store.streamExists('bad-2')).toBe(false);
      expect(await store.streamExists('bad-3')).toBe(false);
      const after = await storeSnapshot(store, (settled[0] as PromiseFulfilledResult<{ position: bigint }>).value.position);
      expect(after.ids.slice(0, before.ids.length)).toEqual(before.ids);
      expect(after.ids).toHaveLength(before.ids.length + 1);
    });

    it('keeps a schema registry with the events: new versions must read the stored older ones, registered ones cannot change', async () => {
      const v1 = stringKeys('owner');
      const v2 = stringKeys('owner', 'currency');
      const store = await open({ stages: [createEventRegistry().event('account.opened', { versions: { 1: v1 } }).stage] });
      await createEventRegistry()
        .event('account.opened', { versions: { 1: v1 } })
        .registerWith(store);
      await store.appendToStream('account-1', [{ type: 'account.opened', data: { owner: 'ann' } }]);
      const noUpcaster = createEventRegistry().event('account.opened', { versions: { 1: v1, 2: v2 } });
      const refused = await noUpcaster.registerWith(store).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(IncompatibleSchemaError);
      expect((refused as IncompatibleSchemaError).failures).toEqual([
        expect.objectContaining({
          type: 'account.opened',
          version: 2,
          fromVersion: 1,
          issues: [{ path: 'currency', message: 'expected a string' }],
        }),
      ]);
      const changed = createEventRegistry().event('account.opened', { versions: { 1: stringKeys('holder') } });
      await expect(changed.registerWith(store)).rejects.toThrow(IncompatibleSchemaError);
      const upcast = createEventRegistry().event('account.opened', {
        versions: { 1: v1, 2: v2 },
        upcasters: { 1: (data: { owner: string }) => ({ ...data, currency: 'USD' }) },
      });
      expect(await upcast.registerWith(store)).toEqual({ added: [{ type: 'account.opened', version: 2 }], unchanged: 1 });
      const entries = (await store.eventSchemas?.list()) ?? [];
      expect(entries.map((e) => [e.type, e.version, e.fingerprint?.length, e.jsonSchema])).toEqual([
        ['account.opened', 1, 64, { type: 'object', required: ['owner'], properties: { owner: { type: 'string' } } }],
        ['account.opened', 2, 64, expect.objectContaining({ required: ['owner', 'currency'] })],
      ]);
      expect(entries[0]?.registeredAt).toBeInstanceOf(Date);
    });
  });
}
