/**
 * The largest schema version (of an event, an outgoing message or a snapshot): PostgreSQL keeps
 * schema versions in `integer` columns, so a larger one would pass here and fail there.
 */
export const maxSchemaVersion = 2_147_483_647;

/** A schema version every store can hold: a whole number from 1 to {@link maxSchemaVersion}. */
export function isSchemaVersion(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= maxSchemaVersion;
}
