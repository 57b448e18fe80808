import {
  type CryptoShredding,
  createCryptoShredding,
  type EventStore,
  forgottenSubjectsStreamId,
  type KeyStore,
  type NewEvent,
  type RecordedEvent,
  redactedMarker,
  subjectForgottenEventType,
} from '@tidemark/core';
import { afterAll, describe, expect, it } from 'vitest';
import type { KeyStoreHarness } from './keyStoreHarness.js';

const personalData = {
  'customer.registered': { subject: (data: { customerId: string }) => data.customerId, fields: ['name', 'email'] },
};

/**
 * Appends and reads through the crypto stage by hand: what the stores do with `stages` once the
 * event pipeline is merged, here so that the contract needs nothing but the adapter.
 */
function throughStage(store: EventStore, shredding: CryptoShredding) {
  return {
    async append(streamId: string, events: readonly NewEvent[]) {
      return store.appendToStream(streamId, await shredding.stage.write!(events, streamId));
    },
    async read(streamId: string): Promise<readonly RecordedEvent[]> {
      return shredding.stage.read!(await store.readStream(streamId));
    },
  };
}

const registered = (customerId: string, name: string, email: string): NewEvent => ({
  type: 'customer.registered',
  data: { customerId, name, email },
});

/**
 * What every key store must do: one 256-bit key per subject, created once even when first uses
 * race (in one process or several), never created by a lookup, destroyed by deleteKey with the
 * subject remembered as forgotten; and, with the crypto stage over the adapter's own store,
 * forget turns the subject's fields into the redaction marker and names its streams.
 */
export function keyStoreContract(adapter: string, harness: KeyStoreHarness): void {
  describe(`Key store contract: ${adapter}`, () => {
    afterAll(async () => {
      await harness.teardown?.();
    });

    it('creates one 256-bit key per subject on first use, and lookups never create one', async () => {
      const { keyStore } = await harness.create();
      expect(await keyStore.findKey('subject-1')).toBeUndefined();
      const key = await keyStore.getOrCreateKey('subject-1');
      expect(key.subjectId).toBe('subject-1');
      expect(key.material).toHaveLength(32);
      const again = await keyStore.getOrCreateKey('subject-1');
      expect(again.keyId).toBe(key.keyId);
      expect(Buffer.from(again.material).equals(Buffer.from(key.material))).toBe(true);
      expect((await keyStore.findKey('subject-1'))?.keyId).toBe(key.keyId);
      const other = await keyStore.getOrCreateKey('subject-2');
      expect(Buffer.from(other.material).equals(Buffer.from(key.material))).toBe(false);
      expect(await keyStore.deleteKey('never-seen')).toBe('unknown');
    });

    it('hands every racing first use the one key that was stored, across connections', async () => {
      const { keyStore, openAnother } = await harness.create();
      const another = await openAnother();
      const keys = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? keyStore : another).getOrCreateKey('racer')));
      expect(new Set(keys.map((key) => key.keyId)).size).toBe(1);
      expect(new Set(keys.map((key) => Buffer.from(key.material).toString('hex'))).size).toBe(1);
    });

    it('destroys the key and remembers the subject as forgotten; a new key afterwards is a different one', async () => {
      const { keyStore, openAnother } = await harness.create();
      const another = await openAnother();
      const before = await keyStore.getOrCreateKey('subject-3');
      expect(await keyStore.deleteKey('subject-3')).toBe('deleted');
      expect(await keyStore.findKey('subject-3')).toBeUndefined();
      expect(await another.findKey('subject-3')).toBeUndefined();
      expect(await another.deleteKey('subject-3')).toBe('already_forgotten');
      const after = await keyStore.getOrCreateKey('subject-3');
      expect(after.keyId).not.toBe(before.keyId);
      expect(Buffer.from(after.material).equals(Buffer.from(before.material))).toBe(false);
    });

    it('with the crypto stage on its store: encrypted at rest, readable until forgotten, then redacted, with the streams named', async () => {
      const { store, keyStore } = await harness.create();
      const shredding = createCryptoShredding({ keyStore: keyStore as KeyStore, personalData });
      shredding.attachStore(store);
      const staged = throughStage(store, shredding);
      await staged.append('customer-a', [registered('cust-a', 'Ada Lovelace', 'ada@example.com')]);
      await staged.append('customer-b', [registered('cust-b', 'Grace Hopper', 'grace@example.com')]);
      await staged.append('support-1', [registered('cust-a', 'Ada L.', 'ada@example.com')]);

      const stored = await store.readStream('customer-a');
      expect(JSON.stringify(stored[0]?.data)).not.toContain('Ada');
      expect(JSON.stringify(stored[0]?.data)).not.toContain('ada@example.com');
      expect((await staged.read('customer-a'))[0]?.data).toEqual({ customerId: 'cust-a', name: 'Ada Lovelace', email: 'ada@example.com' });

      const heard: unknown[] = [];
      shredding.onForgotten((forgotten) => void heard.push(forgotten));
      const result = await shredding.forget('cust-a');
      expect(result.status).toBe('deleted');
      expect([...result.streamIds].sort()).toEqual(['customer-a', 'support-1']);
      expect(heard).toEqual([{ subjectId: 'cust-a', streamIds: result.streamIds }]);
      expect((await staged.read('customer-a'))[0]?.data).toEqual({ customerId: 'cust-a', name: redactedMarker, email: redactedMarker });
      expect((await staged.read('support-1'))[0]?.data).toMatchObject({ name: redactedMarker });
      // The other subject is untouched.
      expect((await staged.read('customer-b'))[0]?.data).toMatchObject({ name: 'Grace Hopper' });

      const announced = await store.readStream(forgottenSubjectsStreamId);
      expect(announced.map((event) => [event.type, (event.data as { subjectId: string }).subjectId])).toEqual([
        [subjectForgottenEventType, 'cust-a'],
      ]);
      expect(announced[0]?.position).toBe(result.position);

      // Idempotent: the same streams again, nothing appended.
      const again = await shredding.forget('cust-a');
      expect(again.status).toBe('already_forgotten');
      expect([...again.streamIds].sort()).toEqual(['customer-a', 'support-1']);
      expect(await store.readStream(forgottenSubjectsStreamId)).toHaveLength(1);
    });
  });
}
