import { createCryptoShredding, type NewEvent, type RecordedEvent, redactDeadLetters, redactedMarker } from '@tidemark/core';
import { serviceAvailable } from '@tidemark/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresCheckpointStore, createPostgresKeyStore, type PostgresEventStore, quoteIdentifier } from '../src/index.js';
import { createStoreFactory } from './testSchemas.js';

const available = await serviceAvailable('postgres');

const name = 'Zebulon Quartermaine';
const email = 'zebulon.quartermaine@example.org';

/** The text of every row of every table in the store's schema, as PostgreSQL renders it. */
async function everyRow(store: PostgresEventStore): Promise<string> {
  const { rows: tables } = await store.pool.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'",
    [store.schema],
  );
  expect(tables.map((table) => table.table_name)).toContain('tidemark_subject_keys');
  const texts: string[] = [];
  for (const { table_name } of tables) {
    const { rows } = await store.pool.query<{ row: string }>(
      `SELECT t::text AS row FROM ${quoteIdentifier(store.schema)}.${quoteIdentifier(table_name)} t`,
    );
    texts.push(...rows.map((row) => row.row));
  }
  return texts.join('\n');
}

describe.skipIf(!available)('forgetting a subject on PostgreSQL', () => {
  const stores = createStoreFactory();
  afterAll(() => stores.cleanup());

  it('leaves neither the plaintext nor the key in any table of the schema', async () => {
    const store = await stores.create();
    const keyStore = createPostgresKeyStore({ pool: store.pool, schema: store.schema });
    const checkpoints = createPostgresCheckpointStore();
    const shredding = createCryptoShredding({
      keyStore,
      personalData: { 'customer.registered': { subject: (data: { customerId: string }) => data.customerId, fields: ['name', 'email'] } },
    });
    shredding.attachStore(store);
    const customers = `${quoteIdentifier(store.schema)}.customers`;
    await store.transaction(async (tx) => {
      await checkpoints.setup(tx);
      await tx.sql.execute(`CREATE TABLE ${customers} (customer_id text PRIMARY KEY, name text NOT NULL, email text NOT NULL)`);
    });
    const registered: NewEvent = { type: 'customer.registered', data: { customerId: 'cust-z', name, email } };
    await store.appendToStream('customer-z', await shredding.stage.write!([registered], 'customer-z'));
    const [decrypted] = (await shredding.stage.read!(await store.readStream('customer-z'))) as RecordedEvent<{
      type: string;
      data: { customerId: string; name: string; email: string };
    }>[];
    await store.transaction(async (tx) => {
      await tx.sql.execute(`INSERT INTO ${customers} VALUES ($1, $2, $3)`, ['cust-z', decrypted!.data.name, decrypted!.data.email]);
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
    const keyHex = Buffer.from((await keyStore.findKey('cust-z'))!.material).toString('hex');

    const before = await everyRow(store);
    expect(before).toContain(name);
    expect(before).toContain(email);
    expect(before).toContain(keyHex);

    shredding.onForgotten((forgotten) =>
      store.transaction(async (tx) => {
        await tx.sql.execute(`UPDATE ${customers} SET name = $1, email = $1 WHERE customer_id = $2`, [redactedMarker, forgotten.subjectId]);
        await redactDeadLetters(checkpoints, tx, forgotten, shredding);
      }),
    );
    expect(await shredding.forget('cust-z')).toMatchObject({ status: 'deleted', streamIds: ['customer-z'] });

    const after = await everyRow(store);
    expect(after).not.toContain(name);
    expect(after).not.toContain(email);
    expect(after).not.toContain(keyHex);
    expect((await shredding.stage.read!(await store.readStream('customer-z')))[0]?.data).toEqual({
      customerId: 'cust-z',
      name: redactedMarker,
      email: redactedMarker,
    });
  });
});
