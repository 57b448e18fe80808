import {
  createCryptoShredding,
  createInMemoryEventStore,
  createInMemoryKeyStore,
  createInMemoryOutbox,
  type OutgoingMessage,
  redactedMarker,
  redactOutbox,
  ValidationError,
} from '@tidemark/core';
import { describe, expect, it } from 'vitest';

const email = 'zebulon.quartermaine@example.org';

const welcome = (id: string, customerId: string, to = email): OutgoingMessage => ({
  id,
  type: 'shop.welcome.mail',
  schemaVersion: 1,
  key: `customer-${customerId}`,
  data: { customerId, to },
});

function world() {
  const store = createInMemoryEventStore();
  const outbox = createInMemoryOutbox();
  const shredding = createCryptoShredding({
    keyStore: createInMemoryKeyStore(),
    personalData: {},
    personalMessages: { 'shop.welcome.mail': { subject: (data: { customerId: string }) => data.customerId, fields: ['to'] } },
  });
  shredding.attachStore(store);
  const forgotten = (subjectId: string) => ({ subjectId, streamIds: [] });
  const stored = async () => (await store.transaction((tx) => outbox.pending(tx, { limit: 100 }))).map((entry) => entry.message.data);
  return { store, outbox, shredding, forgotten, stored };
}

describe('redactOutbox on the in-memory outbox', () => {
  it("redacts the forgotten subject's declared fields, and leaves other subjects and types alone", async () => {
    const { store, outbox, shredding, forgotten, stored } = world();
    await store.transaction((tx) =>
      outbox.add(tx, [
        welcome('m-1', 'cust-z'),
        welcome('m-2', 'cust-a', 'ada@example.org'),
        { id: 'm-3', type: 'shop.customer.counted', schemaVersion: 1, key: 'stats', data: { customerId: 'cust-z', to: email } },
      ]),
    );
    expect(await store.transaction((tx) => redactOutbox(outbox, tx, forgotten('cust-z'), shredding))).toBe(1);
    expect(await stored()).toEqual([
      { customerId: 'cust-z', to: redactedMarker },
      { customerId: 'cust-a', to: 'ada@example.org' },
      { customerId: 'cust-z', to: email },
    ]);
    expect(await store.transaction((tx) => redactOutbox(outbox, tx, forgotten('cust-z'), shredding))).toBe(0);
  });

  it('redacts a message added in the same transaction, and a rolled-back redaction changes nothing', async () => {
    const { store, outbox, shredding, forgotten, stored } = world();
    await store.transaction((tx) => outbox.add(tx, [welcome('m-1', 'cust-z')]));
    await expect(
      store.transaction(async (tx) => {
        await redactOutbox(outbox, tx, forgotten('cust-z'), shredding);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await stored()).toEqual([{ customerId: 'cust-z', to: email }]);
    await store.transaction(async (tx) => {
      await outbox.add(tx, [welcome('m-2', 'cust-z')]);
      expect(await redactOutbox(outbox, tx, forgotten('cust-z'), shredding)).toBe(2);
    });
    expect(await stored()).toEqual([
      { customerId: 'cust-z', to: redactedMarker },
      { customerId: 'cust-z', to: redactedMarker },
    ]);
  });

  it('refuses new data that is not plain JSON', async () => {
    const { store, outbox } = world();
    await store.transaction((tx) => outbox.add(tx, [welcome('m-1', 'cust-z')]));
    await expect(store.transaction((tx) => outbox.rewriteData(tx, ['shop.welcome.mail'], () => ({ to: 1n })))).rejects.toThrow(
      ValidationError,
    );
  });

  it('checks the personalMessages declarations when created', () => {
    expect(() =>
      createCryptoShredding({
        keyStore: createInMemoryKeyStore(),
        personalData: {},
        personalMessages: { 'shop.welcome.mail': { subject: (data: { customerId: string }) => data.customerId, fields: [] } },
      }),
    ).toThrow("personalMessages['shop.welcome.mail']");
  });
});
