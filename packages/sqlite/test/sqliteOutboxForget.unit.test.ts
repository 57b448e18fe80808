import { existsSync, readFileSync } from 'node:fs';
import {
  createCryptoShredding,
  createInMemoryTransport,
  createOutboxRelay,
  type DeliveredMessage,
  type OutgoingMessage,
  redactedMarker,
  redactOutbox,
} from '@tidemark/core';
import { waitFor } from '@tidemark/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteEventStore, createSqliteKeyStore, createSqliteOutbox } from '../src/index.js';
import { tempSqliteFiles } from './tempSqliteFiles.js';

const files = tempSqliteFiles('tidemark-outbox-forget-');
afterAll(() => files.remove());

const name = 'Zebulon Quartermaine';
const email = 'zebulon.quartermaine@example.org';
const otherEmail = 'ada.lovelace@example.org';

/** Every byte SQLite keeps for the database: the file, its WAL and the WAL index. */
function bytesOnDisk(file: string): Buffer {
  return Buffer.concat([file, `${file}-wal`, `${file}-shm`].filter((path) => existsSync(path)).map((path) => readFileSync(path)));
}

const welcome = (id: string, customerId: string, to: string, extra: Record<string, unknown> = {}): OutgoingMessage => ({
  id,
  type: 'shop.welcome.mail',
  schemaVersion: 1,
  key: `customer-${customerId}`,
  data: { customerId, to, greeting: { name }, ...extra },
});

function setup(file: string) {
  const store = createSqliteEventStore({ file });
  const keyStore = createSqliteKeyStore({ file });
  const outbox = createSqliteOutbox();
  const shredding = createCryptoShredding({
    keyStore,
    personalData: { 'customer.registered': { subject: (data: { customerId: string }) => data.customerId, fields: ['email'] } },
    personalMessages: {
      'shop.welcome.mail': { subject: (data: { customerId: string }) => data.customerId, fields: ['to', 'greeting.name'] },
    },
  });
  shredding.attachStore(store);
  const changed: number[] = [];
  shredding.onForgotten(async (forgotten) => {
    changed.push(await store.transaction((tx) => redactOutbox(outbox, tx, forgotten, shredding)));
  });
  return { store, keyStore, outbox, shredding, changed };
}

describe('forgetting a subject with messages in the SQLite table outbox', () => {
  it('leaves no plaintext in tidemark_outbox (pending or published rows), nor on disk', async () => {
    const file = files.next();
    const { store, keyStore, outbox, shredding, changed } = setup(file);
    const transport = createInMemoryTransport();
    const received: DeliveredMessage[] = [];
    const consumer = await transport.consume({ group: 'mailer', types: ['shop.welcome.mail'], startFrom: { kind: 'all' } }, async (m) => {
      received.push(m);
    });
    const relay = () => createOutboxRelay({ name: 'mails', store, transport, source: { kind: 'table', outbox } });
    try {
      await store.appendToStream(
        'customer-z',
        await shredding.stage.write!([{ type: 'customer.registered', data: { customerId: 'cust-z', email } }], 'customer-z'),
      );
      // One message published (and kept for the retention period)…
      await store.transaction((tx) => outbox.add(tx, [welcome('m-1', 'cust-z', email)]));
      const first = relay();
      await first.start();
      await waitFor(() => received.length === 1, 'the first message to be published', 5_000);
      await first.stop();
      // …one still waiting, another subject's, and a type that declares no personal data.
      await store.transaction((tx) =>
        outbox.add(tx, [
          welcome('m-2', 'cust-z', email),
          welcome('m-3', 'cust-a', otherEmail),
          { id: 'm-4', type: 'shop.customer.counted', schemaVersion: 1, key: 'stats', data: { customerId: 'cust-z', total: 1 } },
        ]),
      );
      expect(bytesOnDisk(file).includes(email)).toBe(true);

      await shredding.forget('cust-z');
      expect(changed).toEqual([2]);
      expect(await keyStore.checkpointWal()).toBe(true);

      const rows = await store.queries.query<{ message_id: string; key: string; data: string; published: number }>(
        'SELECT message_id, key, data, published_at IS NOT NULL AS published FROM tidemark_outbox ORDER BY sequence',
      );
      expect(rows.map((row) => [row.message_id, row.key, JSON.parse(row.data), row.published])).toEqual([
        ['m-1', 'customer-cust-z', { customerId: 'cust-z', to: redactedMarker, greeting: { name: redactedMarker } }, 1],
        ['m-2', 'customer-cust-z', { customerId: 'cust-z', to: redactedMarker, greeting: { name: redactedMarker } }, 0],
        ['m-3', 'customer-cust-a', { customerId: 'cust-a', to: otherEmail, greeting: { name } }, 0],
        ['m-4', 'stats', { customerId: 'cust-z', total: 1 }, 0],
      ]);
      // secure_delete: the overwritten values are not left in free space, nor in the WAL.
      const after = bytesOnDisk(file);
      expect(after.includes(email)).toBe(false);
      expect(after.includes(otherEmail)).toBe(true);

      // The waiting message is still published, in its place, redacted: the relay takes it as any other.
      const second = relay();
      await second.start();
      await waitFor(() => received.length === 3, 'the waiting messages to be published', 5_000);
      await second.stop();
      expect(received.map((m) => [m.id, m.data])).toEqual([
        ['m-1', { customerId: 'cust-z', to: email, greeting: { name } }],
        ['m-2', { customerId: 'cust-z', to: redactedMarker, greeting: { name: redactedMarker } }],
        ['m-3', { customerId: 'cust-a', to: otherEmail, greeting: { name } }],
      ]);
    } finally {
      await consumer.stop();
      await transport.close();
      keyStore.close();
      await store.close();
    }
  });

  it('changes nothing the second time, and a message of one schema version is redacted by its own declaration', async () => {
    const file = files.next();
    const store = createSqliteEventStore({ file });
    const keyStore = createSqliteKeyStore({ file });
    const outbox = createSqliteOutbox();
    const shredding = createCryptoShredding({
      keyStore,
      personalData: {},
      personalMessages: {
        'shop.welcome.mail': { subject: (data: { customerId: string }) => data.customerId, fields: ['to'] },
        'shop.welcome.mail.v2': { subject: (data: { customer: { id: string } }) => data.customer.id, fields: ['customer.email'] },
      },
    });
    shredding.attachStore(store);
    const changed: number[] = [];
    shredding.onForgotten(async (forgotten) => {
      changed.push(await store.transaction((tx) => redactOutbox(outbox, tx, forgotten, shredding)));
    });
    try {
      await store.transaction((tx) =>
        outbox.add(tx, [
          welcome('m-1', 'cust-z', email),
          { id: 'm-2', type: 'shop.welcome.mail', schemaVersion: 2, key: 'customer-cust-z', data: { customer: { id: 'cust-z', email } } },
        ]),
      );
      await shredding.forget('cust-z');
      await shredding.forget('cust-z');
      expect(changed).toEqual([2, 0]);
      const rows = await store.queries.query<{ data: string }>('SELECT data FROM tidemark_outbox ORDER BY sequence');
      expect(rows.map((row) => JSON.parse(row.data))).toEqual([
        { customerId: 'cust-z', to: redactedMarker, greeting: { name } },
        { customer: { id: 'cust-z', email: redactedMarker } },
      ]);
    } finally {
      keyStore.close();
      await store.close();
    }
  });

  it('redacts more messages than one page holds', async () => {
    const file = files.next();
    const { store, keyStore, outbox, shredding, changed } = setup(file);
    try {
      const count = 1_234;
      await store.transaction((tx) =>
        outbox.add(
          tx,
          Array.from({ length: count }, (_, i) => welcome(`m-${i}`, 'cust-z', email)),
        ),
      );
      await store.transaction((tx) => outbox.add(tx, [welcome('m-last', 'cust-a', otherEmail)]));
      await shredding.forget('cust-z');
      expect(changed).toEqual([count]);
      const [row] = await store.queries.query<{ n: number }>("SELECT count(*) AS n FROM tidemark_outbox WHERE instr(data, '@') > 0");
      expect(row).toEqual({ n: 1 });
    } finally {
      keyStore.close();
      await store.close();
    }
  });
});
