import { quoteIdentifier } from '../schema/schemaName.js';

/** The expressions of the browser's expression indexes: the planner matches an index by its expression. */
export const postgresCorrelationIdSql = "(metadata->>'correlationId')";
export const postgresCausationIdSql = "(metadata->>'causationId')";

/**
 * The event browser's indexes (see postgresEventBrowser.ts): one conversation by correlation or
 * causation id, a time window by recorded_at, each ending in position for the keyset order.
 * Partial on the metadata keys: events without them cost no index entry.
 */
export function postgresEventBrowserIndexesSql(schema: string): string {
  const s = quoteIdentifier(schema);
  return `
CREATE INDEX events_correlation_position ON ${s}.events (${postgresCorrelationIdSql}, position) WHERE ${postgresCorrelationIdSql} IS NOT NULL;
CREATE INDEX events_causation_position ON ${s}.events (${postgresCausationIdSql}, position) WHERE ${postgresCausationIdSql} IS NOT NULL;
CREATE INDEX events_recorded_at_position ON ${s}.events (recorded_at, position);
`;
}
