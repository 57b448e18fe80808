export * from './eventStore/postgresEventStore.js';
export * from './eventStore/postgresTransaction.js';
export * from './monitoring/visibilityLag.js';
export * from './processing/postgresCheckpointStore.js';
export * from './processing/postgresLease.js';
export * from './schema/migrate.js';
export * from './schema/migrations.js';
export * from './schema/schemaName.js';
