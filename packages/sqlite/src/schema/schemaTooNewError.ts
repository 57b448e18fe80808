import { TidemarkError } from '@tidemark/core';

/**
 * The file was written by a newer tidemark than this one. Opening it anyway could corrupt
 * data the newer code relies on, so the store refuses; upgrade the code instead.
 */
export class SchemaTooNewError extends TidemarkError {
  readonly found: number;
  readonly supported: number;

  constructor(file: string, found: number, supported: number) {
    super(
      'validation',
      `The SQLite file '${file}' has tidemark schema version ${found}, newer than this code supports (${supported}); upgrade @tidemark/sqlite to open it`,
      { file, found, supported },
    );
    this.found = found;
    this.supported = supported;
  }
}
