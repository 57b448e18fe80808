import { ValidationError } from '@tidemark/core';
import { describe, expect, it } from 'vitest';
import { createPostgresEventStore, createPostgresLease } from '../src/index.js';
import { assertValidSchemaName } from '../src/schema/schemaName.js';

// Refused before any connection is made: the URL points nowhere.
const url = 'postgres://nobody@127.0.0.1:1/none';

describe("PostgreSQL's reserved schema names", () => {
  it.each(['pg_anything', 'pg_temp', 'pg_catalog', 'pg_toast', 'pg_', 'information_schema'])('refuses %s', async (schema) => {
    expect(() => assertValidSchemaName(schema)).toThrow(ValidationError);
    const opening = createPostgresEventStore({ url, schema });
    await expect(opening).rejects.toBeInstanceOf(ValidationError);
    await expect(opening).rejects.toMatchObject({ details: { field: 'schema' }, message: expect.stringMatching(/reserved/) });
    expect(() => createPostgresLease({ url, schema, name: 'projection' })).toThrow(ValidationError);
  });

  it.each(['public', 'tidemark', 'pg', 'pgx_store', 'my_pg_store', 'information_schema_copy', 'information'])('accepts %s', (schema) => {
    expect(() => assertValidSchemaName(schema)).not.toThrow();
  });
});
