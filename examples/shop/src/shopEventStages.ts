import { createCryptoShredding, type EventStage } from '@tidemark/core';
import { createPostgresKeyStore } from '@tidemark/postgres';
import { createSqliteKeyStore } from '@tidemark/sqlite';
import type pg from 'pg';
import { shopPersonalData } from './bankAccounts/bankAccountPersonalData.js';
import { createShopEventRegistry } from './shopEventRegistry.js';

/** Where the shop's store lives, as a tool that opened it (the `tidemark` CLI) describes it. */
export interface ShopStagesContext {
  /** The SQLite store file. */
  sqlite?: string;
  /** The PostgreSQL pool (search_path: the store's schema) and the schema. */
  postgres?: { pool: pg.Pool; schema: string };
  /** Registers what to close when the tool is done with the store. */
  onClose(close: () => unknown): void;
}

/**
 * The shop store's event stages, as createShop gives them to its store: validated and upcast by
 * the registry, then the owners' personal data encrypted (on read: decrypted, then upcast), with
 * the key store in the same file or schema. For tools that open the store themselves — the CLI's
 * `projections rebuild|retry --module` — so they read the events as the shop does.
 */
export function shopEventStages(context: ShopStagesContext): EventStage[] {
  const registry = createShopEventRegistry();
  let keyStore: Parameters<typeof createCryptoShredding>[0]['keyStore'];
  if (context.postgres) {
    keyStore = createPostgresKeyStore({ pool: context.postgres.pool, schema: context.postgres.schema });
  } else if (context.sqlite !== undefined) {
    const sqliteKeys = createSqliteKeyStore({ file: context.sqlite });
    context.onClose(() => sqliteKeys.close());
    keyStore = sqliteKeys;
  } else {
    throw new Error('the shop stages need the store: a SQLite file or a PostgreSQL pool');
  }
  const privacy = createCryptoShredding({ keyStore, personalData: shopPersonalData });
  return [registry.stage, privacy.stage];
}
