import { existsSync, readFileSync } from 'node:fs';
import { createCryptoShredding, type NewEvent, type RecordedEvent, redactDeadLetters, redactedMarker } from '@tidemark/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteCheckpointStore, createSqliteEventStore, createSqliteKeyStore } from '../src/index.js';
import { tempSqliteFiles } from './tempSqliteFiles.js';

const files = tempSqliteFiles('tidemark-forget-');
afterAll(() => files.remove());

const name = 'Zebulon Quartermaine';
const email = 'zebulon.quartermaine@example.org';

/** Every byte SQLite keeps for the database: the file, its WAL and the WAL index. */
function bytesOnDisk(file: string): Buffer {
  return Buffer.concat([file, `${file}-wal`, `${file}-shm`].filter((path) => existsSync(path)).map((path) => readFileSync(path)));
}

describe('forgetting a subject on SQLite', () => {
  it('leaves neither the plaintext nor the key in the database file or its WAL', async () => {
    const file = files.next();
    const store = createSqliteEventStore({ file });
    const keyStore = createSqliteKeyStore({ file });
    const checkpoints = createSqliteCheckpointStore();
    const shredding = createCryptoShredding({
      keyStore,
      personalData: { 'customer.registered': { subject: (data: { customerId: string }) => data.customerId, fields: ['name', 'email'] } },
    });
    shredding.attachStore(store);
    try {
      await store.transaction(async (tx) => {
        await checkpoints.setup(tx);
        tx.db.exec('CREATE TABLE customers (customer_id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL)');
        tx.db.exec('CREATE INDEX customers_email ON customers (email)');
      });
      // The stage by hand (the stores' `stages` option applies it once merged).
      const registered: NewEvent = { type: 'customer.registered', data: { customerId: 'cust-z', name, email } };
      await store.appendToStream('customer-z', await shredding.stage.write!([registered], 'customer-z'));
      const [decrypted] = (await shredding.stage.read!(await store.readStream('customer-z'))) as RecordedEvent<{
        type: string;
        data: { customerId: string; name: string; email: string };
      }>[];
      // Two copies of the decrypted event outside the log, as a projection and a failing one make them.
      await store.transaction(async (tx) => {
        tx.db.prepare('INSERT INTO customers VALUES (?, ?, ?)').run('cust-z', decrypted!.data.name, decrypted!.data.email);
        await checkpoints.park(
          {
            projection: 'mailer',
            position: decrypted!.position,
            eventId: decrypted!.id,
            eventType: decrypted!.type,
            streamId: decrypted!.streamId,
            message: `no mailbox for ${email}`,
            attempts: 3,
            parkedAt: new Date(),
            event: decrypted!,
          },
          tx,
        );
      });
      const key = Buffer.from((await keyStore.findKey('cust-z'))!.material);

      // The search can find them: all three are on disk before forgetting.
      const before = bytesOnDisk(file);
      expect(before.includes(name)).toBe(true);
      expect(before.includes(email)).toBe(true);
      expect(before.includes(key)).toBe(true);

      shredding.onForgotten((forgotten) =>
        store.transaction(async (tx) => {
          tx.db
            .prepare('UPDATE customers SET name = ?, email = ? WHERE customer_id = ?')
            .run(redactedMarker, redactedMarker, forgotten.subjectId);
          await redactDeadLetters(checkpoints, tx, forgotten, shredding);
        }),
      );
      const result = await shredding.forget('cust-z');
      expect(result).toMatchObject({ status: 'deleted', streamIds: ['customer-z'] });
      expect(await keyStore.checkpointWal()).toBe(true);

      const after = bytesOnDisk(file);
      expect(after.includes(name)).toBe(false);
      expect(after.includes(email)).toBe(false);
      expect(after.includes(key)).toBe(false);
      // …and what is left reads as redacted.
      expect((await shredding.stage.read!(await store.readStream('customer-z')))[0]?.data).toEqual({
        customerId: 'cust-z',
        name: redactedMarker,
        email: redactedMarker,
      });
    } finally {
      keyStore.close();
      await store.close();
    }
  });

  it('announces a forget whose first attempt failed after deleting the key, when it is called again', async () => {
    const file = files.next();
    const keyStore = createSqliteKeyStore({ file });
    const personalData = { 'customer.registered': { subject: (data: { customerId: string }) => data.customerId, fields: ['name'] } };
    const shredding = createCryptoShredding({ keyStore, personalData });
    const first = createSqliteEventStore({ file });
    shredding.attachStore(first);
    await first.appendToStream(
      'customer-y',
      await shredding.stage.write!([{ type: 'customer.registered', data: { customerId: 'cust-y', name } }], 'customer-y'),
    );
    // The store goes away mid-forget (a shutdown): the key is deleted, nothing announced.
    await first.close();
    await expect(shredding.forget('cust-y')).rejects.toThrow();
    expect(await keyStore.findKey('cust-y')).toBeUndefined();
    const second = createSqliteEventStore({ file });
    try {
      shredding.attachStore(second);
      expect(await second.readStream('privacy-forgotten')).toEqual([]);
      expect(await shredding.forget('cust-y')).toMatchObject({ status: 'already_forgotten', streamIds: ['customer-y'] });
      expect((await second.readStream('privacy-forgotten')).map((event) => event.data)).toEqual([
        { subjectId: 'cust-y', streamIds: ['customer-y'] },
      ]);
      await shredding.forget('cust-y');
      expect(await second.readStream('privacy-forgotten')).toHaveLength(1);
    } finally {
      keyStore.close();
      await second.close();
    }
  });
});
