/**
 * The embedded event store, checkpoints, leases and table swaps on one SQLite file (better-sqlite3).
 *
 * @packageDocumentation
 * @module @tidemark/sqlite
 */

// Core's since both stores refuse a newer schema alike; still importable from here.
export { SchemaTooNewError } from '@tidemark/core';
export * from './commands/sqliteIdempotencyKeyStore.js';
export * from './eventStore/isTransientSqliteError.js';
export * from './eventStore/openSqliteDatabase.js';
export * from './eventStore/readOnlyDatabaseError.js';
export * from './eventStore/rewritePlaceholders.js';
export * from './eventStore/sqliteEventSchemaStore.js';
export * from './eventStore/sqliteEventStore.js';
export type { SqliteWriterThreadState } from './eventStore/sqliteGroupCommit.js';
export * from './eventStore/sqliteSqlExecutor.js';
export * from './eventStore/sqliteStreamLifecycle.js';
export * from './outbox/sqliteOutbox.js';
export * from './privacy/sqliteKeyStore.js';
export * from './processing/sqliteCheckpointStore.js';
export * from './processing/sqliteInbox.js';
export * from './processing/sqliteLease.js';
export * from './processing/sqliteTableSwap.js';
export * from './queries/sqliteEventBrowser.js';
export * from './queries/sqliteEventBrowserIndexes.js';
export * from './schema/assertSqliteStoreFile.js';
export * from './schema/migrateSqliteSchema.js';
export * from './schema/sqliteSchema.js';
export * from './snapshots/sqliteSnapshotStore.js';
