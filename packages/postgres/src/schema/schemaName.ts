import { ValidationError } from '@tidemark/core';

/**
 * Schema names are spliced into DDL and queries (identifiers cannot be bound parameters), so
 * they are allow-listed AND quoted: lower-case letters, digits and underscores, at most 63
 * bytes (PostgreSQL's identifier limit, beyond which it would silently truncate).
 */
const schemaNamePattern = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * PostgreSQL's own schemas. It refuses to create a `pg_` one (42939: the prefix is reserved, and
 * `pg_temp` names the session's temporary schema), which would only fail later, raw; and it lets
 * a superuser fill `information_schema`, which pg_dump skips as a system schema — a store there
 * would silently be missing from every backup.
 */
const reservedSchemaName = /^(pg_|information_schema$)/;

export function assertValidSchemaName(schema: unknown): asserts schema is string {
  if (typeof schema !== 'string' || !schemaNamePattern.test(schema)) {
    throw new ValidationError(`Schema name ${JSON.stringify(schema) ?? String(schema)} must match ${schemaNamePattern.source}`, {
      field: 'schema',
    });
  }
  if (reservedSchemaName.test(schema)) {
    throw new ValidationError(`Schema name '${schema}' is reserved by PostgreSQL: names starting with pg_ and information_schema`, {
      field: 'schema',
    });
  }
}

/** Double-quotes an identifier that has already passed {@link assertValidSchemaName}. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * The NOTIFY channel of a schema's store. Channel names are identifiers too (63 bytes at
 * most); two long schema names sharing a prefix would share a channel, which only costs a
 * spurious wake-up — onAppended is a hint, never a promise.
 */
export function notifyChannel(schema: string): string {
  return `tidemark_${schema}`.slice(0, 63);
}
