import { serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { createPostgresEventStore, type PostgresEventStore, type PostgresEventStoreOptions } from '../src/index.js';
import { createAppRole, dropRole, uniqueRole } from './testRole.js';
import { createStoreFactory } from './testSchemas.js';

/**
 * A suite's stores under a least-privilege application role with `settings` (`ALTER ROLE … SET`,
 * as an operator gives them): before the suite, a store of the owner creates a fresh schema and
 * the role is granted on it; stores opened with `open` (as the role, on that schema) are closed
 * after each test; the role and the schema are dropped after the suite. Call inside describe().
 */
export function storesUnderRole(prefix: string, settings: Record<string, string>) {
  const stores = createStoreFactory();
  const { role, roleUrl } = uniqueRole(prefix);
  const opened: PostgresEventStore[] = [];
  let admin: pg.Pool | undefined;
  let owner: PostgresEventStore | undefined;

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: serviceUrls.postgres, max: 1 });
    owner = await stores.create({ poolSize: 2 });
    await createAppRole(admin, role, owner.schema, settings);
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
  });

  afterAll(async () => {
    await stores.cleanup();
    if (admin) {
      await dropRole(admin, role);
      await admin.end();
    }
  });

  const ownerStore = () => {
    if (!owner) throw new Error('storesUnderRole: the suite has not started');
    return owner;
  };
  return {
    roleUrl,
    /** The schema owner's store: what a test checks the database with. */
    get owner() {
      return ownerStore();
    },
    get schema() {
      return ownerStore().schema;
    },
    /** A store as the role (or at `url`), on the suite's schema. */
    async open(options: Partial<PostgresEventStoreOptions> = {}): Promise<PostgresEventStore> {
      const store = await createPostgresEventStore({ url: roleUrl, schema: ownerStore().schema, poolSize: 2, ...options });
      opened.push(store);
      return store;
    },
  };
}

/** Holds `streamId`'s append lock (an open transaction that appended to it) until the returned function is called. */
export async function holdStream(store: PostgresEventStore, streamId: string): Promise<() => Promise<void>> {
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let holding = () => {};
  const held = new Promise<void>((resolve) => {
    holding = resolve;
  });
  const done = store.transaction(async (tx) => {
    await tx.appendToStream(streamId, [{ type: 'held', data: {} }]);
    holding();
    await released;
  });
  await held;
  return async () => {
    release();
    await done;
  };
}
