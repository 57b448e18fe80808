export * from './eventStore/openSqliteDatabase.js';
export * from './eventStore/rewritePlaceholders.js';
export * from './eventStore/sqliteEventStore.js';
export * from './eventStore/sqliteSqlExecutor.js';
export * from './processing/sqliteLease.js';
export * from './schema/migrateSqliteSchema.js';
export * from './schema/schemaTooNewError.js';
export * from './schema/sqliteSchema.js';
