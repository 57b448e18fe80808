import { TidemarkError } from '@tidemark/core';

/**
 * The schema was migrated by a newer tidemark than this one. Writing into a layout this code
 * does not know could corrupt what the newer code relies on, so the store refuses to open (and
 * migrate refuses to touch it); upgrade the code instead. The same refusal as SQLite's.
 */
export class SchemaTooNewError extends TidemarkError {
  readonly found: number;
  readonly supported: number;

  constructor(schema: string, found: number, supported: number) {
    super(
      'validation',
      `The PostgreSQL schema '${schema}' has tidemark schema version ${found}, newer than this code supports (${supported}); upgrade @tidemark/postgres to open it`,
      { schema, found, supported },
    );
    this.found = found;
    this.supported = supported;
  }
}
