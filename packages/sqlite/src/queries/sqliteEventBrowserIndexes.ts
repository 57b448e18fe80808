import { sqliteCausationIdSql, sqliteCorrelationIdSql } from './sqliteEventBrowser.js';

/**
 * The event browser's indexes (see sqliteEventBrowser.ts): one conversation by correlation or
 * causation id, a time window by recorded_at, each ending in position for the keyset order.
 * Partial on the metadata keys: events without them (most, outside an application's commands)
 * cost no index entry.
 */
export const sqliteEventBrowserIndexes: readonly string[] = [
  `CREATE INDEX events_correlation_position ON events (${sqliteCorrelationIdSql}, position) WHERE ${sqliteCorrelationIdSql} IS NOT NULL`,
  `CREATE INDEX events_causation_position ON events (${sqliteCausationIdSql}, position) WHERE ${sqliteCausationIdSql} IS NOT NULL`,
  'CREATE INDEX events_recorded_at_position ON events (recorded_at, position)',
];
