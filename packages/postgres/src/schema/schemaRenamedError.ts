import { TidemarkError } from '@tidemark/core';

/**
 * The store's functions name another schema than the one they are in: the schema was renamed
 * (ALTER SCHEMA … RENAME rewrites no function body) or restored under another name. A
 * transactional append would then lock and write the stream of whatever schema bears the old
 * name now — another store — so the store refuses to open until its owner re-creates the
 * functions for the current name, which migrate does.
 */
export class SchemaRenamedError extends TidemarkError {
  constructor(schema: string, named: readonly string[], cause?: unknown) {
    const others = named.map((name) => `'${name}'`).join(', ');
    super(
      // As SchemaBehindError's: the store must be repaired by its owner before this code runs on it.
      'validation',
      `The functions of the store in schema '${schema}' still name schema ${others} (the schema was renamed or restored under another name), so appends would write into that schema: run \`tidemark migrate\` as the schema's owner (or the statements of storeFunctionsSql('${schema}')) once to re-create them for '${schema}', then open it again`,
      { schema, named: [...named] },
      cause === undefined ? undefined : { cause },
    );
  }
}
