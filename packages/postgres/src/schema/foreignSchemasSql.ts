import { storeFunctionNames } from './migrations.js';

/**
 * How the store's function bodies name a schema: qualified objects (`"shop".events`) and the
 * stream-lock key (`hashtextextended('shop:' || …)`). Schema names are allow-listed
 * (schemaName.ts), so these two shapes are all there is to find.
 */
const schemaReference = `'"([a-z0-9_]+)"\\.|hashtextextended\\(''([a-z0-9_]+):'''`;

/**
 * A scalar SQL expression: the other schemas, sorted, that the bodies of the store's functions in
 * the schema named by `schemaParam` (a bind parameter, say `$1`) refer to, or NULL when they name
 * only their own. Non-null after ALTER SCHEMA … RENAME: the bodies keep the old name, so a
 * transactional append would lock and write the stream of whatever schema has that name now,
 * while the autocommit path locks and writes the renamed one. Only tidemark's own functions are
 * read: a read model's function there may legitimately name other schemas. A probe of pg_proc
 * through its (proname, …) index: cheap enough to run on every open.
 */
export function foreignSchemasSql(schemaParam: string): string {
  const names = storeFunctionNames.map((name) => `'${name}'`).join(', ');
  return `(SELECT array_agg(DISTINCT ref.named ORDER BY ref.named)
     FROM pg_catalog.pg_proc p
     CROSS JOIN LATERAL regexp_matches(p.prosrc, ${schemaReference}, 'g') AS m
     CROSS JOIN LATERAL (SELECT coalesce(m[1], m[2]) AS named) ref
    WHERE p.proname IN (${names}) AND p.pronamespace = to_regnamespace(${schemaParam}) AND ref.named <> ${schemaParam})`;
}
