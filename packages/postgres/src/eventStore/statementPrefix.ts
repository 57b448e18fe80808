import { createHash } from 'node:crypto';

/** Schemas up to this many bytes keep their name in the prefix: `tidemark:` and 24 bytes leave 30 for a suffix. */
const readableSchemaBytes = 24;

/**
 * The prefix of a store's prepared-statement names, unique per schema: two stores sharing a pool
 * prepare their statements on the same connections, each with its own schema in the text.
 *
 * PostgreSQL compares statement names on their first 63 bytes only, so `tidemark:${schema}:…`
 * made statements of a long (valid, up to 63-byte) schema name collide: `42P05 prepared
 * statement already exists`. A short schema name stays readable in pg_prepared_statements; a
 * longer one becomes its first 10 bytes and 48 bits of its SHA-256 after a `~`, which no schema
 * name contains, so a hashed prefix never equals a readable one. Either way the prefix has at
 * most 33 bytes and every suffix (at most 30: the longest is `:readPage:category:types:many`)
 * fits in the 63.
 */
export function statementPrefix(schema: string): string {
  if (Buffer.byteLength(schema) <= readableSchemaBytes) return `tidemark:${schema}`;
  const hash = createHash('sha256').update(schema).digest('hex').slice(0, 12);
  return `tidemark:${schema.slice(0, 10)}~${hash}`;
}
