/**
 * The PostgreSQL event store, checkpoints, leases, table swaps and migrations (pg).
 *
 * @packageDocumentation
 * @module @tidemark/postgres
 */

// Core's since every store refuses a newer schema alike, and any adapter's server can be
// unreachable (what opening a store here rejects with then); still importable from here.
export { SchemaTooNewError, ServerUnreachableError } from '@tidemark/core';
export * from './commands/postgresIdempotencyKeyStore.js';
export * from './eventStore/isTransientPostgresError.js';
export * from './eventStore/postgresEventSchemaStore.js';
export * from './eventStore/postgresEventStore.js';
export * from './eventStore/postgresSqlExecutor.js';
export * from './eventStore/postgresStreamLifecycle.js';
export * from './eventStore/postgresTransaction.js';
export * from './eventStore/stallDetectingClient.js';
export * from './eventStore/streamOrderConflictError.js';
export * from './eventStore/unnamedStatementsClient.js';
export * from './monitoring/visibilityLag.js';
export * from './outbox/postgresOutbox.js';
export * from './privacy/postgresKeyStore.js';
export * from './processing/checkpointTables.js';
export * from './processing/postgresCheckpointStore.js';
export * from './processing/postgresInbox.js';
export * from './processing/postgresLease.js';
export * from './processing/postgresTableSwap.js';
export * from './queries/postgresEventBrowser.js';
export * from './queries/postgresEventBrowserIndexes.js';
export * from './schema/advanceOutboxSequence.js';
export * from './schema/migrate.js';
export * from './schema/migrations.js';
export * from './schema/outboxSequenceBehindError.js';
export * from './schema/positionsRebaseRequiredError.js';
export * from './schema/rebasePositions.js';
export * from './schema/schemaName.js';
export * from './schema/schemaRenamedError.js';
export { schemaRepairLines } from './schema/schemaRepairs.js';
export * from './snapshots/postgresSnapshotStore.js';
